/**
 * Reference: the framework ceiling. Express 5 + tRPC 11 with one no-op query
 * and no middleware (no logging, headers, auth, database or telemetry): the
 * most req/s this machine serves through the same stack. `auth.me` is
 * compared against it.
 *
 *   node --import tsx bench/references/framework-ceiling.ts
 * prints {"port":N} when listening; SIGTERM stops it.
 */
import { initTRPC } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import type { AddressInfo } from 'node:net';

const t = initTRPC.create();
// Returns a body shaped like auth.me's (a PublicUser) so bytes on the wire match.
const user = {
  id: '0190c2a8-3b1e-7cc0-9d3e-6f1f3a2b4c5d',
  email: 'someone@example.com',
  fullName: null,
  emailVerified: true,
  isSuperuser: false,
  createdAt: '2026-01-01T00:00:00.000Z',
};
const router = t.router({ noop: t.procedure.query(() => user) });

const app = express();
app.use('/trpc', createExpressMiddleware({ router }));
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
