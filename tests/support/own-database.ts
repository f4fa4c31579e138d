import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/db/embedded-postgres.js';
import { initOrm, migrateUp } from '../../server/db/orm.js';

/**
 * A private, migrated embedded PostgreSQL for suites that must break the
 * database (outage drills) without disturbing the shared one. Persistent, so
 * it can be halted and resumed on the same port; `destroy` removes it.
 */
export interface OwnDatabase extends EmbeddedDatabase {
  dir: string;
  destroy(): Promise<void>;
}

export async function startOwnDatabase(): Promise<OwnDatabase> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'secure-auth-own-pg-'));
  const db = await startEmbeddedPostgres({ dir, persistent: true });
  try {
    const orm = await initOrm({ clientUrl: db.url });
    try {
      await migrateUp(orm);
    } finally {
      await orm.close(true);
    }
  } catch (err) {
    await db.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...db,
    dir,
    destroy: async () => {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
