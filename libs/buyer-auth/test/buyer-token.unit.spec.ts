// Buyer tokens against known vectors (RFC 7515 A.1, and one computed with openssl) and every way a
// token must be refused.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BuyerTokenError, signBuyerToken, verifyBuyerToken } from '../src/index.js';
import { decodeBase64url, hs256 } from '../src/hs256.js';

const SECRET = 'unit-test-secret-0123456789abcdef';
const ISSUED_AT_MS = 1_800_000_000_000;
// openssl: printf '%s' "$H.$P" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64url, with the
// header {"alg":"HS256","typ":"JWT"} and the claims below.
const OPENSSL_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' +
  'eyJzdWIiOiJidXllci00MiIsImlzcyI6ImJ1eS1ub3ciLCJhdWQiOiJidXktbm93OmJ1eWVyIiwiaWF0IjoxODAwMDAwMDAwLCJleHAiOjE4MDAwMDM2MDB9.' +
  'KeTwxc2KqaI7ve_anhjFp62zywV1erGU_rlqhFT9STU';

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token with any header and claims, signed with HMAC-SHA256 (or given a signature). */
function forge(header: unknown, claims: unknown, secret = SECRET, signature?: string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${signature ?? createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const goodClaims = {
  sub: 'buyer-42',
  iss: 'buy-now',
  aud: 'buy-now:buyer',
  iat: 1_800_000_000,
  exp: 1_800_003_600,
};
const HS256 = { alg: 'HS256', typ: 'JWT' };
const at = (ms: number) => ({ secret: SECRET, now: ms });

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof BuyerTokenError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('the token was accepted');
}

describe('HS256', () => {
  it('matches RFC 7515 appendix A.1', () => {
    const key = decodeBase64url(
      'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
    );
    expect(key).toBeDefined();
    const input =
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.' +
      'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ';
    expect(hs256(key as Buffer, input).toString('base64url')).toBe(
      'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
    );
  });

  it('decodes base64url only in its canonical spelling', () => {
    expect(decodeBase64url('AQID')?.toString('hex')).toBe('010203');
    expect(decodeBase64url('AQID=')).toBeUndefined();
    expect(decodeBase64url('AQ+D')).toBeUndefined();
    expect(decodeBase64url('AR')).toBeUndefined(); // 'AQ' is the canonical form of that byte
    expect(decodeBase64url('')).toBeUndefined();
  });
});

describe('signBuyerToken', () => {
  it('gives exactly the token openssl computes', () => {
    expect(signBuyerToken({ secret: SECRET, buyerId: 'buyer-42', now: ISSUED_AT_MS })).toBe(OPENSSL_TOKEN);
  });

  it('sets exp from ttlSeconds', () => {
    const token = signBuyerToken({ secret: SECRET, buyerId: 'b', ttlSeconds: 60, now: ISSUED_AT_MS + 999 });
    expect(verifyBuyerToken(token, at(ISSUED_AT_MS))).toEqual({
      buyerId: 'b',
      issuedAt: ISSUED_AT_MS,
      expiresAt: ISSUED_AT_MS + 60_000,
    });
  });

  it('refuses a short secret, a buyerId off the pattern and a bad ttl', () => {
    expect(() => signBuyerToken({ secret: 'x'.repeat(31), buyerId: 'b' })).toThrow(/at least 32/);
    expect(() => signBuyerToken({ secret: SECRET, buyerId: '-starts-with-dash' })).toThrow(/does not match/);
    expect(() => signBuyerToken({ secret: SECRET, buyerId: 'x'.repeat(65) })).toThrow(/does not match/);
    expect(() => signBuyerToken({ secret: SECRET, buyerId: 'b', ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => signBuyerToken({ secret: SECRET, buyerId: 'b', ttlSeconds: 1.5 })).toThrow(/ttlSeconds/);
  });
});

describe('verifyBuyerToken', () => {
  it('accepts the openssl token and names its buyer', () => {
    expect(verifyBuyerToken(OPENSSL_TOKEN, at(ISSUED_AT_MS + 1_000))).toEqual({
      buyerId: 'buyer-42',
      issuedAt: ISSUED_AT_MS,
      expiresAt: ISSUED_AT_MS + 3_600_000,
    });
  });

  it('accepts aud as an array that holds the audience, and a past nbf', () => {
    const token = forge(HS256, { ...goodClaims, aud: ['other', 'buy-now:buyer'], nbf: goodClaims.iat });
    expect(verifyBuyerToken(token, at(ISSUED_AT_MS)).buyerId).toBe('buyer-42');
  });

  it('expires at exp plus the clock skew (30 s), not before', () => {
    const exp = goodClaims.exp * 1000;
    expect(verifyBuyerToken(OPENSSL_TOKEN, at(exp + 29_999)).buyerId).toBe('buyer-42');
    expect(refusal(() => verifyBuyerToken(OPENSSL_TOKEN, at(exp + 30_000)))).toEqual({
      code: 'BUYER_TOKEN_EXPIRED',
      message: 'the buyer token has expired: get a new one',
    });
    expect(refusal(() => verifyBuyerToken(OPENSSL_TOKEN, { ...at(exp + 1), clockSkewSeconds: 0 })).code).toBe(
      'BUYER_TOKEN_EXPIRED',
    );
  });

  const [h, p, s] = OPENSSL_TOKEN.split('.') as [string, string, string];
  const flip = (text: string, index: number) =>
    `${text.slice(0, index)}${text[index] === 'A' ? 'B' : 'A'}${text.slice(index + 1)}`;

  const invalid: [string, string][] = [
    ['an empty string', ''],
    ['two parts', `${h}.${p}`],
    ['four parts', `${OPENSSL_TOKEN}.x`],
    ['a token far too long', `${h}.${b64({ ...goodClaims, pad: 'x'.repeat(3_000) })}.${s}`],
    ['alg none without a signature', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`],
    ['alg none with the real signature', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.${s}`],
    ['alg "None"', forge({ alg: 'None', typ: 'JWT' }, goodClaims)],
    ['alg HS512', forge({ alg: 'HS512', typ: 'JWT' }, goodClaims)],
    ['alg RS256 (key confusion)', forge({ alg: 'RS256', typ: 'JWT' }, goodClaims)],
    ['no typ', forge({ alg: 'HS256' }, goodClaims)],
    ['typ other than JWT', forge({ alg: 'HS256', typ: 'at+jwt' }, goodClaims)],
    ['a crit header', forge({ ...HS256, crit: ['exp'] }, goodClaims)],
    ['a kid header', forge({ ...HS256, kid: '../../dev/null' }, goodClaims)],
    ['a header that is not JSON', `${b64('{alg:HS256')}.${p}.${s}`],
    ['a header that is a JSON array', `${b64(['HS256'])}.${p}.${s}`],
    ['another secret', forge(HS256, goodClaims, 'another-secret-0123456789abcdefghij')],
    ['the secret with one more character', forge(HS256, goodClaims, `${SECRET}x`)],
    ['a flipped signature character', `${h}.${p}.${flip(s, 5)}`],
    ['a truncated signature', `${h}.${p}.${s.slice(0, -2)}`],
    ['a signature with padding', `${h}.${p}.${s}=`],
    ['a non-canonical last signature character', `${h}.${p}.${s.slice(0, -1)}V`],
    ['an empty signature', `${h}.${p}.`],
    ['a changed payload under the old signature', `${h}.${b64({ ...goodClaims, sub: 'buyer-43' })}.${s}`],
    ['a payload that is not JSON', forge(HS256, 'not json')],
    ['a payload that is null', forge(HS256, null)],
    ['no exp', forge(HS256, { ...goodClaims, exp: undefined })],
    ['exp as a string', forge(HS256, { ...goodClaims, exp: '1800003600' })],
    ['no sub', forge(HS256, { ...goodClaims, sub: undefined })],
    ['sub off the buyerId pattern', forge(HS256, { ...goodClaims, sub: 'has space' })],
    ['sub as a number', forge(HS256, { ...goodClaims, sub: 42 })],
    ['another issuer', forge(HS256, { ...goodClaims, iss: 'someone-else' })],
    ['no issuer', forge(HS256, { ...goodClaims, iss: undefined })],
    ['another audience', forge(HS256, { ...goodClaims, aud: 'buy-now:admin' })],
    ['an audience array without ours', forge(HS256, { ...goodClaims, aud: ['buy-now'] })],
    ['nbf in the future', forge(HS256, { ...goodClaims, nbf: goodClaims.iat + 3_000 })],
    ['iat in the future', forge(HS256, { ...goodClaims, iat: goodClaims.iat + 3_000 })],
    ['iat as a string', forge(HS256, { ...goodClaims, iat: 'now' })],
  ];

  it.each(invalid)('refuses %s as BUYER_TOKEN_INVALID', (_name, token) => {
    expect(refusal(() => verifyBuyerToken(token, at(ISSUED_AT_MS))).code).toBe('BUYER_TOKEN_INVALID');
  });

  it('checks the signature before the claims: an expired forgery is invalid, not expired', () => {
    const forged = forge(HS256, goodClaims, 'another-secret-0123456789abcdefghij');
    expect(refusal(() => verifyBuyerToken(forged, at(ISSUED_AT_MS + 86_400_000))).code).toBe(
      'BUYER_TOKEN_INVALID',
    );
  });

  it('refuses to verify with a short secret', () => {
    expect(() => verifyBuyerToken(OPENSSL_TOKEN, { secret: 'short' })).toThrow(TypeError);
  });
});
