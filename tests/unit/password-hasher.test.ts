import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ScryptModule from 'scrypt-kdf';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError } from '../../server/errors.js';
import { PasswordHasher } from '../../server/security/password-hasher.js';
import { ScryptPool } from '../../server/security/scrypt-pool.js';

const Scrypt = (ScryptModule as unknown as { default?: typeof ScryptModule }).default ?? ScryptModule;

const s = suite('unit: password hasher (scrypt in low-priority processes)');

const CHEAP = { logN: 10, r: 8, p: 1 };
// About 64 MiB and a few hundred ms per hash: long enough to kill a process in the middle of one.
const SLOW = { logN: 16, r: 8, p: 1 };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
}

async function unavailable(call: Promise<unknown>): Promise<AppError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, AppError, 'rejected with an AppError');
  assert.is((err as AppError).code, 'UNAVAILABLE');
  return err as AppError;
}

s('hashes stored by scrypt-kdf verify, and new hashes are scrypt-kdf keys that it verifies', async () => {
  const hasher = new PasswordHasher(CHEAP, 2, 8);
  try {
    const old = Buffer.from(await Scrypt.kdf('Correct-Horse-Battery-Staple-1', CHEAP)).toString('base64');
    assert.ok(await hasher.verify(old, 'Correct-Horse-Battery-Staple-1'), 'an existing hash verifies');
    assert.not.ok(await hasher.verify(old, 'Correct-Horse-Battery-Staple-2'), 'a wrong password does not');

    const made = await hasher.hash('Correct-Horse-Battery-Staple-1');
    assert.is(Buffer.from(made, 'base64').length, 96);
    assert.equal(Scrypt.viewParams(Buffer.from(made, 'base64')), CHEAP);
    assert.ok(
      await Scrypt.verify(Buffer.from(made, 'base64'), 'Correct-Horse-Battery-Staple-1'),
      'scrypt-kdf accepts it',
    );
    assert.not.ok(await Scrypt.verify(Buffer.from(made, 'base64'), 'Correct-Horse-Battery-Staple-2'));
    assert.is.not(await hasher.hash('Correct-Horse-Battery-Staple-1'), made, 'a fresh salt every time');
  } finally {
    await hasher.close();
  }
});

s(
  'the same text typed differently (NFKC) matches; malformed and tampered hashes are false, never a throw',
  async () => {
    const hasher = new PasswordHasher(CHEAP, 1, 8);
    try {
      const made = await hasher.hash('Ｐａｓｓｗｏｒｄ-ﬁne-12345');
      assert.ok(await hasher.verify(made, 'Password-fine-12345'));
      assert.not.ok(await hasher.verify('not base64 at all', 'x'));
      assert.not.ok(await hasher.verify(Buffer.alloc(95).toString('base64'), 'x'));
      const tampered = Buffer.from(made, 'base64');
      tampered[7] = 29; // logN 29 (64 GiB): the checksum refuses it before any hash
      assert.not.ok(await hasher.verify(tampered.toString('base64'), 'Password-fine-12345'));
      assert.not.ok(hasher.needsRehash(made));
      assert.ok(new PasswordHasher({ ...CHEAP, logN: 11 }, 1, 1).needsRehash(made));
    } finally {
      await hasher.close();
    }
  },
);

s('hashing processes run at the lowest CPU priority, start on first use and are gone after close()', async () => {
  const hasher = new PasswordHasher(CHEAP, 2, 8);
  assert.equal(hasher.processIds(), [], 'nothing started before the first hash');
  await Promise.all([hasher.hash('a-first-password-123'), hasher.hash('a-second-password-123')]);
  const pids = hasher.processIds();
  assert.is(pids.length, 2, 'one process per concurrent hash, up to the pool size');
  for (const pid of pids) assert.is(os.getPriority(pid), 19, `process ${pid} is niced to 19`);
  await hasher.close();
  for (const pid of pids) assert.not.ok(alive(pid), `process ${pid} stopped`);
  await unavailable(hasher.hash('after-close-password'));
});

/** Minor page faults a process has taken so far (/proc/<pid>/stat, field 10). */
function minorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

s('a hashing process reuses its scrypt memory: a second hash does not fault its pages in again', async () => {
  const hasher = new PasswordHasher(SLOW, 1, 8);
  try {
    await hasher.hash('the-first-password-123');
    const [pid] = hasher.processIds();
    const before = minorFaults(pid!);
    await hasher.hash('the-second-password-123');
    const faults = minorFaults(pid!) - before;
    const hashPages = (128 * SLOW.r * 2 ** SLOW.logN) / 4096;
    // Without reuse every hash maps its memory afresh and faults in every page of it.
    assert.ok(faults < hashPages / 4, `${faults} page faults for a hash of ${hashPages} pages`);
  } finally {
    await hasher.close();
  }
});

s(
  'a hashing process inherits nothing from the service: no secret, no preload, only the allocator setting',
  async () => {
    process.env.SECRET_KEY_CANARY = 'must-not-reach-the-child';
    const hasher = new PasswordHasher(CHEAP, 1, 8);
    try {
      await hasher.hash('a-password-for-the-env-check');
      const [pid] = hasher.processIds();
      const environ = readFileSync(`/proc/${pid!}/environ`, 'utf8');
      assert.not.ok(environ.includes('must-not-reach-the-child'), 'the canary stayed in the service');
      for (const name of ['SECRET_KEY', 'DATABASE_URL', 'NODE_OPTIONS', 'PATH']) {
        assert.not.ok(environ.includes(`${name}=`), `${name} is not passed on`);
      }
      assert.ok(environ.startsWith('GLIBC_TUNABLES=glibc.malloc.mmap_threshold='), 'the allocator setting is');
    } finally {
      delete process.env.SECRET_KEY_CANARY;
      await hasher.close();
    }
  },
);

s('a full queue sheds the call with UNAVAILABLE and a retryAfter; once drained, calls are served again', async () => {
  const pool = new ScryptPool(1, 2);
  const salt = Buffer.alloc(32, 7);
  try {
    // One running and two waiting fill it; the next two are shed at once.
    const calls = Array.from({ length: 5 }, () =>
      pool.derive('flood-password', salt, SLOW).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    const results = await Promise.all(calls);
    assert.equal(results.slice(0, 3), ['ok', 'ok', 'ok']);
    for (const r of results.slice(3)) {
      assert.instance(r, AppError);
      assert.is((r as AppError).code, 'UNAVAILABLE');
      assert.ok(((r as AppError).retryAfter ?? 0) >= 1, 'retryAfter given');
    }
    assert.is((await pool.derive('flood-password', salt, CHEAP)).length, 64);
  } finally {
    await pool.close();
  }
});

s('a hashing process killed mid-hash is replaced and the call is retried on the new one', async () => {
  const hasher = new PasswordHasher(SLOW, 1, 8);
  try {
    const stored = await hasher.hash('Survives-A-Crash-2024');
    const [first] = hasher.processIds();
    const pending = hasher.verify(stored, 'Survives-A-Crash-2024');
    process.kill(first!, 'SIGKILL');
    assert.ok(await pending, 'the retried verify still answers true');
    const [second] = hasher.processIds();
    assert.ok(second !== undefined && second !== first, 'a new process replaced the dead one');
    assert.not.ok(alive(first!));
  } finally {
    await hasher.close();
  }
});

s('a call whose hash is lost twice fails cleanly with UNAVAILABLE instead of hanging', async () => {
  const pool = new ScryptPool(1, 8);
  try {
    const pending = unavailable(pool.derive('lost-twice-password', Buffer.alloc(32, 1), SLOW));
    const [first] = pool.processIds();
    process.kill(first!, 'SIGKILL');
    await until('a replacement process started', () => pool.processIds().some((pid) => pid !== first));
    process.kill(pool.processIds()[0]!, 'SIGKILL');
    const err = await pending;
    assert.ok((err.retryAfter ?? 0) >= 1, 'retryAfter given');
    // The pool is still usable afterwards.
    assert.is((await pool.derive('after-the-crashes', Buffer.alloc(32, 2), CHEAP)).length, 64);
  } finally {
    await pool.close();
  }
});

s.run();
