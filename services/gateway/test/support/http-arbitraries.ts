// fast-check generators of requests the gateway must refuse, each of one known class so the expected
// status and code are exact. A generator never produces a request the gateway would accept: each class
// breaks exactly one rule for certain (the filters make sure of it).
import fc from 'fast-check';

export const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/;
/** find-my-way refuses to match a path parameter longer than this (before decoding): the route is not found. */
export const MAX_PARAM_LENGTH = 100;

/** Ids as the contract accepts them. */
export const validId = fc.stringMatching(ID);

/** Never the id of anything the suite created (those are `item-<uuid>`, `purchase uuid`s). */
export const unknownId = validId.map((id) => `zz-${id}`.slice(0, 64));

const printableAscii = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
});

/** Strings that are no valid id: too long, unicode, control characters, punctuation, empty. */
const badIdText = fc
  .oneof(
    fc.constant(''),
    fc.string({ minLength: 65, maxLength: 90, unit: fc.constantFrom('a', 'B', '7', '-', '_', '.', ':') }),
    fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
    fc.string({ minLength: 1, maxLength: 30, unit: 'binary-ascii' }),
    fc
      .tuple(validId, fc.integer({ min: 0, max: 31 }), validId)
      .map(([a, c, b]) => `${a}${String.fromCharCode(c)}${b}`.slice(0, 60)),
    fc.tuple(fc.constantFrom('-', '_', '.', ':'), validId).map(([p, id]) => `${p}${id}`.slice(0, 60)),
    printableAscii.filter((s) => s.length > 0 && s.length < 40),
  )
  .filter((s) => !ID.test(s));

/** A bad id as a path segment the route still matches (non-empty, not a dot segment, short enough). */
export const badIdSegment = badIdText
  .filter((s) => s.length > 0 && !/^\.+$/.test(s))
  .map((s) => encodeURIComponent(s))
  .filter((segment) => segment.length <= MAX_PARAM_LENGTH);

/** A path segment longer than the router matches. */
export const overlongSegment = fc
  .string({
    minLength: MAX_PARAM_LENGTH + 1,
    maxLength: 300,
    unit: fc.constantFrom('a', 'b', '1', '-', 'é', '%'),
  })
  .map((s) => encodeURIComponent(s))
  .filter((segment) => segment.length > MAX_PARAM_LENGTH);

/** Not valid percent-encoding: the router cannot decode it. */
const badlyEncodedSegment = fc
  .tuple(validId, fc.constantFrom('%', '%z', '%zz', '%E0%A4%A', '%C3', '%FF%FE', '%%41'))
  .map(([id, bad]) => `${encodeURIComponent(id).slice(0, 40)}${bad}`);

/** Path segments the gateway refuses as an id (400 VALIDATION_FAILED, whatever the route). */
export const badPathSegment = fc.oneof(badIdSegment, overlongSegment, badlyEncodedSegment);

/** Any JSON value that is not an integer (after a JSON round trip). */
export const nonInteger = fc
  .oneof(
    fc.jsonValue(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer().map(String),
    fc.constantFrom(true, false, null, '1', [1], { n: 1 }, 1.5, -0.5),
  )
  .filter((v) => !Number.isInteger(JSON.parse(JSON.stringify(v) ?? 'null')));

/** Any JSON value that is not a string. */
export const nonString = fc
  .oneof(fc.jsonValue(), fc.constantFrom(1, true, null, ['b1'], { id: 'b1' }))
  .filter((v) => typeof JSON.parse(JSON.stringify(v) ?? 'null') !== 'string');

/** Integers outside [min, max], some far outside (1e20 parses as a float integer). */
export function integerOutside(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: -1_000_000_000, max: min - 1 }),
    fc.integer({ min: max + 1, max: max + 1_000_000_000 }),
    fc.constantFrom(min - 1, max + 1, -1e20, 1e20, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  );
}

/** Property names no schema declares (nor the prototype-poisoning names, a class of their own). */
export function extraPropertyName(declared: readonly string[]): fc.Arbitrary<string> {
  return fc
    .string({ minLength: 1, maxLength: 30 })
    .filter((name) => !declared.includes(name) && !['__proto__', 'constructor', 'prototype'].includes(name));
}

function isJson(text: string): boolean {
  try {
    // The gateway's parser drops a leading byte-order mark before parsing.
    JSON.parse(text.replace(/^\uFEFF/, ''));
    return true;
  } catch {
    return false;
  }
}

/** Bodies that are not JSON at all: truncated objects, garbage, blanks, prototype poisoning. */
export function malformedJson(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    // Every proper prefix of a serialized object lacks its closing brace.
    valid
      .map((body) => JSON.stringify(body))
      .chain((text) => fc.integer({ min: 0, max: text.length - 1 }).map((n) => text.slice(0, n))),
    fc.string({ maxLength: 200 }).filter((s) => !isJson(s)),
    fc.constantFrom(
      '',
      ' ',
      '\n\t',
      '{',
      '}',
      '[',
      '{"a":}',
      "{'buyerId':'b1'}",
      '{"buyerId":"b1",}',
      'NaN',
      'undefined',
    ),
    // Fastify refuses prototype poisoning as a parse error.
    valid.map((body) => JSON.stringify(body).replace(/^\{/, '{"__proto__":{"admin":true},')),
    valid.map((body) => JSON.stringify(body).replace(/^\{/, '{"constructor":{"prototype":{"admin":true}},')),
  );
}

/** Top-level JSON that is not an object. */
export const nonObjectJson = fc
  .oneof(fc.jsonValue(), fc.constantFrom(null, [], [{}], 0, 'x', true))
  .map((v) => JSON.stringify(v) ?? 'null')
  .filter((text) => {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed !== 'object' || parsed === null || Array.isArray(parsed);
  });

/** Media types Fastify has no parser for (it parses only application/json and text/plain). */
export const unsupportedMediaType = fc
  .oneof(
    fc.constantFrom(
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'text/html',
      'text/csv',
      'image/png',
      'application/jsonp',
      'application/vnd.api+json',
    ),
    fc
      .tuple(
        fc.constantFrom('application', 'text', 'image', 'audio', 'video', 'font', 'x-fuzz'),
        fc.stringMatching(/^[a-z][a-z0-9.+-]{0,19}$/),
      )
      .map(([type, subtype]) => `${type}/${subtype}`),
  )
  .filter((type) => type !== 'application/json' && type !== 'text/plain');

/** A JSON object whose serialization is bigger than `limitBytes`, and under 64 KiB. */
export function oversizedJson(limitBytes: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: limitBytes + 1, max: 64 * 1024 }), fc.constantFrom('x', 'é', '€', '𝄞'))
    .map(([bytes, unit]) => {
      const repeat = Math.ceil(bytes / Buffer.byteLength(unit));
      return JSON.stringify({ buyerId: 'b1', note: unit.repeat(repeat) });
    });
}

/** Idempotency-Key values the contract refuses (8-128 characters of letters, digits, _ . : -). */
export const badIdempotencyKey = fc
  .oneof(
    fc.stringMatching(/^[A-Za-z0-9_.:-]{1,7}$/),
    fc.stringMatching(/^[A-Za-z0-9]{129,200}$/),
    printableAscii.filter((s) => s.length >= 8 && s.length <= 128),
  )
  .filter((key) => !IDEMPOTENCY_KEY.test(key));

export const goodIdempotencyKey = fc.stringMatching(/^[A-Za-z0-9_.:-]{8,128}$/);

/** Prefer headers longer than the 100 characters the contract allows. */
export const overlongPrefer = fc
  .tuple(fc.integer({ min: 0, max: 30 }), fc.stringMatching(/^[a-z=, ;0-9]{101,300}$/))
  .map(([wait, rest]) => `wait=${wait}, ${rest}`.slice(0, 300).trimEnd())
  .filter((prefer) => prefer.length > 100);

/** Authorization headers that are not `Bearer <admin token>`. */
export function badAdminAuthorization(adminToken: string): fc.Arbitrary<string | undefined> {
  return fc
    .oneof(
      fc.constant(undefined),
      fc.constantFrom(
        '',
        'Bearer',
        'Bearer ',
        adminToken,
        `bearer ${adminToken}`,
        `BEARER ${adminToken}`,
        `Bearer  ${adminToken}`,
        `Basic ${Buffer.from(`admin:${adminToken}`).toString('base64')}`,
        `Bearer ${adminToken.slice(0, -1)}`,
      ),
      printableAscii.map((token) => `Bearer ${token}`),
      fc
        .tuple(printableAscii, fc.constantFrom('', 'x', '0', adminToken))
        .map(([a, b]) => `Bearer ${adminToken}${a}${b}`),
      printableAscii.map((token) => `Bearer ${token}${adminToken}`),
      fc.string({
        maxLength: 600,
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      }),
    )
    .filter((header) => header === undefined || header.trim() !== `Bearer ${adminToken}`);
}
