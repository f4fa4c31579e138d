import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Thin raw-SQL access over MikroORM's connection pool. Hot paths (session
 * check, refresh rotation) are single hand-written statements: no entity
 * hydration, no unit of work, no extra round trips. Placeholders are `?`.
 */
export class Sql {
  constructor(private readonly em: EntityManager) {}

  async all<T>(query: string, params: unknown[] = []): Promise<T[]> {
    const rows = await this.em.getConnection().execute<Record<string, unknown>[]>(query, params, 'all', this.em.getTransactionContext());
    for (const row of rows) reviveDates(row);
    return rows as T[];
  }

  async one<T>(query: string, params: unknown[] = []): Promise<T | undefined> {
    const rows = await this.all<T>(query, params);
    return rows[0];
  }

  /** Runs `fn` in one transaction (READ COMMITTED); rolls back on throw. */
  async tx<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.em.isInTransaction()) return fn(this);
    return this.em.transactional((em) => fn(new Sql(em as EntityManager)));
  }
}

// MikroORM configures the pg driver to return timestamps as strings (it
// hydrates them itself). Raw rows name every timestamp *_at or *_until.
const TIMESTAMP_COLUMN = /(_at|_until)$/;
function reviveDates(row: Record<string, unknown>): void {
  for (const key in row) {
    const v = row[key];
    if (typeof v === 'string' && TIMESTAMP_COLUMN.test(key)) row[key] = new Date(v);
  }
}

export type SqlFactory = () => Sql;
