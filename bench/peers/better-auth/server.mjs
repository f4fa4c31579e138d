/**
 * The Better Auth peer: a minimal server set up as its documentation shows
 * (Express, `betterAuth` with email and password, a `pg` Pool), so the bench
 * can load it side by side with secure-auth on the same machine. Differences
 * from a default install, all to measure the library rather than its guards:
 * rate limits off and the session cookie cache off (every get-session reads
 * the database, as every auth.me verifies its token). Password hashing is
 * Better Auth's default scrypt (N 2^14, r 16, p 1).
 *
 *   DATABASE_URL=postgres://... PORT=4000 BETTER_AUTH_SECRET=... node server.mjs
 * creates its tables (Better Auth's own migrations), then prints {"port":N}.
 */
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import express from 'express';
import pg from 'pg';

const port = Number(process.env.PORT);
const baseURL = `http://127.0.0.1:${port}`;
const options = {
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  database: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }),
  emailAndPassword: { enabled: true, requireEmailVerification: false },
  rateLimit: { enabled: false },
  session: { cookieCache: { enabled: false } },
  telemetry: { enabled: false },
};

const { runMigrations } = await getMigrations(options);
await runMigrations();

const auth = betterAuth(options);
const app = express();
// Express 5 path syntax, as Better Auth's Express guide writes it; the auth
// handler comes before any body parser.
app.all('/api/auth/{*any}', toNodeHandler(auth));

const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
const stop = () => server.close(() => options.database.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
