// Buyer tokens: HS256 JWTs whose `sub` is the buyerId. The gateway trusts the buyer a token names,
// never a field of the request body, so a per-buyer limit cannot be dodged by changing the body.
import { BuyerTokenError } from './errors.js';
import { base64url, decodeBase64url, hs256, hs256Matches } from './hs256.js';

export const BUYER_TOKEN_ISSUER = 'buy-now';
export const BUYER_TOKEN_AUDIENCE = 'buy-now:buyer';
/** HS256 keys shorter than this are refused (RFC 7518 asks for at least the hash size, 256 bits). */
export const MIN_SECRET_LENGTH = 32;
/** The gateway's buyerId pattern: what `sub` must look like. */
export const BUYER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const DEFAULT_TTL_SECONDS = 3_600;
/** How far apart the signer's and the verifier's clocks may be. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** Far more than a token of ours ever is; a longer header is not worth decoding. */
const MAX_TOKEN_LENGTH = 2_048;

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export interface SignBuyerTokenOptions {
  secret: string;
  buyerId: string;
  /** Default 3600. */
  ttlSeconds?: number;
  /** Milliseconds since the epoch; default Date.now(). */
  now?: number;
}

export interface VerifyBuyerTokenOptions {
  secret: string;
  /** Milliseconds since the epoch; default Date.now(). */
  now?: number;
  /** Default 30. */
  clockSkewSeconds?: number;
}

export interface VerifiedBuyerToken {
  buyerId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Milliseconds since the epoch. */
  issuedAt: number | undefined;
}

function checkSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new TypeError(`the buyer token secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
}

export function signBuyerToken(options: SignBuyerTokenOptions): string {
  checkSecret(options.secret);
  if (!BUYER_ID_PATTERN.test(options.buyerId)) {
    throw new TypeError(
      `buyerId ${JSON.stringify(options.buyerId)} does not match ${String(BUYER_ID_PATTERN)}`,
    );
  }
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1)
    throw new TypeError('ttlSeconds must be a whole number of seconds ≥ 1');
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const payload = base64url(
    JSON.stringify({
      sub: options.buyerId,
      iss: BUYER_TOKEN_ISSUER,
      aud: BUYER_TOKEN_AUDIENCE,
      iat,
      exp: iat + ttl,
    }),
  );
  const signingInput = `${HEADER}.${payload}`;
  return `${signingInput}.${base64url(hs256(options.secret, signingInput))}`;
}

const invalid = (why: string) =>
  new BuyerTokenError('BUYER_TOKEN_INVALID', `the buyer token is not valid: ${why}`);

function parseJsonObject(part: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64url(part);
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isNumericDate = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * Verifies a token and returns the buyer it names; throws a BuyerTokenError (BUYER_TOKEN_INVALID or
 * BUYER_TOKEN_EXPIRED) otherwise. Only `{"alg":"HS256","typ":"JWT"}` headers are accepted: `none`, any
 * other algorithm and any extra header parameter (`crit`, `kid`, `jku`, …) are refused before the
 * signature is even computed. The signature is checked before any claim is read.
 */
export function verifyBuyerToken(token: string, options: VerifyBuyerTokenOptions): VerifiedBuyerToken {
  checkSecret(options.secret);
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid('too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid('a JWT has three dot-separated parts');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

  const header = parseJsonObject(headerPart);
  if (!header) throw invalid('the header is not base64url JSON');
  const headerKeys = Object.keys(header).sort();
  if (header.alg !== 'HS256' || header.typ !== 'JWT' || headerKeys.join(',') !== 'alg,typ') {
    throw invalid('only {"alg":"HS256","typ":"JWT"} tokens are accepted');
  }
  const signature = decodeBase64url(signaturePart);
  if (!signature || !hs256Matches(options.secret, `${headerPart}.${payloadPart}`, signature)) {
    throw invalid('the signature does not match');
  }

  const claims = parseJsonObject(payloadPart);
  if (!claims) throw invalid('the payload is not base64url JSON');
  if (claims.iss !== BUYER_TOKEN_ISSUER) throw invalid(`iss must be "${BUYER_TOKEN_ISSUER}"`);
  const aud = claims.aud;
  if (!(aud === BUYER_TOKEN_AUDIENCE || (Array.isArray(aud) && aud.includes(BUYER_TOKEN_AUDIENCE)))) {
    throw invalid(`aud must be "${BUYER_TOKEN_AUDIENCE}"`);
  }
  if (typeof claims.sub !== 'string' || !BUYER_ID_PATTERN.test(claims.sub)) {
    throw invalid('sub must be a buyerId');
  }
  if (!isNumericDate(claims.exp)) throw invalid('exp is required (seconds since the epoch)');
  if (claims.iat !== undefined && !isNumericDate(claims.iat))
    throw invalid('iat must be seconds since the epoch');
  if (claims.nbf !== undefined && !isNumericDate(claims.nbf))
    throw invalid('nbf must be seconds since the epoch');

  const now = (options.now ?? Date.now()) / 1000;
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (claims.nbf !== undefined && claims.nbf > now + skew) throw invalid('not valid yet (nbf)');
  if (claims.iat !== undefined && claims.iat > now + skew) throw invalid('issued in the future (iat)');
  if (claims.exp + skew <= now) {
    throw new BuyerTokenError('BUYER_TOKEN_EXPIRED', 'the buyer token has expired: get a new one');
  }
  return {
    buyerId: claims.sub,
    expiresAt: claims.exp * 1000,
    issuedAt: claims.iat === undefined ? undefined : claims.iat * 1000,
  };
}
