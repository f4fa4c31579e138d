import type { Sql } from '../sql.js';

/**
 * The session-level advisory lock that makes instances take turns at the
 * maintenance pass: one deletes while the others skip that round. It is
 * tied to the connection, so a crashed holder releases it with its socket.
 */
export class MaintenanceLockRepository {
  async tryLock(sql: Sql): Promise<boolean> {
    const row = await sql.one<{ locked: boolean }>(
      "select pg_try_advisory_lock(hashtext('secure-auth maintenance')) as locked",
    );
    return row?.locked === true;
  }

  async unlock(sql: Sql): Promise<void> {
    await sql.all("select pg_advisory_unlock(hashtext('secure-auth maintenance'))");
  }
}
