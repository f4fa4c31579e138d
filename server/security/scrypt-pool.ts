import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { AppError } from '../errors.js';
import { SCRYPT_CHILD_SOURCE, type DeriveReply, type DeriveRequest } from './scrypt-child.js';

export interface ScryptCost {
  logN: number;
  r: number;
  p: number;
}

/** scrypt refused the input (parameters out of range, memory): not an availability problem. */
export class ScryptRefused extends Error {
  constructor(reason: string) {
    super(`scrypt refused: ${reason}`);
    this.name = 'ScryptRefused';
  }
}

interface Job {
  id: number;
  request: DeriveRequest;
  resolve(key: Buffer): void;
  reject(err: Error): void;
  /** Processes this job was lost in (a process that died mid-hash). */
  lost: number;
  started?: number;
}

interface Slot {
  child: ChildProcess;
  job?: Job;
  exited: Promise<void>;
}

/** A job whose process died is retried once on a fresh process, then fails. */
const MAX_LOST = 2;

/**
 * scrypt allocates its whole working memory (128 x r x 2^logN bytes, 16 to
 * 128 MiB) for every hash. glibc serves blocks that large with a fresh mmap
 * and unmaps them on free, so each hash faulted in and zeroed every page
 * again: about half of a hash's CPU (measured: 797 -> 406 ms at logN 17,
 * 161 -> 66 ms at logN 14, r 16). Raising the mmap and trim thresholds makes
 * the process keep that memory on its heap and reuse it for the next hash.
 * The cost to an attacker is unchanged (the memory is still needed); the
 * price is that an idle hashing process stays at its peak size. Other C
 * libraries ignore the variable and hash as before.
 */
const HASHING_HEAP_TUNABLES = 'glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295';

/**
 * scrypt below the event loop: `size` child processes at the lowest CPU
 * priority (nice 19), each hashing one password at a time, started on first
 * use and replaced when one dies. The kernel always prefers the event loop,
 * PostgreSQL and token checks over a hash, so a login storm uses every idle
 * cycle without slowing `auth.me` (threads on the libuv pool would compete
 * as equals). Each process also holds its hash's memory (128 x r x 2^logN
 * bytes), outside the service's heap, and keeps it between hashes.
 *
 * At most `queueMax` hashes wait for a process; beyond that a call is shed
 * with UNAVAILABLE and a retryAfter estimated from the queue and the recent
 * hash time, so a flood cannot grow memory or latency without bound.
 */
export class ScryptPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Recent seconds per hash (moving average), for retryAfter. */
  private hashSeconds = 1;

  constructor(
    private readonly size: number,
    private readonly queueMax: number,
  ) {}

  /** 64-byte scrypt key of password and salt; throws UNAVAILABLE when the queue is full or closed. */
  derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
    if (this.closed) return Promise.reject(new AppError('UNAVAILABLE', { retryAfter: 1 }));
    const idle = this.slots.some((s) => !s.job) || this.slots.length < this.size;
    if (!idle && this.queue.length >= this.queueMax) {
      return Promise.reject(new AppError('UNAVAILABLE', { retryAfter: this.retryAfterSeconds() }));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const id = this.nextId++;
      const request: DeriveRequest = { id, password, salt: salt.toString('base64'), ...cost };
      this.queue.push({ id, request, resolve, reject, lost: 0 });
      this.dispatch();
    });
  }

  /** Seconds until the queue ahead of a new call has drained, at the recent hash time. */
  retryAfterSeconds(): number {
    const ahead = this.queue.length + this.slots.filter((s) => s.job).length;
    return Math.max(1, Math.ceil((ahead / this.size) * this.hashSeconds));
  }

  /** Process ids of the running hashing processes (operators and tests). */
  processIds(): number[] {
    return this.slots.map((s) => s.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** Fails queued calls, stops every process and waits until they are gone. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new AppError('UNAVAILABLE', { retryAfter: 1 }));
    const exits = this.slots.map((s) => s.exited);
    for (const s of this.slots) s.child.kill('SIGKILL');
    await Promise.all(exits);
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      slot.job = job;
      job.started = performance.now();
      // Referenced while it works, so a process with a pending hash does not exit under it.
      slot.child.channel?.ref();
      slot.child.send(job.request, (err) => {
        if (err) slot.child.kill('SIGKILL');
      });
    }
  }

  private spawn(): Slot {
    const child = spawn(process.execPath, ['-e', SCRYPT_CHILD_SOURCE], {
      // No inherited NODE_OPTIONS, preloads or secrets: the child needs none.
      env: { GLIBC_TUNABLES: HASHING_HEAP_TUNABLES },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    });
    // A process that could not start emits 'error' and maybe no 'exit'.
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const slot: Slot = { child, exited };
    this.slots.push(slot);
    // Idle processes never keep the service (or a CLI) alive.
    child.unref();
    child.channel?.unref();
    child.on('message', (reply: DeriveReply) => this.settle(slot, reply));
    // 'error' covers a failed spawn (e.g. EAGAIN); 'exit' may or may not follow.
    child.once('error', () => this.lose(slot));
    child.once('exit', () => this.lose(slot));
    return slot;
  }

  private settle(slot: Slot, reply: DeriveReply): void {
    if ('ready' in reply) {
      // After Node's start-up, which runs at normal priority; on Linux this
      // renices the main thread, where the child hashes.
      try {
        if (slot.child.pid !== undefined) os.setPriority(slot.child.pid, 19);
      } catch {
        /* not permitted here: the child has lowered its own priority */
      }
      return;
    }
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    slot.job = undefined;
    slot.child.channel?.unref();
    this.hashSeconds = 0.8 * this.hashSeconds + 0.2 * ((performance.now() - job.started!) / 1000);
    if ('key' in reply) job.resolve(Buffer.from(reply.key, 'base64'));
    else job.reject(new ScryptRefused(reply.error));
    this.dispatch();
  }

  /** A process died or could not start: its job goes back to the front of the queue or fails. */
  private lose(slot: Slot): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return;
    this.slots.splice(at, 1);
    const job = slot.job;
    slot.job = undefined;
    if (job) {
      job.lost++;
      if (job.lost < MAX_LOST && !this.closed) this.queue.unshift(job);
      else job.reject(new AppError('UNAVAILABLE', { retryAfter: this.retryAfterSeconds() }));
    }
    this.dispatch();
  }
}
