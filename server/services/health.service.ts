import type { Sql } from '../db/sql.js';

export interface HealthReport {
  status: 'ok' | 'error';
  checks: { database: 'ok' | 'error' };
}

/** A real database round trip, bounded so a hung database answers as down. */
export class HealthService {
  constructor(private readonly timeoutMs = 2000) {}

  async check(sql: Sql): Promise<HealthReport> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql.one('select 1 as ok'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('database health check timed out')), this.timeoutMs);
        }),
      ]);
      return { status: 'ok', checks: { database: 'ok' } };
    } catch {
      return { status: 'error', checks: { database: 'error' } };
    } finally {
      clearTimeout(timer);
    }
  }
}
