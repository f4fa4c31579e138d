import type { Sql } from '../db/sql.js';
import { withTimeout } from '../timeout.js';

export interface HealthReport {
  status: 'ok' | 'error';
  checks: { database: 'ok' | 'error' };
}

/** A real database round trip, bounded so a hung database answers as down. */
export class HealthService {
  constructor(private readonly timeoutMs = 2000) {}

  async check(sql: Sql): Promise<HealthReport> {
    try {
      await withTimeout(sql.one('select 1 as ok'), this.timeoutMs, 'database health check');
      return { status: 'ok', checks: { database: 'ok' } };
    } catch {
      return { status: 'error', checks: { database: 'error' } };
    }
  }
}
