/**
 * The framing half of PASETO v4.public verification (the signature itself
 * is WebCrypto's Ed25519): base64url, pre-authentication encoding, and the
 * PASERK public key format. Web-platform APIs only, so it runs in browsers,
 * Node >= 20, Deno, Bun and workers without a dependency.
 */

const HEADER = 'v4.public.';
const SIGNATURE_BYTES = 64;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** Bytes backed by a plain ArrayBuffer, as WebCrypto takes them. */
export type Bytes = Uint8Array<ArrayBuffer>;

export function base64urlEncode(bytes: Bytes): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Strict unpadded base64url; null for anything else (padding, `+`, `/`,
 * whitespace, impossible length, non-zero trailing bits), so one token has
 * exactly one spelling.
 */
export function base64urlDecode(text: string): Bytes | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(b64);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return base64urlEncode(bytes) === text ? bytes : null;
}

/** PAE from the PASETO spec: each piece prefixed by its 64-bit little-endian length. */
export function pae(pieces: readonly Bytes[]): Bytes {
  const le64 = (n: number): Bytes => {
    const out = new Uint8Array(8);
    let v = n;
    for (let i = 0; i < 8; i++) {
      out[i] = v & 0xff;
      v = Math.floor(v / 256);
    }
    out[7]! &= 0x7f; // the spec clears the top bit
    return out;
  };
  const total = 8 + pieces.reduce((sum, p) => sum + 8 + p.length, 0);
  const out = new Uint8Array(total);
  out.set(le64(pieces.length), 0);
  let offset = 8;
  for (const p of pieces) {
    out.set(le64(p.length), offset);
    out.set(p, offset + 8);
    offset += 8 + p.length;
  }
  return out;
}

export interface ParsedToken {
  /** The signed claims, still encoded. */
  message: Bytes;
  signature: Bytes;
  footer: Bytes;
}

/** Splits a `v4.public.<payload>[.<footer>]` token; null when malformed. */
export function parseV4Public(token: string): ParsedToken | null {
  // Only v4.public: never let the token pick its own algorithm (v4.local,
  // older versions), the classic confusion attack.
  if (!token.startsWith(HEADER)) return null;
  const parts = token.slice(HEADER.length).split('.');
  if (parts.length > 2) return null;
  const payload = base64urlDecode(parts[0] ?? '');
  const footer = parts.length === 2 ? base64urlDecode(parts[1]!) : new Uint8Array(0);
  if (!payload || !footer || payload.length < SIGNATURE_BYTES) return null;
  return {
    message: payload.subarray(0, payload.length - SIGNATURE_BYTES),
    signature: payload.subarray(payload.length - SIGNATURE_BYTES),
    footer,
  };
}

/** The bytes the signature covers (no implicit assertion is used). */
export function signedBytes(t: ParsedToken): Bytes {
  const enc = new TextEncoder();
  return pae([enc.encode(HEADER), t.message, t.footer, new Uint8Array(0)]);
}

/** The 32-byte Ed25519 key of a `k4.public.` PASERK; null for any other kind. */
export function paserkPublicKeyBytes(paserk: string): Bytes | null {
  const prefix = 'k4.public.';
  if (!paserk.startsWith(prefix)) return null;
  const bytes = base64urlDecode(paserk.slice(prefix.length));
  return bytes && bytes.length === 32 ? bytes : null;
}
