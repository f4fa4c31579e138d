import { TRPCError } from '@trpc/server';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError, DatabaseUnavailableError } from '../../server/errors.js';
import { retryAfterOf, toPublicError } from '../../server/public-error.js';

/** The one translation from anything thrown to what a caller sees. */
const s = suite('unit: public error translation');

s('an AppError keeps its code, its status and only the options its code allows', () => {
  const locked = toPublicError(new AppError('ACCOUNT_LOCKED', { retryAfter: 12.2 }));
  assert.equal(
    { trpc: locked.trpcCode, status: locked.httpStatus, data: locked.data },
    { trpc: 'TOO_MANY_REQUESTS', status: 429, data: { appCode: 'ACCOUNT_LOCKED', retryAfter: 13 } },
  );
  const weak = toPublicError(new AppError('WEAK_PASSWORD', { reason: 'too_short' }));
  assert.equal(weak.data, { appCode: 'WEAK_PASSWORD', reason: 'too_short' });
  assert.is(weak.httpStatus, 400);
});

s('an AppError wrapped by tRPC is translated the same as the bare one', () => {
  const inner = new AppError('REFRESH_TOKEN_REUSED');
  const wrapped = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: inner });
  assert.equal(toPublicError(wrapped), toPublicError(inner));
});

s('a lost database is recognised by driver codes, not by message text', () => {
  const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const pool = new DatabaseUnavailableError(new Error('timeout exceeded when trying to connect'));
  for (const err of [shutdown, refused, pool, new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: refused })]) {
    const pub = toPublicError(err);
    assert.is(pub.data.appCode, 'UNAVAILABLE');
    assert.is(pub.httpStatus, 503);
  }
  // Same words, no driver code: a bug, not an outage.
  assert.is(toPublicError(new Error('Connection terminated unexpectedly')).data.appCode, 'INTERNAL');
});

s('a query bug is INTERNAL and its message (SQL, bound values) never reaches the caller', () => {
  const bug = Object.assign(new Error('syntax error at or near "selec" ... $1 = scrypt$abc'), { code: '42601' });
  const pub = toPublicError(bug);
  assert.is(pub.data.appCode, 'INTERNAL');
  assert.is(pub.message, 'Internal server error');
  assert.is(pub.log, 'internal');
});

s('invalid input names the field; a body over the limit is 413', () => {
  const cause = Object.assign(new Error('zod'), { issues: [{ path: ['email'], message: 'Invalid email address' }] });
  const pub = toPublicError(new TRPCError({ code: 'BAD_REQUEST', cause }));
  assert.equal(pub.data, { appCode: 'INVALID_INPUT', field: 'email' });
  assert.match(pub.message, 'at "email"');
  const big = toPublicError(Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413 }));
  assert.equal([big.httpStatus, big.data.appCode], [413, 'INVALID_INPUT']);
});

s('Retry-After is the longest wait among the errors, absent when none has one', () => {
  assert.is(
    retryAfterOf([new AppError('RATE_LIMITED', { retryAfter: 5 }), new AppError('UNAVAILABLE', { retryAfter: 9 })]),
    9,
  );
  assert.is(retryAfterOf([new AppError('INVALID_CREDENTIALS')]), undefined);
});

s.run();
