// Property-based fuzzing of every HTTP endpoint and of GET /ws, against a whole system (real Redis, Kafka
// and PostgreSQL behind the real Fastify app). Each generator makes requests of one known class, so each
// answer is checked for its exact status and code in the one error shape; after each property the state
// is compared with the state before any of them: every Redis key and value under the system's prefix,
// the end offsets of item-commands, and every row of the reservation tables. Never a 5xx, never a change.
// A fixed seed makes every run try the same cases; FUZZ_SEED and FUZZ_RUNS change them for one run.
import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { fuzzSettings, waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectRefusal,
  inject,
  injectBuyNow,
  snapshotState,
  type BuyNowInput,
  type Injected,
  type SystemState,
} from './support/fuzz.js';
import {
  badAdminAuthorization,
  badIdempotencyKey,
  badIdSegment,
  badPathSegment,
  extraPropertyName,
  goodIdempotencyKey,
  integerOutside,
  malformedJson,
  nonInteger,
  nonObjectJson,
  nonString,
  overlongPrefer,
  oversizedJson,
  unknownId,
  unsupportedMediaType,
  validId,
} from './support/http-arbitraries.js';
import { liveUrl, openLiveClient, type LiveClient } from './support/live-client.js';
import { DEFAULT_CLOCK_SKEW_SECONDS } from '@buy-now/buyer-auth';
import { ADMIN_TOKEN, BUYER_TOKEN_SECRET, listItem, startSystem, type TestSystem } from './support/system.js';

const fuzz = fuzzSettings();
const MIN_CASES = 10_000;
const BODY_LIMIT_BYTES = 4_096;
const WS_MAX_MESSAGE_BYTES = 4_096;
const WS_MAX_SUBSCRIPTIONS = 100;
const WS_MAX_WATCHES = 100;
const WS_MAX_BAD_MESSAGES = 10;
const PER_BUYER_LIMIT = 2;

let system: TestSystem;
let itemId: string;
let baseline: SystemState;
let itemsAnswer: Injected;
let seedItemsAnswer: Injected;
/** Requests and WebSocket messages sent by the properties. */
let cases = 0;

/** The state once nothing moves any more (the stream processor closes its first sales window late). */
async function settledState(): Promise<SystemState> {
  let last = await snapshotState(system);
  return waitFor(
    'the system state to settle',
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await snapshotState(system);
      const same = JSON.stringify(now) === JSON.stringify(last);
      last = now;
      return same ? now : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 0 },
  );
}

beforeAll(async () => {
  system = await startSystem({
    gatewayEnv: {
      // The seed API, fuzzed too, is served in demo mode only.
      DEMO_MODE: 'true',
      BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      WS_MAX_MESSAGE_BYTES: String(WS_MAX_MESSAGE_BYTES),
      WS_MAX_SUBSCRIPTIONS: String(WS_MAX_SUBSCRIPTIONS),
      WS_MAX_WATCHES: String(WS_MAX_WATCHES),
    },
  });
  itemId = await listItem(system, { stock: 10, perBuyerLimit: PER_BUYER_LIMIT });
  baseline = await settledState();
  itemsAnswer = await inject(system.gateway.app, { method: 'GET', url: '/items' });
  seedItemsAnswer = await inject(system.gateway.app, { method: 'GET', url: '/api/auction/items' });
  expect(itemsAnswer.status).toBe(200);
  expect(seedItemsAnswer.status).toBe(200);
});

afterAll(async () => {
  await system?.stop();
});

const app = () => system.gateway.app;

/** Runs a property with the suite's seed, then checks nothing changed anywhere. */
async function holds<T>(
  defaultRuns: number,
  arbitrary: fc.Arbitrary<T>,
  send: (input: T) => Promise<void>,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, async (input) => {
      cases++;
      await send(input);
    }),
    { seed: fuzz.seed, numRuns: fuzz.runs(defaultRuns) },
  );
  expect(await snapshotState(system)).toEqual(baseline);
}

// ---- buy-now -------------------------------------------------------------------------------------------

const buyerBody = fc.record(
  { buyerId: validId, quantity: fc.integer({ min: 1, max: PER_BUYER_LIMIT }) },
  { requiredKeys: ['buyerId'] },
);

/** A buy-now of the listed item, valid but for what `change` breaks. */
function buyNowOf(change: Partial<BuyNowInput>): BuyNowInput {
  return {
    itemSegment: encodeURIComponent(itemId),
    idempotencyKey: `fuzz-${randomUUID()}`,
    payload: JSON.stringify({ buyerId: 'fuzz-buyer' }),
    ...change,
  };
}

async function refusesBuyNow(input: BuyNowInput, status: number, code: string): Promise<void> {
  expectRefusal(await injectBuyNow(app(), input), status, code);
}

describe(`HTTP fuzzing: every endpoint, at least ${MIN_CASES} cases a run`, () => {
  it('buy-now: malformed JSON → 400 MALFORMED_JSON', () =>
    holds(600, malformedJson(buyerBody), (payload) =>
      refusesBuyNow(buyNowOf({ payload }), 400, 'MALFORMED_JSON'),
    ));

  it('buy-now: a body that is no JSON object → 400 VALIDATION_FAILED', () =>
    holds(300, nonObjectJson, (payload) => refusesBuyNow(buyNowOf({ payload }), 400, 'VALIDATION_FAILED')));

  it('buy-now: wrong types (buyerId not a string, quantity not an integer) → 400 VALIDATION_FAILED', () =>
    holds(
      600,
      fc.oneof(
        fc
          .tuple(nonString, fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }))
          .map(([buyerId, quantity]) => ({
            buyerId,
            ...(quantity === undefined ? {} : { quantity }),
          })),
        fc.tuple(validId, nonInteger).map(([buyerId, quantity]) => ({ buyerId, quantity })),
      ),
      (body) => refusesBuyNow(buyNowOf({ payload: JSON.stringify(body) }), 400, 'VALIDATION_FAILED'),
    ));

  it('buy-now: extra properties → 400 VALIDATION_FAILED', () =>
    holds(
      500,
      fc.tuple(
        buyerBody,
        fc.dictionary(extraPropertyName(['buyerId', 'quantity']), fc.jsonValue(), { minKeys: 1, maxKeys: 3 }),
      ),
      ([body, extra]) =>
        refusesBuyNow(buyNowOf({ payload: JSON.stringify({ ...extra, ...body }) }), 400, 'VALIDATION_FAILED'),
    ));

  it('buy-now: quantity out of range (< 1 or > 1000) → 400 VALIDATION_FAILED', () =>
    holds(400, fc.tuple(validId, integerOutside(1, 1000)), ([buyerId, quantity]) =>
      refusesBuyNow(buyNowOf({ payload: JSON.stringify({ buyerId, quantity }) }), 400, 'VALIDATION_FAILED'),
    ));

  it("buy-now: a quantity above the item's per-buyer limit → 400 QUANTITY_ABOVE_LIMIT", () =>
    holds(
      400,
      fc.tuple(validId, fc.integer({ min: PER_BUYER_LIMIT + 1, max: 1000 })),
      ([buyerId, quantity]) =>
        refusesBuyNow(
          buyNowOf({ payload: JSON.stringify({ buyerId, quantity }) }),
          400,
          'QUANTITY_ABOVE_LIMIT',
        ),
    ));

  it('buy-now: a buyerId too long, empty, or with unicode or control characters → 400 VALIDATION_FAILED', () =>
    holds(
      600,
      badIdSegment.map((segment) => ({ buyerId: decodeURIComponent(segment) })),
      (body) => refusesBuyNow(buyNowOf({ payload: JSON.stringify(body) }), 400, 'VALIDATION_FAILED'),
    ));

  it(`buy-now: a body over ${BODY_LIMIT_BYTES} bytes → 413 PAYLOAD_TOO_LARGE`, () =>
    holds(300, oversizedJson(BODY_LIMIT_BYTES), (payload) =>
      refusesBuyNow(buyNowOf({ payload }), 413, 'PAYLOAD_TOO_LARGE'),
    ));

  it('buy-now: a body of another media type, or of none → 415 UNSUPPORTED_MEDIA_TYPE', () =>
    holds(500, fc.tuple(fc.option(unsupportedMediaType, { nil: null }), buyerBody), ([contentType, body]) =>
      refusesBuyNow(buyNowOf({ contentType, payload: JSON.stringify(body) }), 415, 'UNSUPPORTED_MEDIA_TYPE'),
    ));

  it('buy-now: no Idempotency-Key, or one too short, too long or with other characters → 400 IDEMPOTENCY_KEY_REQUIRED', () =>
    holds(600, fc.tuple(fc.option(badIdempotencyKey, { nil: null }), buyerBody), ([idempotencyKey, body]) =>
      refusesBuyNow(
        buyNowOf({ idempotencyKey, payload: JSON.stringify(body) }),
        400,
        'IDEMPOTENCY_KEY_REQUIRED',
      ),
    ));

  it('buy-now: a Prefer header over 100 characters → 400 VALIDATION_FAILED', () =>
    holds(300, fc.tuple(overlongPrefer, buyerBody), ([prefer, body]) =>
      refusesBuyNow(buyNowOf({ prefer, payload: JSON.stringify(body) }), 400, 'VALIDATION_FAILED'),
    ));

  it('buy-now: a bad item id in the path (also past the router limit, or badly percent-encoded) → 400 VALIDATION_FAILED', () =>
    holds(500, fc.tuple(badPathSegment, buyerBody), ([s, body]) =>
      refusesBuyNow(buyNowOf({ itemSegment: s, payload: JSON.stringify(body) }), 400, 'VALIDATION_FAILED'),
    ));

  it('buy-now: an item nobody listed → 404 ITEM_NOT_FOUND', () =>
    holds(400, fc.tuple(unknownId, buyerBody, goodIdempotencyKey), ([id, body, idempotencyKey]) =>
      refusesBuyNow(
        buyNowOf({ itemSegment: encodeURIComponent(id), idempotencyKey, payload: JSON.stringify(body) }),
        404,
        'ITEM_NOT_FOUND',
      ),
    ));

  // ---- reads ---------------------------------------------------------------------------------------------

  const queryString = fc
    .dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 3 })
    .map((q) => new URLSearchParams(q).toString());

  it('GET /purchases/:id: a bad id → 400 VALIDATION_FAILED, an unknown one → 404 PURCHASE_NOT_FOUND', () =>
    holds(
      600,
      fc.tuple(
        fc.oneof(
          badPathSegment.map((s) => ({ s, status: 400, code: 'VALIDATION_FAILED' })),
          unknownId.map((id) => ({ s: encodeURIComponent(id), status: 404, code: 'PURCHASE_NOT_FOUND' })),
        ),
        queryString,
      ),
      async ([{ s, status, code }, query]) =>
        expectRefusal(
          await inject(app(), { method: 'GET', url: `/purchases/${s}${query ? `?${query}` : ''}` }),
          status,
          code,
        ),
    ));

  it('GET /items/:id: a bad id → 400 VALIDATION_FAILED, an unknown one → 404 ITEM_NOT_FOUND', () =>
    holds(
      600,
      fc.tuple(
        fc.oneof(
          badPathSegment.map((s) => ({ s, status: 400, code: 'VALIDATION_FAILED' })),
          unknownId.map((id) => ({ s: encodeURIComponent(id), status: 404, code: 'ITEM_NOT_FOUND' })),
        ),
        queryString,
      ),
      async ([{ s, status, code }, query]) =>
        expectRefusal(
          await inject(app(), { method: 'GET', url: `/items/${s}${query ? `?${query}` : ''}` }),
          status,
          code,
        ),
    ));

  it('GET /items and GET /api/auction/items ignore any query string: 200 with the very same body', () =>
    holds(400, fc.tuple(fc.boolean(), queryString), async ([seed, query]) => {
      const answer = await inject(app(), {
        method: 'GET',
        url: `${seed ? '/api/auction/items' : '/items'}${query ? `?${query}` : ''}`,
      });
      const expected = seed ? seedItemsAnswer : itemsAnswer;
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: expected.body });
    }));

  it('a method a route does not have, or a path no route has → 404 NOT_FOUND', () =>
    holds(
      400,
      fc.oneof(
        fc.tuple(
          fc.constantFrom<'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS'>('PUT', 'PATCH', 'DELETE', 'OPTIONS'),
          fc.constantFrom(
            () => '/items',
            () => `/items/${itemId}`,
            () => `/items/${itemId}/buy-now`,
            () => '/purchases/p-1',
            () => '/admin/items',
            () => `/admin/items/${itemId}/stock`,
            () => '/api/auction/items',
            () => '/api/auction/buy-now',
            () => '/healthz',
          ),
        ),
        fc.tuple(
          fc.constant('POST' as const),
          fc.constantFrom(
            () => '/items',
            () => `/items/${itemId}`,
            () => '/purchases/p-1',
            () => '/api/auction/items',
          ),
        ),
        fc.tuple(
          fc.constant('GET' as const),
          fc.constantFrom(
            () => `/items/${itemId}/buy-now`,
            () => '/admin/items',
            () => `/admin/items/${itemId}/stock`,
            () => '/api/auction/buy-now',
          ),
        ),
        fc.tuple(
          fc.constantFrom<'GET' | 'POST' | 'DELETE'>('GET', 'POST', 'DELETE'),
          fc.webPath().map((path) => () => `/zz-fuzz${path}`),
        ),
      ),
      async ([method, path]) => expectRefusal(await inject(app(), { method, url: path() }), 404, 'NOT_FOUND'),
    ));

  // ---- admin ---------------------------------------------------------------------------------------------

  const anyBody = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
    fc.constant(JSON.stringify({ title: 'Forged', priceMinor: 1, currency: 'EUR', stock: 5 })),
    fc.constant(JSON.stringify({ delta: 5 })),
    fc.string({ maxLength: 100 }),
    oversizedJson(BODY_LIMIT_BYTES),
  );

  it('admin: no token or a wrong one, whatever the body → 401 UNAUTHORIZED (checked before the body)', () =>
    holds(
      1_000,
      fc.tuple(
        badAdminAuthorization(ADMIN_TOKEN),
        fc.constantFrom(
          () => '/admin/items',
          () => `/admin/items/${itemId}/stock`,
          () => '/admin/items/zz-unknown/stock',
        ),
        anyBody,
        fc.option(unsupportedMediaType, { nil: 'application/json' }),
      ),
      async ([authorization, path, payload, contentType]) =>
        expectRefusal(
          await inject(app(), {
            method: 'POST',
            url: path(),
            headers: {
              'content-type': contentType,
              ...(authorization === undefined ? {} : { authorization }),
            },
            payload,
          }),
          401,
          'UNAUTHORIZED',
        ),
    ));

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  const listingBody = fc.record(
    {
      title: fc.string({ minLength: 1, maxLength: 200 }),
      priceMinor: fc.integer({ min: 0, max: 1_000_000 }),
      currency: fc.stringMatching(/^[A-Z]{3}$/),
      stock: fc.integer({ min: 0, max: 1000 }),
      perBuyerLimit: fc.integer({ min: 1, max: 1000 }),
      startsAt: fc
        .date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString()),
    },
    { requiredKeys: ['title', 'priceMinor', 'currency', 'stock'] },
  );

  /** One rule of the listing schema broken, for certain. */
  const brokenListing = fc.tuple(listingBody, fc.nat()).chain(([body, pick]) => {
    const without = (field: string) => {
      const copy: Record<string, unknown> = { ...body };
      delete copy[field];
      return copy;
    };
    const withField = (field: string, values: fc.Arbitrary<unknown>) =>
      values.map((value) => ({ ...body, [field]: value }));
    const breakers: fc.Arbitrary<Record<string, unknown>>[] = [
      fc.constantFrom('title', 'priceMinor', 'currency', 'stock').map(without),
      withField('title', fc.oneof(fc.constant(''), fc.string({ minLength: 201, maxLength: 260 }), nonString)),
      withField('priceMinor', fc.oneof(nonInteger, integerOutside(0, 1_000_000_000_000))),
      withField(
        'currency',
        fc.oneof(
          nonString,
          fc.string({ maxLength: 6 }).filter((c) => !/^[A-Z]{3}$/.test(c)),
        ),
      ),
      withField('stock', fc.oneof(nonInteger, integerOutside(0, 10_000_000))),
      withField('perBuyerLimit', fc.oneof(nonInteger, integerOutside(1, 1000))),
      withField(
        'startsAt',
        fc.oneof(
          nonString,
          fc.stringMatching(/^[a-z ]{0,30}$/),
          fc.constantFrom('2026-13-01T00:00:00Z', 'tomorrow', '1700000000000'),
        ),
      ),
      withField(
        'itemId',
        fc.oneof(
          nonString,
          badIdSegment.map((s) => decodeURIComponent(s)),
        ),
      ),
      fc
        .dictionary(
          extraPropertyName([
            'itemId',
            'title',
            'priceMinor',
            'currency',
            'stock',
            'perBuyerLimit',
            'startsAt',
          ]),
          fc.jsonValue(),
          { minKeys: 1, maxKeys: 2 },
        )
        .map((extra) => ({ ...extra, ...body })),
    ];
    return breakers[pick % breakers.length] as fc.Arbitrary<Record<string, unknown>>;
  });

  it('admin listing with the token: each broken rule → 400 VALIDATION_FAILED; bad JSON 400, too big 413, wrong type 415', () =>
    holds(
      800,
      fc.oneof(
        brokenListing.map((body) => ({
          payload: JSON.stringify(body),
          type: 'application/json',
          status: 400,
          code: 'VALIDATION_FAILED',
        })),
        nonObjectJson.map((payload) => ({
          payload,
          type: 'application/json',
          status: 400,
          code: 'VALIDATION_FAILED',
        })),
        malformedJson(listingBody).map((payload) => ({
          payload,
          type: 'application/json',
          status: 400,
          code: 'MALFORMED_JSON',
        })),
        oversizedJson(BODY_LIMIT_BYTES).map((payload) => ({
          payload,
          type: 'application/json',
          status: 413,
          code: 'PAYLOAD_TOO_LARGE',
        })),
        fc.tuple(listingBody, unsupportedMediaType).map(([body, type]) => ({
          payload: JSON.stringify(body),
          type,
          status: 415,
          code: 'UNSUPPORTED_MEDIA_TYPE',
        })),
      ),
      async ({ payload, type, status, code }) =>
        expectRefusal(
          await inject(app(), {
            method: 'POST',
            url: '/admin/items',
            headers: { ...admin, 'content-type': type },
            payload,
          }),
          status,
          code,
        ),
    ));

  it('admin listing of an item already listed → 409 ITEM_EXISTS', () =>
    holds(200, listingBody, async (body) =>
      expectRefusal(
        await inject(app(), {
          method: 'POST',
          url: '/admin/items',
          headers: { ...admin, 'content-type': 'application/json' },
          payload: JSON.stringify({ ...body, itemId }),
        }),
        409,
        'ITEM_EXISTS',
      ),
    ));

  it('admin stock with the token: a bad delta or path → 400, an unknown item → 404 ITEM_NOT_FOUND', () =>
    holds(
      600,
      fc.oneof(
        fc
          .oneof(
            fc.constant({ delta: 0 }),
            fc.constant({}),
            nonInteger.map((delta) => ({ delta })),
            integerOutside(-10_000_000, 10_000_000).map((delta) => ({ delta })),
            fc
              .tuple(
                fc.integer({ min: 1, max: 10 }),
                fc.dictionary(extraPropertyName(['delta']), fc.jsonValue(), { minKeys: 1, maxKeys: 2 }),
              )
              .map(([delta, extra]) => ({ ...extra, delta })),
          )
          .map((body) => ({
            segment: encodeURIComponent(itemId),
            payload: JSON.stringify(body),
            status: 400,
            code: 'VALIDATION_FAILED',
          })),
        badPathSegment.map((segment) => ({
          segment,
          payload: '{"delta":5}',
          status: 400,
          code: 'VALIDATION_FAILED',
        })),
        fc
          .tuple(
            unknownId,
            fc.integer({ min: -10_000_000, max: 10_000_000 }).filter((d) => d !== 0),
          )
          .map(([id, delta]) => ({
            segment: encodeURIComponent(id),
            payload: JSON.stringify({ delta }),
            status: 404,
            code: 'ITEM_NOT_FOUND',
          })),
      ),
      async ({ segment, payload, status, code }) =>
        expectRefusal(
          await inject(app(), {
            method: 'POST',
            url: `/admin/items/${segment}/stock`,
            headers: { ...admin, 'content-type': 'application/json' },
            payload,
          }),
          status,
          code,
        ),
    ));

  // ---- the seed project's API ----------------------------------------------------------------------------

  const seedBody = fc.record({ itemId: unknownId, userId: validId });

  it('seed buy-now: a bad body → 400 in the error shape, an unknown item → 404 ITEM_NOT_FOUND', () =>
    holds(
      600,
      fc.oneof(
        fc
          .oneof(
            seedBody.map(({ userId }) => ({ userId })),
            seedBody.map(({ itemId: id }) => ({ itemId: id })),
            fc.tuple(nonString, validId).map(([id, userId]) => ({ itemId: id, userId })),
            fc.tuple(validId, nonString).map(([id, userId]) => ({ itemId: id, userId })),
            fc.tuple(badIdSegment, validId).map(([s, userId]) => ({ itemId: decodeURIComponent(s), userId })),
            fc
              .tuple(badIdSegment, fc.constant(true))
              .map(([s]) => ({ itemId: itemId, userId: decodeURIComponent(s) })),
            fc
              .tuple(
                seedBody,
                fc.dictionary(extraPropertyName(['itemId', 'userId']), fc.jsonValue(), {
                  minKeys: 1,
                  maxKeys: 2,
                }),
              )
              .map(([body, extra]) => ({ ...extra, ...body, itemId })),
          )
          .map((body) => ({ payload: JSON.stringify(body), status: 400, code: 'VALIDATION_FAILED' })),
        nonObjectJson.map((payload) => ({ payload, status: 400, code: 'VALIDATION_FAILED' })),
        malformedJson(seedBody).map((payload) => ({ payload, status: 400, code: 'MALFORMED_JSON' })),
        oversizedJson(BODY_LIMIT_BYTES).map((payload) => ({
          payload,
          status: 413,
          code: 'PAYLOAD_TOO_LARGE',
        })),
        seedBody.map((body) => ({ payload: JSON.stringify(body), status: 404, code: 'ITEM_NOT_FOUND' })),
      ),
      async ({ payload, status, code }) =>
        expectRefusal(
          await inject(app(), {
            method: 'POST',
            url: '/api/auction/buy-now',
            headers: { 'content-type': 'application/json' },
            payload,
          }),
          status,
          code,
        ),
    ));
});

// ---- GET /ws -----------------------------------------------------------------------------------------------

interface BadMessage {
  /** Sent as a text frame, or as a binary frame when binary. */
  text: string;
  binary?: boolean;
  code: string;
}

const wsMalformed = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 100, unit: 'grapheme' }),
    fc.constantFrom('{', '{"subscribe":', '[1,'),
  )
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  })
  .map((text): BadMessage => ({ text, code: 'MALFORMED_JSON' }));

const wsInvalid = fc
  .oneof(
    nonObjectJson,
    fc.constant('{}'),
    fc.constantFrom('subscribe', 'unsubscribe', 'watch').chain((field) =>
      fc
        .oneof(
          nonString.filter((v) => !Array.isArray(v)),
          fc
            .array(
              fc.oneof(
                nonString,
                badIdSegment.map((s) => decodeURIComponent(s)),
              ),
              { minLength: 1, maxLength: 3 },
            )
            .filter((ids) => ids.some((id) => id !== '*')),
          fc.constant(field === 'watch' ? ['*'] : [42]),
        )
        .map((value) => JSON.stringify({ [field]: value })),
    ),
  )
  .map((text): BadMessage => ({ text, code: 'INVALID_MESSAGE' }));

const wsUnknownField = fc
  .tuple(
    fc.dictionary(extraPropertyName(['subscribe', 'unsubscribe', 'watch']), fc.jsonValue({ maxDepth: 1 }), {
      minKeys: 1,
      maxKeys: 2,
    }),
    fc.boolean(),
  )
  .map(([extra, withSubscribe]): BadMessage => ({
    text: JSON.stringify({ ...extra, ...(withSubscribe ? { subscribe: ['*'] } : {}) }),
    code: 'UNKNOWN_FIELD',
  }));

const wsTooMany = fc
  .tuple(fc.constantFrom('subscribe', 'watch'), fc.integer({ min: 1, max: 20 }))
  .map(([field, over]): BadMessage => {
    const max = field === 'subscribe' ? WS_MAX_SUBSCRIPTIONS : WS_MAX_WATCHES;
    const ids = Array.from({ length: max + over }, (_, i) => `z${i}`);
    // The listed item and "*" among them: were the refused subscription applied, stock frames would come.
    if (field === 'subscribe') ids.push('*', itemId);
    return {
      text: JSON.stringify({ [field]: ids }),
      code: field === 'subscribe' ? 'TOO_MANY_SUBSCRIPTIONS' : 'TOO_MANY_WATCHES',
    };
  });

const wsBinary = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes): BadMessage => ({
  text: Buffer.from(bytes).toString('latin1'),
  binary: true,
  code: 'INVALID_MESSAGE',
}));

const wsBad = fc.oneof(wsMalformed, wsInvalid, wsUnknownField, wsTooMany, wsBinary);

describe('GET /ws fuzzing: bad messages → exact error frames, then 1008; oversized → 1009', () => {
  const clients: LiveClient[] = [];
  const connect = async () => {
    const client = await openLiveClient(liveUrl(system.baseUrl));
    clients.push(client);
    return client;
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it(`answers each bad message with its error frame, keeps the connection as it was, and closes (1008) at the ${WS_MAX_BAD_MESSAGES}th`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(wsBad, { minLength: 1, maxLength: WS_MAX_BAD_MESSAGES }),
        fc.array(unknownId, { maxLength: 2 }),
        async (bad, unknownWatches) => {
          cases += bad.length;
          const client = await connect();
          for (const message of bad) {
            if (message.binary) client.socket.send(Buffer.from(message.text, 'latin1'), { binary: true });
            else client.sendRaw(message.text);
          }
          const expected = bad.map((m) => m.code);
          if (bad.length === WS_MAX_BAD_MESSAGES) {
            expect((await client.closed).code).toBe(1008);
            expect(client.errors().map((e) => e.code)).toEqual(expected);
            expect(client.stockReceived()).toEqual([]);
            return;
          }
          // Watching a purchase nobody made is answered, and not counted as a bad message.
          for (const id of unknownWatches) client.send({ watch: [id] });
          expected.push(...unknownWatches.map(() => 'PURCHASE_NOT_FOUND'));
          cases += unknownWatches.length;
          await client.until(`${expected.length} error frames`, () =>
            client.errors().length >= expected.length ? true : undefined,
          );
          expect(client.errors().map((e) => e.code)).toEqual(expected);
          // Nothing was subscribed by a refused message: the first stock frame is the one asked for now.
          client.send({ subscribe: [itemId] });
          const [view] = await client.until('the stock frame', () => {
            const views = client.stock(itemId);
            return views.length > 0 ? views : undefined;
          });
          expect(view?.itemId).toBe(itemId);
          expect(client.received.filter((r) => r.message.type === 'stock')).toHaveLength(1);
          expect(client.isClosed()).toBe(false);
          await client.close();
        },
      ),
      { seed: fuzz.seed, numRuns: fuzz.runs(120) },
    );
    expect(await snapshotState(system)).toEqual(baseline);
  });

  it(`closes a connection (1009) on a message over ${WS_MAX_MESSAGE_BYTES} bytes, whatever it holds`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: WS_MAX_MESSAGE_BYTES + 1, max: 4 * WS_MAX_MESSAGE_BYTES }),
        fc.constantFrom('json', 'garbage', 'subscribe'),
        async (bytes, kind) => {
          cases++;
          const client = await connect();
          const filler = 'x'.repeat(bytes);
          const text =
            kind === 'json'
              ? JSON.stringify({ subscribe: [itemId], note: filler })
              : kind === 'subscribe'
                ? JSON.stringify({
                    subscribe: Array.from({ length: Math.ceil(bytes / 8) }, (_, i) => `i${i}`),
                  })
                : filler;
          client.sendRaw(text);
          expect((await client.closed).code).toBe(1009);
          expect(client.stockReceived()).toEqual([]);
        },
      ),
      { seed: fuzz.seed, numRuns: fuzz.runs(40) },
    );
    expect(await snapshotState(system)).toEqual(baseline);
  });
});

// ---- buyer tokens (the buyer authentication contract) ------------------------------------------------------

/** The system's gateway verifies buyer tokens with this secret. */
const FUZZ_BUYER_TOKEN_SECRET = BUYER_TOKEN_SECRET;

const base64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function jwt(header: unknown, claims: unknown, secret: string | null): string {
  const unsigned = `${base64url(header)}.${base64url(claims)}`;
  const signature = secret === null ? '' : createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const buyerClaims = (buyerId: string, overrides: Record<string, unknown> = {}) => ({
  sub: buyerId,
  iat: nowSeconds() - 10,
  exp: nowSeconds() + 600,
  iss: 'buy-now',
  aud: 'buy-now:buyer',
  ...overrides,
});

/** Tokens the contract refuses, each with its exact answer. */
const badBuyerTokens = fc.tuple(validId, fc.nat()).chain(([buyerId, pick]) => {
  const invalid = (token: string) => ({
    buyerId,
    authorization: `Bearer ${token}`,
    status: 401,
    code: 'BUYER_TOKEN_INVALID',
  });
  const hs256 = { alg: 'HS256', typ: 'JWT' };
  const kinds: fc.Arbitrary<{
    buyerId: string;
    authorization: string | null;
    status: number;
    code: string;
  }>[] = [
    fc.constant({ buyerId, authorization: null, status: 401, code: 'BUYER_TOKEN_REQUIRED' }),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,60}(\.[A-Za-z0-9_-]{0,60}){0,3}$/).map(invalid),
    fc.constant(invalid(jwt({ alg: 'none', typ: 'JWT' }, buyerClaims(buyerId), null))),
    fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((s) => s !== FUZZ_BUYER_TOKEN_SECRET)
      .map((secret) => invalid(jwt(hs256, buyerClaims(buyerId), secret))),
    fc
      .constantFrom('HS384', 'HS512', 'RS256')
      .map((alg) => invalid(jwt({ alg, typ: 'JWT' }, buyerClaims(buyerId), FUZZ_BUYER_TOKEN_SECRET))),
    fc
      .constantFrom({ iss: 'someone-else' }, { aud: 'buy-now:admin' }, { exp: undefined }, { sub: '' })
      .map((o) => invalid(jwt(hs256, buyerClaims(buyerId, o), FUZZ_BUYER_TOKEN_SECRET))),
    // Expired by more than the clock skew the gateway allows.
    fc.integer({ min: DEFAULT_CLOCK_SKEW_SECONDS + 1, max: 10 * 24 * 3600 }).map((ago) => ({
      buyerId,
      authorization: `Bearer ${jwt(hs256, buyerClaims(buyerId, { iat: nowSeconds() - ago - 60, exp: nowSeconds() - ago }), FUZZ_BUYER_TOKEN_SECRET)}`,
      status: 401,
      code: 'BUYER_TOKEN_EXPIRED',
    })),
    validId
      .filter((other) => other !== buyerId)
      .map((other) => ({
        buyerId: other,
        authorization: `Bearer ${jwt(hs256, buyerClaims(buyerId), FUZZ_BUYER_TOKEN_SECRET)}`,
        status: 403,
        code: 'BUYER_MISMATCH',
      })),
  ];
  return kinds[pick % kinds.length] as (typeof kinds)[number];
});

describe('buy-now fuzzing of buyer tokens', () => {
  it('garbage, alg none, wrong signature or claims, expired → 401 codes; another buyer → 403', () =>
    holds(500, badBuyerTokens, ({ buyerId, authorization, status, code }) =>
      refusesBuyNow(buyNowOf({ payload: JSON.stringify({ buyerId }), authorization }), status, code),
    ));
});

describe('after the fuzzing', () => {
  it(`sent at least ${MIN_CASES} cases, changed nothing, and the item still sells`, async () => {
    console.info(`HTTP and WebSocket fuzzing: ${cases} cases, seed ${fuzz.seed}`);
    if (!fuzz.runsOverridden) expect(cases).toBeGreaterThanOrEqual(MIN_CASES);
    expect(await snapshotState(system)).toEqual(baseline);
    // What the snapshot holds is what a purchase changes: the gate, item-commands, and later SQL.
    expect(Object.keys(baseline.redis).some((key) => key.endsWith(`{item:${itemId}}:gate`))).toBe(true);
    expect(baseline.sql['items']).toHaveLength(1);
    const ready = await inject(app(), { method: 'GET', url: '/readyz' });
    expect(ready.status, ready.text).toBe(200);
    const answer = await injectBuyNow(
      app(),
      buyNowOf({ prefer: 'wait=10', payload: JSON.stringify({ buyerId: 'fuzz-buyer', quantity: 2 }) }),
    );
    expect({ status: answer.status, body: answer.body }).toMatchObject({
      status: 201,
      body: { status: 'confirmed', quantity: 2, itemId },
    });
    const after = await snapshotState(system);
    expect(after.itemCommands).not.toEqual(baseline.itemCommands);
    expect(after.sql['purchases']).toHaveLength(1);
  });
});
