/**
 * A software passkey authenticator for API tests: makes credentials and
 * assertions exactly as a browser would send them (WebAuthn JSON, `none`
 * attestation), with knobs to get them wrong on purpose (origin, RP ID,
 * counter, algorithm). No browser needed; the browser suite covers the real thing.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

type Cbor = number | string | Uint8Array | CborMap | { [key: string]: Cbor };
interface CborMap extends Map<number | string, Cbor> {}

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Minimal CBOR encoder (RFC 8949): integers, byte and text strings, maps. */
function cbor(v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, val]) => [cbor(k), cbor(val)])]);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
const b64u = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64url');

export type Algorithm = 'ES256' | 'ES384';

export interface SoftCredential {
  id: string;
  userHandle: string;
  key: KeyObject;
  counter: number;
}

export interface CeremonyOptions {
  origin: string;
  rpId: string;
}

function coseKey(pub: KeyObject, alg: Algorithm): Map<number, Cbor> {
  const jwk = pub.export({ format: 'jwk' }) as { x: string; y: string };
  return new Map<number, Cbor>([
    [1, 2],
    [3, alg === 'ES256' ? -7 : -35],
    [-1, alg === 'ES256' ? 1 : 2],
    [-2, Buffer.from(jwk.x, 'base64url')],
    [-3, Buffer.from(jwk.y, 'base64url')],
  ]);
}

function counterBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * A `navigator.credentials.create()` answer to registration options; with
 * `reuse`, the same credential (id and key) registered again.
 */
export function makeCredential(
  options: { challenge: string; user: { id: string } },
  at: CeremonyOptions,
  alg: Algorithm = 'ES256',
  reuse?: SoftCredential,
): { credential: SoftCredential; response: Record<string, unknown> } {
  const { publicKey, privateKey } = reuse
    ? { privateKey: reuse.key, publicKey: createPublicKey(reuse.key) }
    : generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' });
  const credId = reuse ? Buffer.from(reuse.id, 'base64url') : randomBytes(32);
  const clientData = JSON.stringify({
    type: 'webauthn.create',
    challenge: options.challenge,
    origin: at.origin,
    crossOrigin: false,
  });
  const authData = Buffer.concat([
    sha256(at.rpId),
    Buffer.from([0x45]), // UP | UV | AT
    counterBytes(0),
    Buffer.alloc(16), // aaguid
    Buffer.from([0, credId.length]),
    credId,
    cbor(coseKey(publicKey, alg)),
  ]);
  const attestationObject = cbor({ fmt: 'none', attStmt: new Map(), authData });
  return {
    credential: { id: b64u(credId), userHandle: options.user.id, key: privateKey, counter: 0 },
    response: {
      id: b64u(credId),
      rawId: b64u(credId),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(Buffer.from(clientData)),
        attestationObject: b64u(attestationObject),
        transports: ['internal'],
      },
    },
  };
}

/** A `navigator.credentials.get()` answer; the counter moves forward unless `counter` is given. */
export function getAssertion(
  credential: SoftCredential,
  options: { challenge: string },
  at: CeremonyOptions,
  opts: { counter?: number; userVerified?: boolean } = {},
): Record<string, unknown> {
  const counter = opts.counter ?? ++credential.counter;
  const clientData = Buffer.from(
    JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin: at.origin, crossOrigin: false }),
  );
  const authData = Buffer.concat([
    sha256(at.rpId),
    Buffer.from([opts.userVerified === false ? 0x01 : 0x05]),
    counterBytes(counter),
  ]);
  const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), credential.key);
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    authenticatorAttachment: 'platform',
    clientExtensionResults: {},
    response: {
      clientDataJSON: b64u(clientData),
      authenticatorData: b64u(authData),
      signature: b64u(signature),
      userHandle: credential.userHandle,
    },
  };
}
