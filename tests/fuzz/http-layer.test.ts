import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RefreshTokenCodec } from '../../server/security/opaque-token.js';
import { Keyring } from '../../server/security/keyring.js';
import { fuzzParameters, nastyString } from '../support/fuzz.js';
import { baseTestEnv, startService, type TestService } from '../support/service.js';

/**
 * The HTTP layer and the refresh-token codec under odd requests: methods,
 * content types, broken bodies, odd headers, tampered tokens. Never a 5xx,
 * never a stack, never a crash.
 */
const s = suite<{ svc: TestService }>('fuzz: HTTP layer and refresh tokens');
s.before(async (ctx) => {
  ctx.svc = await startService();
});
s.after(async (ctx) => {
  await ctx.svc.close();
});

const PATHS = [
  '/trpc/auth.login',
  '/trpc/auth.me',
  '/trpc/auth.refresh',
  '/trpc/auth.login,auth.me',
  '/trpc/',
  '/trpc/nope',
  '/health',
  '/metrics',
  '/.well-known/paseto-keys',
  '/nowhere',
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
const CONTENT_TYPES = [
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  '',
  'application/jsonx',
];

function clean(status: number, text: string, what: string): void {
  assert.ok(status < 500 || status === 503, `${what}: ${status} ${text.slice(0, 200)}`);
  assert.not.match(text, /"stack"|at [A-Za-z.]+ \(|node_modules/, `${what}: internals`);
}

s('methods, content types, bodies and headers: never a 5xx or a stack', async ({ svc }) => {
  const headerValue = nastyString.map((v) => v.replace(/[^\t\x20-\x7e]/g, '').slice(0, 4000));
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...PATHS),
      fc.constantFrom(...METHODS),
      fc.constantFrom(...CONTENT_TYPES),
      nastyString,
      fc.record(
        {
          authorization: headerValue,
          'x-request-id': headerValue,
          'x-forwarded-for': headerValue,
          'user-agent': headerValue,
        },
        { requiredKeys: [] },
      ),
      async (path, method, contentType, body, headers) => {
        const hasBody = !['GET', 'HEAD', 'OPTIONS'].includes(method);
        const res = await fetch(`${svc.url}${path}`, {
          method,
          headers: { ...(contentType ? { 'content-type': contentType } : {}), ...headers },
          body: hasBody ? body : undefined,
        });
        clean(res.status, method === 'HEAD' ? '' : await res.text(), `${method} ${path}`);
      },
    ),
    fuzzParameters(200),
  );
});

s('the refresh-token codec never throws, and refresh never answers 5xx, for any string', async ({ svc }) => {
  const codec = new RefreshTokenCodec(new Keyring(baseTestEnv().SECRET_KEY!));
  const genuine = codec.create({ familyId: '00000000-0000-4000-8000-000000000000', generation: 3 }).token;
  const tampered = fc.tuple(fc.nat({ max: 67 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
    const raw = Buffer.from(genuine, 'base64url');
    raw[i] = raw[i]! ^ x;
    return raw.toString('base64url');
  });
  const candidates = fc.oneof(
    nastyString,
    tampered,
    fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b).toString('base64url')),
  );
  await fc.assert(
    fc.asyncProperty(candidates, async (token) => {
      assert.is(codec.parse(token), undefined, 'only our own tokens parse');
      const res = await fetch(`${svc.url}/trpc/auth.refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: token }),
      });
      const text = await res.text();
      clean(res.status, text, 'auth.refresh');
      assert.ok(res.status === 400 || res.status === 401 || res.status === 413, `${res.status} ${text.slice(0, 200)}`);
    }),
    fuzzParameters(200),
  );
});

s.run();
