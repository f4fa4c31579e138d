import { Router } from 'express';
import type { Keyring } from '../security/keyring.js';

/** Public keys so other services can verify access tokens offline. */
export function wellKnownRoutes(keyring: Keyring): Router {
  const r = Router();
  const body = JSON.stringify({ keys: keyring.publicKeys() });
  r.get('/.well-known/paseto-keys', (_req, res) => {
    // Short cache: verifiers pick up a rotation within minutes.
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(body);
  });
  return r;
}
