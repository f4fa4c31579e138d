import type { SmtpCapture } from './smtp.js';

/** Shared fixtures set up once by tests/run.ts before any suite is imported. */
export interface TestGlobals {
  databaseUrl: string;
  smtp: SmtpCapture;
  /** Every log line the in-process services wrote (for secret scans). */
  logLines: string[];
}

let globals: TestGlobals | undefined;

export function setGlobals(g: TestGlobals): void {
  globals = g;
}

export function testGlobals(): TestGlobals {
  if (!globals) throw new Error('tests must be run through tests/run.ts (npm test)');
  return globals;
}
