/**
 * The program each hashing process runs: `node -e <source>`, plain
 * JavaScript with no loader, no telemetry preload and no environment but one
 * allocator setting (see scrypt-pool.ts): it never sees SECRET_KEY or
 * DATABASE_URL. It answers one message at a
 * time with crypto.scryptSync on its own main thread, which it lowers to
 * nice 19 once Node has started (starting at 19 would make every start slow
 * on a busy machine), as the parent does too when told it is ready: every
 * hash then yields the CPU to the event loop, PostgreSQL and anything else
 * at normal priority.
 *
 * It ignores SIGINT and SIGTERM (a Ctrl-C or a stop sent to the whole process
 * group must not kill a hash that a draining request still waits for) and
 * exits when its parent closes the IPC channel: on shutdown, or when the
 * parent dies, so no hashing process outlives the service.
 */

/** Parent -> child: derive a 64-byte scrypt key. */
export interface DeriveRequest {
  id: number;
  password: string;
  /** base64 */
  salt: string;
  logN: number;
  r: number;
  p: number;
}

/**
 * Child -> parent: `ready` once it has lowered its priority (its first
 * message), then per request the key (base64) or why scrypt refused.
 */
export type DeriveReply = { ready: true } | { id: number; key: string } | { id: number; error: string };

export const SCRYPT_CHILD_SOURCE = `
'use strict';
const crypto = require('node:crypto');
const os = require('node:os');
try { os.setPriority(19); } catch {}
process.send({ ready: true });
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  let reply;
  try {
    const key = crypto.scryptSync(Buffer.from(m.password, 'utf8'), Buffer.from(m.salt, 'base64'), 64,
      { N: 2 ** m.logN, r: m.r, p: m.p, maxmem: 2 ** 31 - 1 });
    reply = { id: m.id, key: key.toString('base64') };
  } catch (err) {
    reply = { id: m.id, error: String((err && err.code) || 'scrypt failed') };
  }
  process.send(reply);
});
`;
