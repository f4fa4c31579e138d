/**
 * The plan of the per-request session check with 100,000 rows in one
 * session, before and after the partial unique index on the live token:
 *
 *   DATABASE_URL=postgres://... npx tsx bench/session-check-explain.ts
 *
 * Works on a scratch database of its own (created and dropped here), built
 * with the migrations up to the first one, then the rest. Prints both
 * EXPLAIN (ANALYZE, BUFFERS) outputs; docs/session-storage.md quotes them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { initOrm } from '../server/db/orm.js';

const ROWS = 100_000;
const FIRST_MIGRATION = 'Migration20261128160325';
// The check as the user repository runs it (findForSession).
const CHECK = `explain (analyze, buffers, costs off, timing on, summary on)
  select u.* from users u
   where u.id = $1 and u.is_active and u.session_version = 0
     and exists (select 1 from refresh_tokens r
                  where r.family_id = $2 and r.user_id = u.id and r.revoked_at is null
                    and r.used_at is null and r.expires_at > now())`;

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('set DATABASE_URL (a server where a scratch database may be created)');
  const name = `explain_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const orm = await initOrm({ clientUrl: url.toString() });
  const db = new pg.Client({ connectionString: url.toString() });
  try {
    await orm.getMigrator().up({ to: FIRST_MIGRATION });
    await db.connect();
    const user = (
      await db.query(
        `insert into users (id, email, hashed_password) values (gen_random_uuid(), 'explain@example.com', 'x') returning id`,
      )
    ).rows[0].id;
    const family = (await db.query('select gen_random_uuid() as id')).rows[0].id;
    // One session refreshed ROWS-1 times: every row used but the last.
    await db.query(
      `insert into refresh_tokens (id, user_id, family_id, parent_id, generation, token_hash, created_at, expires_at, family_expires_at, used_at)
       select case when g = 0 then $2::uuid else gen_random_uuid() end, $1, $2, null, g, md5(g::text) || md5($2::text || g),
              now() - (($3 - g) || ' seconds')::interval, now() + interval '30 days', now() + interval '90 days',
              case when g < $3 - 1 then now() - (($3 - g) || ' seconds')::interval end
         from generate_series(0, $3 - 1) g`,
      [user, family, ROWS],
    );
    await db.query('analyze');
    const before = (await db.query(CHECK, [user, family])).rows.map((r) => r['QUERY PLAN']).join('\n');
    await orm.getMigrator().up();
    await db.query('analyze');
    const after = (await db.query(CHECK, [user, family])).rows.map((r) => r['QUERY PLAN']).join('\n');
    process.stdout.write(`-- before (${ROWS} rows in one family, index on family_id only)\n${before}\n\n`);
    process.stdout.write(`-- after (partial unique index on the live token)\n${after}\n`);
  } finally {
    await db.end().catch(() => undefined);
    await orm.close(true);
    await admin.query(`drop database if exists ${name}`);
    await admin.end();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
