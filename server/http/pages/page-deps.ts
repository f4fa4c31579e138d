import type { Deps } from '../../deps.js';

/** What the pages may use: the auth service, settings and observers; never repositories or the hasher. */
export type PageDeps = Pick<Deps, 'config' | 'sql' | 'auth' | 'metrics' | 'rateLimits'>;
