/**
 * The one place the client touches server code, and only as a type: the
 * build bundles the router's declaration into dist/index.d.ts, so the
 * published package carries no path back into the server.
 */
import type { AppRouter as ServerAppRouter } from '../../server/trpc/routers/app.router.js';

/** The service's tRPC router type: every procedure with its input and output. */
export type AppRouter = ServerAppRouter;
