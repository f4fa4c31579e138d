import express, { Router } from 'express';
import type { PageDeps } from './page-deps.js';
import { accountRoutes } from './account/account.routes.js';
import { sameOriginPosts } from './page-guards.js';
import { resetPasswordRoutes } from './reset-password.routes.js';
import { verifyEmailRoutes } from './verify-email.routes.js';
import { BODY_LIMIT_BYTES } from '../body-limit.js';

/**
 * The service's own pages: where the links in its mails lead. Off with
 * PAGES_ENABLED=false, when the operator's front end (at PUBLIC_URL) serves
 * those paths instead.
 */
export function pagesRoutes(deps: PageDeps): Router {
  const r = Router();
  const paths = ['/verify-email', '/reset-password'];
  r.use(
    paths,
    express.urlencoded({ extended: false, limit: BODY_LIMIT_BYTES, parameterLimit: 10 }),
    sameOriginPosts(deps),
  );
  r.use(verifyEmailRoutes(deps));
  r.use(resetPasswordRoutes(deps));
  // The account page keeps its session in the cookie: without cookie sessions it cannot work.
  if (deps.config.sessionCookie) r.use(accountRoutes(deps));
  return r;
}
