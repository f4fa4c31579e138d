/**
 * Micro-benchmark: client-side CPU of the per-call session check
 * (UserRepository.findForSessions, one check per statement) through the service's `Sql` helper (named
 * prepared statements on its pg pool) against plain `pg` with a
 * parameterised and with a named (prepared) statement.
 * CPU per query (process.cpuUsage) holds up on a busy machine much better
 * than wall time does, so this is the figure to compare.
 *
 *   npx tsx bench/micro/db-query-cost.ts [queries=5000] [concurrency=16]
 * Uses DATABASE_URL if set, else an ephemeral embedded PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/db/embedded-postgres.js';
import { initOrm, migrateUp } from '../../server/db/orm.js';
import { UserRepository } from '../../server/db/repositories/user.repository.js';
import { createPool } from '../../server/db/pool.js';
import { Sql } from '../../server/db/sql.js';

const QUERIES = Number(process.argv[2]) || 5000;
const CONCURRENCY = Number(process.argv[3]) || 16;

const SESSION_SQL = `select u.* from users u
  where u.id = $1 and u.is_active and u.session_version = $2
    and exists (select 1 from refresh_tokens r
                 where r.family_id = $3 and r.user_id = u.id and r.revoked_at is null
                   and r.used_at is null and r.expires_at > $4)`;

async function measure(name: string, once: () => Promise<unknown>) {
  for (let i = 0; i < 500; i++) await once(); // warm-up: JIT, pool, plan cache
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < QUERIES) await once();
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    name,
    queries: QUERIES,
    cpu_us_per_query: Math.round((cpu.user + cpu.system) / QUERIES),
    wall_qps: Math.round(QUERIES / (wall / 1000)),
  };
}

async function main() {
  let db: EmbeddedDatabase | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-micro-'));
    chmodSync(dir, 0o755);
    db = await startEmbeddedPostgres({ dir, persistent: false });
    url = db.url;
  }
  const orm = await initOrm({ clientUrl: url, poolMax: 10 });
  await migrateUp(orm);
  const servicePool = createPool({ url, max: 10 });
  const sql = new Sql(servicePool);
  const users = new UserRepository();
  const userId = randomUUID();
  const familyId = randomUUID();
  await users.insert(sql, {
    id: userId,
    email: `micro-${userId}@example.com`,
    hashedPassword: 'x',
    fullName: null,
    verified: true,
  });
  await sql.all(
    `insert into refresh_tokens (id, user_id, family_id, generation, token_hash, created_at, expires_at, family_expires_at)
     values (?, ?, ?, 0, ?, now(), now() + interval '1 day', now() + interval '1 day')`,
    [familyId, userId, familyId, randomUUID()],
  );
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const now = () => new Date();

  const results = [];
  results.push(
    await measure('Sql helper (named prepared statement on the service pool)', async () => {
      const rows = await users.findForSessions(new Sql(servicePool), [{ userId, sessionVersion: 0, familyId }], now());
      if (rows.length !== 1) throw new Error('session check found nothing');
    }),
  );
  results.push(
    await measure('pg Pool, parameterised', async () => {
      const r = await pool.query(SESSION_SQL, [userId, 0, familyId, now()]);
      if (r.rowCount !== 1) throw new Error('session check found nothing');
    }),
  );
  results.push(
    await measure('pg Pool, named prepared statement', async () => {
      const r = await pool.query({ name: 'session-check', text: SESSION_SQL, values: [userId, 0, familyId, now()] });
      if (r.rowCount !== 1) throw new Error('session check found nothing');
    }),
  );
  process.stdout.write(JSON.stringify({ concurrency: CONCURRENCY, results }, null, 2) + '\n');
  await pool.end();
  await servicePool.end();
  await orm.close(true);
  await db?.stop();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
