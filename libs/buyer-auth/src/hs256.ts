// The JWS HS256 primitive (RFC 7515): base64url of HMAC-SHA256 over `header.payload`.
import { createHmac, timingSafeEqual } from 'node:crypto';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Decodes base64url strictly: only the URL-safe alphabet, no padding, and only the canonical spelling
 * (Node's decoder ignores stray characters and trailing bits, which would let one token have many forms).
 */
export function decodeBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

export function hs256(key: Buffer | string, signingInput: string): Buffer {
  return createHmac('sha256', key).update(signingInput, 'ascii').digest();
}

/** Constant-time check of a signature (32 bytes) against the one the key gives. */
export function hs256Matches(key: Buffer | string, signingInput: string, signature: Buffer): boolean {
  const expected = hs256(key, signingInput);
  return signature.length === expected.length && timingSafeEqual(signature, expected);
}
