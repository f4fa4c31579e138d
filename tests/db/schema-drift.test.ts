import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initOrm, migrateUp, type Orm } from '../../server/db/orm.js';
import { testGlobals } from '../support/globals.js';

/**
 * The migrations and the entities describe the same schema: a database built
 * only from migrations/ is what MikroORM would generate from the entities, and
 * the migration snapshot is current (so the next `migration:create` diffs
 * against the truth). Runs on a fresh database of its own in the test cluster.
 */

interface Ctx {
  orm: Orm;
  url: string;
  dbName?: string;
}
const s = suite<Ctx>('db: schema drift');

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testGlobals().databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

s.before(async (ctx) => {
  const name = `drift_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  ctx.dbName = name;
  ctx.url = withDatabase(testGlobals().databaseUrl, name);
  ctx.orm = await initOrm({ clientUrl: ctx.url });
});
s.after(async (ctx) => {
  await ctx.orm?.close(true);
  if (ctx.dbName) await admin((c) => c.query(`drop database if exists ${ctx.dbName}`));
});

s('migrations apply to an empty database, and a second run applies nothing', async ({ orm }) => {
  const applied = await migrateUp(orm);
  assert.ok(applied.length >= 1, 'at least the initial migration');
  assert.equal(await migrateUp(orm), []);
});

s('the migrated database matches the entities exactly (no pending schema change)', async ({ orm }) => {
  const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
  assert.is(diff.trim(), '', `schema drift between entities and migrations:\n${diff}`);
});

s('the migration snapshot is current: no new migration is needed', async ({ orm }) => {
  const needed = await orm.getMigrator().checkMigrationNeeded();
  assert.is(needed, false, 'entities differ from migrations/.snapshot-*.json: create a migration');
});

s('the documented tables and columns exist', async ({ url }) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string; column_name: string }>(
      "select table_name, column_name from information_schema.columns where table_schema = 'public'",
    );
    const has = (t: string, c: string) => rows.some((r) => r.table_name === t && r.column_name === c);
    const spec: Record<string, string[]> = {
      users: [
        'id',
        'email',
        'hashed_password',
        'full_name',
        'email_verified_at',
        'is_active',
        'is_superuser',
        'failed_attempts',
        'locked_until',
        'session_version',
        'password_changed_at',
        'last_login_at',
        'created_at',
        'updated_at',
      ],
      lockouts: ['user_id', 'failed_attempts', 'locked_at', 'locked_until', 'source_ip', 'released_at', 'released_by'],
      refresh_tokens: [
        'id',
        'user_id',
        'family_id',
        'parent_id',
        'generation',
        'token_hash',
        'created_at',
        'expires_at',
        'used_at',
        'revoked_at',
        'revoked_reason',
        'user_agent',
        'ip',
      ],
      email_tokens: ['user_id', 'purpose', 'token_hash', 'expires_at', 'used_at'],
      security_events: ['id', 'event_type', 'severity', 'outcome', 'user_id', 'ip', 'created_at', 'details'],
    };
    for (const [table, columns] of Object.entries(spec)) {
      for (const column of columns) assert.ok(has(table, column), `${table}.${column}`);
    }
    // Digests are unique, so a digest lookup is one index probe and a collision cannot alias two tokens.
    const { rows: uniques } = await client.query<{ indexdef: string }>(
      "select indexdef from pg_indexes where schemaname = 'public' and indexdef ilike '%unique%'",
    );
    for (const [table, column] of [
      ['users', 'email'],
      ['refresh_tokens', 'token_hash'],
      ['email_tokens', 'token_hash'],
    ]) {
      assert.ok(
        uniques.some((u) => u.indexdef.includes(`ON public.${table} `) && u.indexdef.includes(`(${column})`)),
        `unique ${table}.${column}`,
      );
    }
  } finally {
    await client.end();
  }
});

s.run();
