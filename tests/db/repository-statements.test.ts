import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileStatement } from '../../server/db/sql.js';
import { testGlobals } from '../support/globals.js';
import { repositoryStatements, type ColumnKind, type RepositoryStatement } from '../support/repository-statements.js';
import { ROOT } from '../ops/cli-support.js';

/**
 * Every statement in server/db/repositories is prepared against the migrated
 * schema and run once (inside a transaction that is rolled back), and the
 * columns it returns are compared with the row type the code declares for
 * it. A column renamed in a migration, an entity or a statement fails here,
 * not in front of a user.
 */

const s = suite<{ statements: RepositoryStatement[] }>('db: repository statements against the schema');

// PostgreSQL type oids -> what node-postgres hands to the code.
const KIND_OF_OID: Record<number, ColumnKind> = {
  16: 'boolean',
  21: 'number',
  23: 'number',
  700: 'number',
  701: 'number',
  20: 'string', // int8 arrives as a string: a row type saying number would lie
  1700: 'string',
  25: 'string',
  1043: 'string',
  2950: 'string',
  1184: 'Date',
  1114: 'Date',
  3802: 'object',
  114: 'object',
};

/** A value of each parameter type the statements use, so each one can run. */
function sampleFor(type: string): unknown {
  if (type === 'uuid') return randomUUID();
  if (/^(integer|smallint|bigint|numeric|double precision|real)$/.test(type)) return 1;
  if (type === 'boolean') return false;
  if (type.startsWith('timestamp')) return new Date();
  if (type === 'jsonb' || type === 'json') return '{}';
  if (type === 'interval') return '1 second';
  if (type === 'text[]' || type === 'character varying[]') return ['x'];
  if (type === 'uuid[]') return [randomUUID()];
  if (/^(integer|smallint|bigint)\[\]$/.test(type)) return [1];
  return 'x';
}

async function describe(client: pg.Client, text: string) {
  await client.query('begin');
  try {
    // Foreign keys would refuse the made-up ids; the statement's shape is what is checked.
    await client.query('set local session_replication_role = replica');
    await client.query({ text: `prepare checked as ${text}` });
    const meta = await client.query<{ parameter_types: string[] }>(
      `select parameter_types::text[] as parameter_types from pg_prepared_statements where name = 'checked'`,
    );
    const values = (meta.rows[0]?.parameter_types ?? []).map(sampleFor);
    const result = await client.query({ text, values });
    return result.fields.map((f) => ({ name: f.name, kind: KIND_OF_OID[f.dataTypeID] ?? 'object' }));
  } finally {
    await client.query('rollback');
    await client.query('deallocate all');
  }
}

s.before((ctx) => {
  ctx.statements = repositoryStatements(ROOT);
});

s('the repositories hold their statements as fixed strings (so each can be checked here)', (ctx) => {
  assert.ok(ctx.statements.length >= 30, `found ${ctx.statements.length} statements`);
  const dynamic = ctx.statements.filter((st) => st.text === undefined).map((st) => st.where);
  assert.equal(dynamic, [], 'statements built at run time');
});

s('every statement prepares on the migrated schema and returns exactly the columns of its row type', async (ctx) => {
  const client = new pg.Client({ connectionString: testGlobals().databaseUrl });
  await client.connect();
  const problems: string[] = [];
  try {
    for (const st of ctx.statements) {
      if (st.text === undefined) continue;
      let fields: { name: string; kind: ColumnKind }[];
      try {
        fields = await describe(client, compileStatement(st.text).text);
      } catch (err) {
        problems.push(`${st.where}: ${(err as Error).message}`);
        continue;
      }
      if (!st.columns) continue;
      const returned = new Map(fields.map((f) => [f.name, f.kind]));
      for (const [name, kind] of st.columns) {
        if (!returned.has(name))
          problems.push(`${st.where}: row type has ${name}, the statement returns no such column`);
        else if (returned.get(name) !== kind) {
          problems.push(`${st.where}: ${name} is ${returned.get(name)} in the database, ${kind} in the row type`);
        }
      }
      for (const name of returned.keys()) {
        if (!st.columns.has(name)) problems.push(`${st.where}: the statement returns ${name}, the row type lacks it`);
      }
    }
  } finally {
    await client.end();
  }
  assert.equal(problems, []);
});

s.run();
