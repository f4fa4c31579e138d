import pg from 'pg';
import type { TokenPair } from '../../shared/dto.js';
import { testGlobals } from '../support/globals.js';
import { mutation } from '../support/http.js';
import type { TestService } from '../support/service.js';
import { createVerifiedUser, type TestUser } from '../support/users.js';

/** A verified user made superuser (as the CLI's promote would), logged in again so the token carries adm. */
export async function createSuperuser(svc: TestService): Promise<TestUser & { id: string }> {
  const u = await createVerifiedUser(svc.url);
  await svc.deps.repos.users.setFlags(svc.deps.sql(), u.tokens.user.id, { isSuperuser: true });
  const login = await mutation<TokenPair>(svc.url, 'auth.login', { email: u.email, password: u.password });
  if (login.status !== 200) throw new Error(`superuser login failed: ${JSON.stringify(login.body)}`);
  return { ...u, tokens: login.data, id: login.data.user.id };
}

/** Fails logins until the account locks; returns the last answer's appCode. */
export async function lockByFailedLogins(url: string, email: string, attempts: number): Promise<string | undefined> {
  let last: string | undefined;
  for (let i = 0; i < attempts; i++) {
    const r = await mutation(url, 'auth.login', { email, password: `Wrong-${i}-password-for-lockout` });
    last = r.error?.data.appCode;
  }
  return last;
}

/** Direct reads of the shared test database (what an operator's psql would show). */
export async function dbRows<T = Record<string, unknown>>(
  text: string,
  params: unknown[] = [],
  url = testGlobals().databaseUrl,
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * A new, empty database on the test server (`create database`), for suites
 * that need a fresh schema; `drop()` removes it.
 */
export async function freshDatabase(prefix = 'ops'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  await dbRows(`create database ${name}`);
  const url = new URL(testGlobals().databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await dbRows(`drop database if exists ${name} with (force)`);
    },
  };
}
