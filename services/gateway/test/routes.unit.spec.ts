// The gateway's HTTP contract through app.inject() over in-memory ports: which status and stable error
// code each outcome of buy-now, purchases, items and the admin routes gets, in the one error shape.
// The integration suites prove the same answers against the real Kafka, Redis and SQL.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadModelError } from '@buy-now/read-model';
import { CommandNotPublishedError, type ItemView } from '../src/domain/ports.js';
import { PurchaseGateError } from '../src/domain/purchase-gate-error.js';
import type { PurchaseRecord } from '../src/domain/purchase-gate.js';
import {
  buildTestApp,
  TEST_ADMIN_TOKEN,
  TEST_START,
  type RequestTimeSettings,
  type TestApp,
  type TestAppOverrides,
} from './support/fakes.js';

// One app for the file: building one takes far longer than the requests of a test. Every test starts
// from fresh fakes, a fresh clock and fresh ids; the few that need another build make their own.
let shared: TestApp;

beforeAll(async () => {
  shared = await buildTestApp();
});

afterAll(async () => {
  await shared.app.close();
});

/** The shared app, with every fake as new and these settings. */
function start(settings: RequestTimeSettings = {}): TestApp {
  shared.reset(settings);
  return shared;
}

/** An app of its own, for a setting fixed when the app is built; closed after `use`. */
async function withOwnApp(overrides: TestAppOverrides, use: (t: TestApp) => Promise<void>): Promise<void> {
  const own = await buildTestApp(overrides);
  try {
    await use(own);
  } finally {
    await own.app.close();
  }
}

/** The one error shape: exactly {error: {code, message}}, as JSON. */
function expectError(answer: LightMyRequestResponse, status: number, code: string): void {
  expect({ status: answer.statusCode, body: answer.json<unknown>() }).toEqual({
    status,
    body: { error: { code, message: expect.any(String) as string } },
  });
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
}

const KEY = 'buy-key-0001';

function buy(
  t: TestApp,
  options: { itemId?: string; buyerId?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  return t.app.inject({
    method: 'POST',
    url: `/items/${options.itemId ?? 'item-1'}/buy-now`,
    headers: { 'idempotency-key': KEY, ...t.asBuyer(options.buyerId ?? 'buyer-1'), ...options.headers },
    payload: (options.body ?? { quantity: 1 }) as Record<string, unknown>,
  });
}

const purchase = (overrides: Partial<PurchaseRecord> = {}): PurchaseRecord => ({
  purchaseId: 'p-original',
  itemId: 'item-1',
  buyerId: 'buyer-1',
  quantity: 1,
  status: 'pending',
  admittedAt: TEST_START - 1_000,
  admissionSeq: 7,
  idempotencyKey: KEY,
  ...overrides,
});

const itemView = (overrides: Partial<ItemView> = {}): ItemView => ({
  itemId: 'item-1',
  title: 'Lamp',
  priceMinor: 4_999,
  currency: 'EUR',
  perBuyerLimit: 2,
  startsAt: null,
  listed: 10,
  available: 7,
  sold: 3,
  status: 'live',
  version: 4,
  ...overrides,
});

describe('POST /items/:id/buy-now', () => {
  it('answers 202 with the pending purchase and its status URL once the command is acknowledged', async () => {
    const t = start();
    const answer = await buy(t, { body: { quantity: 2 } });

    expect(answer.statusCode).toBe(202);
    expect(answer.json()).toEqual({
      purchaseId: 'id-1',
      itemId: 'item-1',
      buyerId: 'buyer-1',
      quantity: 2,
      status: 'pending',
      statusUrl: '/purchases/id-1',
    });
    expect(answer.headers.location).toBe('/purchases/id-1');
    expect(answer.headers['preference-applied']).toBeUndefined();
    expect(t.commands.published).toEqual([
      {
        name: 'BuyRequested',
        value: {
          purchaseId: 'id-1',
          itemId: 'item-1',
          buyerId: 'buyer-1',
          quantity: 2,
          idempotencyKey: KEY,
          admittedAt: TEST_START,
          admissionSeq: 1,
          gatewayId: 'gateway-under-test',
        },
      },
    ]);
    expect(t.gate.statusOf('id-1')).toBe('pending');
  });

  it("buys for the token's buyer, one unit when the body names no quantity", async () => {
    const t = start();
    const answer = await buy(t, { buyerId: 'buyer-7', body: {} });
    expect(answer.statusCode).toBe(202);
    expect(answer.json()).toMatchObject({ buyerId: 'buyer-7', quantity: 1 });
    expect(t.gate.admitRequests.map((r) => [r.buyerId, r.quantity])).toEqual([['buyer-7', 1]]);
  });

  it('accepts a body buyerId equal to the token’s, and refuses another with 403 BUYER_MISMATCH', async () => {
    const t = start();
    expect((await buy(t, { body: { buyerId: 'buyer-1', quantity: 1 } })).statusCode).toBe(202);
    const other = await buy(t, { body: { buyerId: 'buyer-2', quantity: 1 } });
    expectError(other, 403, 'BUYER_MISMATCH');
    expect(t.gate.admitRequests).toHaveLength(1);
  });

  describe('a retry with the same Idempotency-Key', () => {
    it.each(['pending', 'confirmed'] as const)(
      'gets the %s original back with 202 and publishes nothing',
      async (status) => {
        const t = start();
        t.gate.answer = { kind: 'replay', purchase: purchase({ status }) };
        const answer = await buy(t);
        expect(answer.statusCode).toBe(202);
        expect(answer.json()).toEqual({
          purchaseId: 'p-original',
          itemId: 'item-1',
          buyerId: 'buyer-1',
          quantity: 1,
          status,
          statusUrl: '/purchases/p-original',
        });
        expect(answer.headers.location).toBe('/purchases/p-original');
        expect(t.commands.published).toEqual([]);
      },
    );

    it('gets 201 for a confirmed original when it asked to wait, without waiting', async () => {
      const t = start();
      t.gate.answer = { kind: 'replay', purchase: purchase({ status: 'confirmed' }) };
      const answer = await buy(t, { headers: { prefer: 'wait=5' } });
      expect(answer.statusCode).toBe(201);
      expect(answer.json()).toMatchObject({ purchaseId: 'p-original', status: 'confirmed' });
      expect(t.decisions.watches).toEqual([]);
    });

    it('gets 409 with the reason for a rejected original', async () => {
      const t = start();
      t.gate.answer = { kind: 'replay', purchase: purchase({ status: 'rejected', reason: 'SOLD_OUT' }) };
      const answer = await buy(t);
      expect(answer.statusCode).toBe(409);
      expect(answer.json()).toEqual({
        status: 'rejected',
        reason: 'SOLD_OUT',
        purchaseId: 'p-original',
        error: { code: 'SOLD_OUT', message: expect.any(String) as string },
      });
    });

    it('points a DUPLICATE_REQUEST rejection to the purchase the key already made', async () => {
      const t = start();
      t.gate.answer = {
        kind: 'replay',
        purchase: purchase({
          status: 'rejected',
          reason: 'DUPLICATE_REQUEST',
          originalPurchaseId: 'p-first',
        }),
      };
      const answer = await buy(t);
      expect(answer.statusCode).toBe(409);
      expect(answer.json()).toMatchObject({
        reason: 'DUPLICATE_REQUEST',
        purchaseId: 'p-original',
        originalPurchaseId: 'p-first',
        error: { code: 'DUPLICATE_REQUEST' },
      });
    });

    it.each(['admitted', 'withdrawn'] as const)(
      'gets 503 PURCHASE_IN_PROGRESS with Retry-After while the original is %s',
      async (status) => {
        const t = start();
        t.gate.answer = { kind: 'replay', purchase: purchase({ status }) };
        const answer = await buy(t);
        expectError(answer, 503, 'PURCHASE_IN_PROGRESS');
        expect(answer.headers['retry-after']).toBe('1');
        expect(t.commands.published).toEqual([]);
      },
    );

    it('with another body gets 422 IDEMPOTENCY_KEY_REUSED', async () => {
      const t = start();
      t.gate.answer = { kind: 'idempotency-conflict', purchaseId: 'p-original' };
      expectError(await buy(t), 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(t.commands.published).toEqual([]);
    });
  });

  describe('a refusal at the gate', () => {
    it.each(['SOLD_OUT', 'LIMIT_EXCEEDED', 'NOT_STARTED'] as const)(
      'is 409 with %s as reason and error code, and publishes nothing',
      async (reason) => {
        const t = start();
        t.gate.answer = {
          kind: 'rejected',
          reason,
          available: 0,
          perBuyerLimit: 2,
          version: 12,
          ...(reason === 'NOT_STARTED' ? { startsAt: TEST_START + 60_000 } : {}),
        };
        const answer = await buy(t);
        expect(answer.statusCode).toBe(409);
        expect(answer.json()).toEqual({
          status: 'rejected',
          reason,
          available: 0,
          itemVersion: 12,
          error: { code: reason, message: expect.any(String) as string },
        });
        expect(answer.headers.location).toBeUndefined();
        expect(t.commands.published).toEqual([]);
      },
    );

    it('is 400 QUANTITY_ABOVE_LIMIT when the quantity alone is above the limit per buyer', async () => {
      const t = start();
      t.gate.answer = { kind: 'rejected', reason: 'LIMIT_EXCEEDED', available: 5, perBuyerLimit: 2 };
      expectError(await buy(t, { body: { quantity: 3 } }), 400, 'QUANTITY_ABOVE_LIMIT');
    });

    it('is 404 ITEM_NOT_FOUND for an item the gate does not know', async () => {
      const t = start();
      t.gate.answer = { kind: 'unknown-item' };
      expectError(await buy(t), 404, 'ITEM_NOT_FOUND');
    });

    it('is 503 SERVICE_UNAVAILABLE for an unknown item while the gate is being rebuilt', async () => {
      const t = start();
      t.gate.answer = { kind: 'unknown-item' };
      t.gate.epoch = null;
      const answer = await buy(t);
      expectError(answer, 503, 'SERVICE_UNAVAILABLE');
      expect(answer.headers['retry-after']).toBe('1');
    });
  });

  describe('when the gate or the broker fails', () => {
    it('answers 503 SERVICE_UNAVAILABLE with Retry-After when the gate is unavailable', async () => {
      const t = start();
      t.gate.failWith = new PurchaseGateError('GATE_UNAVAILABLE', 'connection refused', { canRetry: true });
      const answer = await buy(t);
      expectError(answer, 503, 'SERVICE_UNAVAILABLE');
      expect(answer.headers['retry-after']).toBe('1');
      expect(t.commands.published).toEqual([]);
    });

    it('answers 500 INTERNAL, without the cause, for a gate defect', async () => {
      const t = start();
      t.gate.failWith = new PurchaseGateError('GATE_SCRIPT_FAILED', 'ERR secret-script-detail', {
        canRetry: false,
      });
      const answer = await buy(t);
      expectError(answer, 500, 'INTERNAL');
      expect(answer.body).not.toContain('secret-script-detail');
    });

    it('answers 503 SERVICE_UNAVAILABLE and gives the unit back when the command certainly was not sent', async () => {
      const t = start();
      t.commands.failWith = new CommandNotPublishedError('producer disconnected');
      const answer = await buy(t);
      expectError(answer, 503, 'SERVICE_UNAVAILABLE');
      expect(answer.headers['retry-after']).toBe('1');
      expect(t.gate.releases).toEqual([{ itemId: 'item-1', purchaseId: 'id-1', why: 'publish-failed' }]);
      expect(t.gate.statusOf('id-1')).toBe('withdrawn');
    });

    it('answers 503 PURCHASE_IN_PROGRESS when the unit could not be given back (the reconciler has it)', async () => {
      const t = start();
      t.commands.failWith = new CommandNotPublishedError('producer disconnected');
      t.gate.refuseRelease = true;
      const answer = await buy(t);
      expectError(answer, 503, 'PURCHASE_IN_PROGRESS');
      expect(t.gate.statusOf('id-1')).toBe('admitted');
    });

    it('answers 503 PURCHASE_IN_PROGRESS and keeps the unit when the publish may have reached the log', async () => {
      const t = start();
      t.commands.failWith = new Error('request timed out after the broker may have appended it');
      const answer = await buy(t);
      expectError(answer, 503, 'PURCHASE_IN_PROGRESS');
      expect(answer.headers['retry-after']).toBe('1');
      expect(t.gate.releases).toEqual([]);
      expect(t.gate.statusOf('id-1')).toBe('admitted');
    });
  });

  describe('the buyer token', () => {
    it('is required: 401 BUYER_TOKEN_REQUIRED with WWW-Authenticate, before limits and the gate', async () => {
      const t = start();
      const answer = await t.app.inject({
        method: 'POST',
        url: '/items/item-1/buy-now',
        headers: { 'idempotency-key': KEY },
        payload: { quantity: 1 },
      });
      expectError(answer, 401, 'BUYER_TOKEN_REQUIRED');
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="buy-now"');
      expect(t.limiter.taken).toEqual([]);
      expect(t.gate.admitRequests).toEqual([]);
    });

    it.each([
      ['not a JWT', () => 'Bearer not-a-jwt'],
      [
        'signed with another secret',
        (t: TestApp) => t.asBuyer('b1', { secret: 'x'.repeat(40) }).authorization,
      ],
      ['the admin token', () => `Bearer ${TEST_ADMIN_TOKEN}`],
    ])('refuses a token %s: 401 BUYER_TOKEN_INVALID', async (_name, authorization) => {
      const t = start();
      const answer = await buy(t, { headers: { authorization: authorization(t) } });
      expectError(answer, 401, 'BUYER_TOKEN_INVALID');
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="buy-now", error="invalid_token"');
      expect(t.gate.admitRequests).toEqual([]);
    });

    it('refuses an expired token: 401 BUYER_TOKEN_EXPIRED', async () => {
      const t = start();
      const { authorization } = t.asBuyer('buyer-1', { ttlSeconds: 60 });
      t.advance(60_000 + 31_000); // past the expiry and the 30 s of clock skew allowed
      const answer = await buy(t, { headers: { authorization } });
      expectError(answer, 401, 'BUYER_TOKEN_EXPIRED');
    });

    it('is checked before the body is read: no token and malformed JSON is 401', async () => {
      const t = start();
      const answer = await t.app.inject({
        method: 'POST',
        url: '/items/item-1/buy-now',
        headers: { 'idempotency-key': KEY, 'content-type': 'application/json' },
        payload: '{"quantity": ',
      });
      expectError(answer, 401, 'BUYER_TOKEN_REQUIRED');
    });
  });

  describe('the rate limits', () => {
    it("count the client address and the token's buyer", async () => {
      const t = start();
      await buy(t, { buyerId: 'buyer-9' });
      expect(t.limiter.taken.map((checks) => checks.map((c) => c.subject))).toEqual([
        ['buy:ip:127.0.0.1', 'buy:buyer:buyer-9'],
      ]);
    });

    it.each([
      [2_500, '3'],
      [10, '1'],
    ])('refuse with 429 RATE_LIMITED and Retry-After (%i ms → %s s)', async (retryAfterMs, header) => {
      const t = start();
      t.limiter.verdict = { allowed: false, retryAfterMs };
      const answer = await buy(t);
      expectError(answer, 429, 'RATE_LIMITED');
      expect(answer.headers['retry-after']).toBe(header);
      expect(t.gate.admitRequests).toEqual([]);
    });

    it('fail closed: 503 SERVICE_UNAVAILABLE when requests cannot be counted', async () => {
      const t = start();
      t.limiter.failWith = new Error('Redis connection lost');
      const answer = await buy(t);
      expectError(answer, 503, 'SERVICE_UNAVAILABLE');
      expect(answer.headers['retry-after']).toBe('1');
      expect(t.gate.admitRequests).toEqual([]);
    });
  });

  describe('a bad request', () => {
    it.each([
      ['quantity 0', { body: { quantity: 0 } }, 'VALIDATION_FAILED'],
      ['a negative quantity', { body: { quantity: -1 } }, 'VALIDATION_FAILED'],
      ['a fractional quantity', { body: { quantity: 1.5 } }, 'VALIDATION_FAILED'],
      ['a quantity as a string', { body: { quantity: '1' } }, 'VALIDATION_FAILED'],
      ['a quantity above 1000', { body: { quantity: 1_001 } }, 'VALIDATION_FAILED'],
      ['an unknown field', { body: { quantity: 1, price: 1 } }, 'VALIDATION_FAILED'],
      ['a malformed buyerId', { body: { buyerId: 'b 1', quantity: 1 } }, 'VALIDATION_FAILED'],
      ['a malformed item id', { itemId: 'bad%20id' }, 'VALIDATION_FAILED'],
      ['an item id of 65 characters', { itemId: 'i'.repeat(65) }, 'VALIDATION_FAILED'],
      ['an item id far too long for the router', { itemId: 'i'.repeat(500) }, 'VALIDATION_FAILED'],
      ['an item id that is not valid percent-encoding', { itemId: 'bad%E0%A4%A' }, 'VALIDATION_FAILED'],
      [
        'an Idempotency-Key of 7 characters',
        { headers: { 'idempotency-key': 'short-k' } },
        'IDEMPOTENCY_KEY_REQUIRED',
      ],
      [
        'an Idempotency-Key with a space',
        { headers: { 'idempotency-key': 'key with space' } },
        'IDEMPOTENCY_KEY_REQUIRED',
      ],
      [
        'a Prefer header over 100 characters',
        { headers: { prefer: `wait=1, ${'x'.repeat(100)}` } },
        'VALIDATION_FAILED',
      ],
    ])('is 400 for %s, with nothing admitted', async (_name, options, code) => {
      const t = start();
      expectError(await buy(t, options), 400, code);
      expect(t.gate.admitRequests).toEqual([]);
    });

    it('is 400 IDEMPOTENCY_KEY_REQUIRED without the header', async () => {
      const t = start();
      const answer = await t.app.inject({
        method: 'POST',
        url: '/items/item-1/buy-now',
        headers: t.asBuyer('buyer-1'),
        payload: { quantity: 1 },
      });
      expectError(answer, 400, 'IDEMPOTENCY_KEY_REQUIRED');
    });

    it.each([
      ['malformed JSON', 'application/json', '{"quantity": ', 400, 'MALFORMED_JSON'],
      ['an empty JSON body', 'application/json', '', 400, 'MALFORMED_JSON'],
      [
        'a body of another media type',
        'application/xml',
        '<quantity>1</quantity>',
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['a body without a media type', null, '{"quantity": 1}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      // Fastify parses text/plain itself, so the body reaches validation as a string: 400, not 415.
      ['a text/plain body', 'text/plain', '{"quantity": 1}', 400, 'VALIDATION_FAILED'],
      [
        'a body over the limit',
        'application/json',
        JSON.stringify({ note: 'x'.repeat(5_000) }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
    ])('is refused for %s', async (_name, contentType, payload, status, code) => {
      const t = start();
      const answer = await t.app.inject({
        method: 'POST',
        url: '/items/item-1/buy-now',
        headers: {
          'idempotency-key': KEY,
          ...(contentType === null ? {} : { 'content-type': contentType }),
          ...t.asBuyer('buyer-1'),
        },
        payload,
      });
      expectError(answer, status, code);
      expect(t.gate.admitRequests).toEqual([]);
    });
  });

  describe('with Prefer: wait', () => {
    it('answers 201 confirmed when the decision is announced during the wait', async () => {
      const t = start();
      const watched = t.decisions.holdNextWatch();
      const answering = buy(t, { headers: { prefer: 'wait=3' } });
      const watch = await watched;
      t.gate.decide(watch.purchaseId, 'confirmed');
      t.decisions.announce([watch.purchaseId]);
      const answer = await answering;

      expect(watch).toMatchObject({ purchaseId: 'id-1', timeoutMs: 3_000 });
      expect(answer.statusCode).toBe(201);
      expect(answer.headers['preference-applied']).toBe('wait=3');
      expect(answer.headers.location).toBe('/purchases/id-1');
      expect(answer.json()).toEqual({
        purchaseId: 'id-1',
        itemId: 'item-1',
        buyerId: 'buyer-1',
        quantity: 1,
        status: 'confirmed',
        statusUrl: '/purchases/id-1',
      });
    });

    it('answers 409 with the rejection when SQL rejected it during the wait', async () => {
      const t = start();
      const watched = t.decisions.holdNextWatch();
      const answering = buy(t, { headers: { prefer: 'wait=3' } });
      const watch = await watched;
      t.gate.decide(watch.purchaseId, 'rejected', 'SOLD_OUT');
      t.decisions.announce([watch.purchaseId]);
      const answer = await answering;

      expect(answer.statusCode).toBe(409);
      expect(answer.json()).toEqual({
        status: 'rejected',
        reason: 'SOLD_OUT',
        purchaseId: 'id-1',
        error: { code: 'SOLD_OUT', message: expect.any(String) as string },
      });
    });

    it('answers 201 without waiting when the purchase was decided before the watch looked', async () => {
      const t = start();
      // The decision lands between the publish and the wait.
      t.commands.onPublished = (command) => {
        if (command.name === 'BuyRequested')
          t.gate.putPurchase(purchase({ purchaseId: 'id-1', status: 'confirmed' }));
      };
      const answer = await buy(t, { headers: { prefer: 'wait=3' } });
      expect(answer.statusCode).toBe(201);
      expect(t.decisions.watches).toEqual([{ purchaseId: 'id-1', timeoutMs: 3_000, cancelled: true }]);
    });

    it('answers 202 pending when no decision comes within the wait', async () => {
      const t = start();
      const watched = t.decisions.holdNextWatch();
      const answering = buy(t, { headers: { prefer: 'wait=3' } });
      t.decisions.runOut((await watched).purchaseId);
      const answer = await answering;
      expect(answer.statusCode).toBe(202);
      expect(answer.headers['preference-applied']).toBe('wait=3');
      expect(answer.json()).toMatchObject({ purchaseId: 'id-1', status: 'pending' });
    });

    it('waits at most maxWaitSeconds, and says so in Preference-Applied', async () => {
      const t = start({ maxWaitSeconds: 2 });
      const answer = await buy(t, { headers: { prefer: 'respond-async, wait=600' } });
      expect(answer.statusCode).toBe(202);
      expect(answer.headers['preference-applied']).toBe('wait=2');
      expect(t.decisions.watches.map((w) => w.timeoutMs)).toEqual([2_000]);
    });

    it.each(['wait=0', 'wait=abc', 'respond-async', 'wait=1234567'])(
      'does not wait for "%s": 202 without Preference-Applied',
      async (prefer) => {
        const t = start();
        const answer = await buy(t, { headers: { prefer } });
        expect(answer.statusCode).toBe(202);
        expect(answer.headers['preference-applied']).toBeUndefined();
        expect(t.decisions.watches).toEqual([]);
      },
    );
  });
});

describe('GET /purchases/:id', () => {
  it('answers the purchase from the gate, by its id alone', async () => {
    const t = start();
    t.gate.putPurchase(purchase({ status: 'confirmed' }));
    const answer = await t.app.inject({ method: 'GET', url: '/purchases/p-original' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({
      purchaseId: 'p-original',
      itemId: 'item-1',
      buyerId: 'buyer-1',
      quantity: 1,
      status: 'confirmed',
      statusUrl: '/purchases/p-original',
    });
  });

  it.each([
    { held: purchase({ status: 'pending' }), shown: { status: 'pending' } },
    {
      held: purchase({ status: 'rejected', reason: 'SOLD_OUT' }),
      shown: { status: 'rejected', reason: 'SOLD_OUT' },
    },
    {
      held: purchase({ status: 'withdrawn', reason: 'publish-failed' }),
      shown: { status: 'rejected', reason: 'NOT_ACCEPTED' },
    },
    {
      held: purchase({ status: 'rejected', reason: 'DUPLICATE_REQUEST', originalPurchaseId: 'p-first' }),
      shown: { status: 'rejected', reason: 'DUPLICATE_REQUEST', originalPurchaseId: 'p-first' },
    },
  ])('shows a $held.status purchase as $shown.status ($shown.reason)', async ({ held, shown }) => {
    const t = start();
    t.gate.putPurchase(held);
    const answer = await t.app.inject({ method: 'GET', url: '/purchases/p-original' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({ ...purchaseBodyOf(held), ...shown });
  });

  it('falls back to the archive when the gate no longer has it', async () => {
    const t = start();
    t.archive.put(
      purchase({ purchaseId: 'p-old', status: 'confirmed', admittedAt: null, admissionSeq: null }),
    );
    const answer = await t.app.inject({ method: 'GET', url: '/purchases/p-old' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({
      purchaseId: 'p-old',
      status: 'confirmed',
      statusUrl: '/purchases/p-old',
    });
  });

  it('is 404 PURCHASE_NOT_FOUND when neither has it, also for an admission not yet acknowledged', async () => {
    const t = start();
    // Found by the gate only with its item until the broker acknowledged it.
    t.gate.putPurchase(purchase({ purchaseId: 'p-admitted', status: 'admitted' }));
    expectError(
      await t.app.inject({ method: 'GET', url: '/purchases/p-missing' }),
      404,
      'PURCHASE_NOT_FOUND',
    );
    expectError(
      await t.app.inject({ method: 'GET', url: '/purchases/p-admitted' }),
      404,
      'PURCHASE_NOT_FOUND',
    );
  });

  it('is 400 VALIDATION_FAILED for a malformed id and 503 when the gate is unavailable', async () => {
    const t = start();
    expectError(await t.app.inject({ method: 'GET', url: '/purchases/-bad' }), 400, 'VALIDATION_FAILED');
    t.gate.failWith = new PurchaseGateError('GATE_UNAVAILABLE', 'connection refused', { canRetry: true });
    const answer = await t.app.inject({ method: 'GET', url: '/purchases/p-original' });
    expectError(answer, 503, 'SERVICE_UNAVAILABLE');
    expect(answer.headers['retry-after']).toBe('1');
  });
});

function purchaseBodyOf(record: PurchaseRecord) {
  return {
    purchaseId: record.purchaseId,
    itemId: record.itemId,
    buyerId: record.buyerId,
    quantity: record.quantity,
    statusUrl: `/purchases/${record.purchaseId}`,
  };
}

describe('GET /items', () => {
  it('lists the read model’s items and answers one, startsAt as an ISO date', async () => {
    const t = start();
    t.items.put(itemView());
    t.items.put(itemView({ itemId: 'item-2', status: 'scheduled', startsAt: TEST_START + 60_000 }));
    const list = await t.app.inject({ method: 'GET', url: '/items' });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({
      items: [
        { ...itemView(), startsAt: null },
        { ...itemView({ itemId: 'item-2', status: 'scheduled' }), startsAt: '2030-01-15T12:01:00.000Z' },
      ],
    });
    const one = await t.app.inject({ method: 'GET', url: '/items/item-1' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ ...itemView(), startsAt: null });
  });

  it('is 404 ITEM_NOT_FOUND for an unknown item and 503 when the read model is unavailable', async () => {
    const t = start();
    expectError(await t.app.inject({ method: 'GET', url: '/items/nope' }), 404, 'ITEM_NOT_FOUND');
    t.items.failWith = new ReadModelError('READ_MODEL_UNAVAILABLE', 'Redis down');
    const answer = await t.app.inject({ method: 'GET', url: '/items' });
    expectError(answer, 503, 'SERVICE_UNAVAILABLE');
    expect(answer.headers['retry-after']).toBe('1');
  });
});

describe('admin routes', () => {
  const listing = {
    itemId: 'lamp-1',
    title: 'Lamp',
    priceMinor: 4_999,
    currency: 'EUR',
    stock: 10,
    perBuyerLimit: 2,
  };

  const list = (t: TestApp, body: unknown, headers: Record<string, string> = t.asAdmin()) =>
    t.app.inject({ method: 'POST', url: '/admin/items', headers, payload: body as Record<string, unknown> });

  const restock = (
    t: TestApp,
    itemId: string,
    body: unknown,
    headers: Record<string, string> = t.asAdmin(),
  ) =>
    t.app.inject({
      method: 'POST',
      url: `/admin/items/${itemId}/stock`,
      headers,
      payload: body as Record<string, unknown>,
    });

  /** Lets the fake gate sell an item as soon as its ListItem is acknowledged. */
  const sellListedItems = (t: TestApp) => {
    t.commands.onPublished = (command) => {
      if (command.name !== 'ListItem') return;
      const { itemId, stock, perBuyerLimit, startsAt } = command.value;
      t.gate.setAvailability(itemId, { available: stock, version: 1, perBuyerLimit, startsAt });
    };
  };

  describe('without the admin token', () => {
    it.each([
      ['no Authorization header', {}],
      ['a wrong token', { authorization: `Bearer ${TEST_ADMIN_TOKEN}-wrong` }],
      ['the token without Bearer', { authorization: TEST_ADMIN_TOKEN }],
      [
        'Basic credentials',
        { authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}` },
      ],
    ])('refuses %s with 401 UNAUTHORIZED and publishes nothing', async (_name, headers) => {
      const t = start();
      t.gate.setAvailability('lamp-1', { available: 1, version: 1, perBuyerLimit: 1, startsAt: null });
      expectError(await list(t, listing, headers), 401, 'UNAUTHORIZED');
      expectError(await restock(t, 'lamp-1', { delta: 5 }, headers), 401, 'UNAUTHORIZED');
      expect(t.commands.published).toEqual([]);
    });

    it("refuses a buyer's token", async () => {
      const t = start();
      expectError(await list(t, listing, t.asBuyer('buyer-1')), 401, 'UNAUTHORIZED');
    });

    it('refuses before the body is read: no token and malformed JSON is 401', async () => {
      const t = start();
      const answer = await t.app.inject({
        method: 'POST',
        url: '/admin/items',
        headers: { 'content-type': 'application/json' },
        payload: '{"title": ',
      });
      expectError(answer, 401, 'UNAUTHORIZED');
    });
  });

  describe('POST /admin/items', () => {
    it('answers 201 with the new item once the gate sells it, and publishes ListItem', async () => {
      const t = start({ listingWaitMs: 10_000 });
      sellListedItems(t);
      const answer = await list(t, { ...listing, startsAt: '2030-01-15T12:30:00.000Z' });

      expect(answer.statusCode).toBe(201);
      expect(answer.headers.location).toBe('/items/lamp-1');
      expect(answer.json()).toEqual({
        itemId: 'lamp-1',
        title: 'Lamp',
        priceMinor: 4_999,
        currency: 'EUR',
        perBuyerLimit: 2,
        startsAt: '2030-01-15T12:30:00.000Z',
        listed: 10,
        available: 10,
        sold: 0,
        status: 'scheduled',
        version: 1,
      });
      expect(t.commands.published).toEqual([
        {
          name: 'ListItem',
          value: {
            commandId: 'id-1',
            itemId: 'lamp-1',
            title: 'Lamp',
            priceMinor: 4_999,
            currency: 'EUR',
            stock: 10,
            perBuyerLimit: 2,
            startsAt: Date.parse('2030-01-15T12:30:00.000Z'),
            requestedAt: TEST_START,
          },
        },
      ]);
    });

    it('prefers the read model’s view when it already has the item', async () => {
      const t = start({ listingWaitMs: 10_000 });
      t.commands.onPublished = () => {
        t.gate.setAvailability('lamp-1', { available: 10, version: 1, perBuyerLimit: 2, startsAt: null });
        t.items.put(itemView({ itemId: 'lamp-1', version: 2, available: 9, sold: 1 }));
      };
      const answer = await list(t, listing);
      expect(answer.statusCode).toBe(201);
      expect(answer.json()).toMatchObject({ itemId: 'lamp-1', version: 2, available: 9 });
    });

    it('answers 202 pending when the gate does not sell it within the listing wait', async () => {
      const t = start({ listingWaitMs: 0 });
      const answer = await list(t, listing);
      expect(answer.statusCode).toBe(202);
      expect(answer.headers.location).toBe('/items/lamp-1');
      expect(answer.json()).toEqual({ itemId: 'lamp-1', commandId: 'id-1', status: 'pending' });
    });

    it('gives an item without an itemId a new one', async () => {
      const t = start();
      const { itemId: _itemId, ...withoutId } = listing;
      const answer = await list(t, withoutId);
      expect(answer.statusCode).toBe(202);
      expect(answer.json()).toEqual({ itemId: 'id-1', commandId: 'id-2', status: 'pending' });
    });

    it.each([
      [
        'the gate',
        (t: TestApp) =>
          t.gate.setAvailability('lamp-1', { available: 0, version: 3, perBuyerLimit: 1, startsAt: null }),
      ],
      ['the read model', (t: TestApp) => t.items.put(itemView({ itemId: 'lamp-1' }))],
    ])('is 409 ITEM_EXISTS for an item %s knows', async (_name, arrange) => {
      const t = start();
      arrange(t);
      expectError(await list(t, listing), 409, 'ITEM_EXISTS');
      expect(t.commands.published).toEqual([]);
    });

    it('applies a retry with the same Idempotency-Key as the same command, and refuses the key for another body', async () => {
      const t = start({ listingWaitMs: 10_000 });
      sellListedItems(t);
      const headers = { ...t.asAdmin(), 'idempotency-key': 'list-key-0001' };
      const { itemId: _itemId, ...withoutId } = listing;
      const first = await list(t, withoutId, headers);
      const retry = await list(t, withoutId, headers);

      expect([first.statusCode, retry.statusCode]).toEqual([201, 201]);
      expect(first.json()).toMatchObject({ itemId: 'id-1' });
      expect(retry.json()).toMatchObject({ itemId: 'id-1' });
      const commands = t.commands.published.map((c) => c.value as { commandId: string; itemId: string });
      expect(commands.map((c) => [c.commandId, c.itemId])).toEqual([
        ['id-2', 'id-1'],
        ['id-2', 'id-1'],
      ]);
      expectError(await list(t, { ...withoutId, stock: 11 }, headers), 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(t.commands.published).toHaveLength(2);
    });

    it.each([
      [
        'CommandNotPublishedError',
        new CommandNotPublishedError('producer disconnected'),
        'SERVICE_UNAVAILABLE',
      ],
      ['an ambiguous error', new Error('request timed out'), 'OUTCOME_UNKNOWN'],
    ])('is 503 with Retry-After when the publish fails with %s', async (_name, error, code) => {
      const t = start();
      t.commands.failWith = error;
      const answer = await list(t, listing);
      expectError(answer, 503, code);
      expect(answer.headers['retry-after']).toBe('1');
    });

    it.each([
      ['no title', { ...listing, title: undefined }],
      ['a lower-case currency', { ...listing, currency: 'eur' }],
      ['negative stock', { ...listing, stock: -1 }],
      ['an unknown field', { ...listing, colour: 'red' }],
      ['a startsAt that is not a date-time', { ...listing, startsAt: 'tomorrow' }],
      ['a malformed itemId', { ...listing, itemId: 'lamp 1' }],
    ])('is 400 VALIDATION_FAILED for %s', async (_name, body) => {
      const t = start();
      expectError(await list(t, body), 400, 'VALIDATION_FAILED');
      expect(t.commands.published).toEqual([]);
    });
  });

  describe('POST /admin/items/:id/stock', () => {
    it('answers 202 pending and publishes AdjustStock for an item the gate knows', async () => {
      const t = start();
      t.gate.setAvailability('lamp-1', { available: 0, version: 3, perBuyerLimit: 1, startsAt: null });
      const answer = await restock(t, 'lamp-1', { delta: 5 });
      expect(answer.statusCode).toBe(202);
      expect(answer.json()).toEqual({ itemId: 'lamp-1', commandId: 'id-1', delta: 5, status: 'pending' });
      expect(t.commands.published).toEqual([
        {
          name: 'AdjustStock',
          value: { commandId: 'id-1', itemId: 'lamp-1', delta: 5, requestedAt: TEST_START },
        },
      ]);
    });

    it('also takes an item only the read model knows yet, and a negative delta', async () => {
      const t = start();
      t.items.put(itemView({ itemId: 'lamp-1' }));
      const answer = await restock(t, 'lamp-1', { delta: -2 });
      expect(answer.statusCode).toBe(202);
      expect(answer.json()).toMatchObject({ delta: -2 });
    });

    it('is 404 ITEM_NOT_FOUND for an unknown item', async () => {
      const t = start();
      expectError(await restock(t, 'nope', { delta: 5 }), 404, 'ITEM_NOT_FOUND');
      expect(t.commands.published).toEqual([]);
    });

    it.each([
      ['a delta of 0', { delta: 0 }],
      ['no delta', {}],
      ['a fractional delta', { delta: 1.5 }],
    ])('is 400 VALIDATION_FAILED for %s', async (_name, body) => {
      const t = start();
      t.gate.setAvailability('lamp-1', { available: 0, version: 3, perBuyerLimit: 1, startsAt: null });
      expectError(await restock(t, 'lamp-1', body), 400, 'VALIDATION_FAILED');
    });

    it('publishes a retry with the same Idempotency-Key as the same command, and refuses the key for another delta', async () => {
      const t = start();
      t.gate.setAvailability('lamp-1', { available: 0, version: 3, perBuyerLimit: 1, startsAt: null });
      const headers = { ...t.asAdmin(), 'idempotency-key': 'restock-key-0001' };
      const answers = [
        await restock(t, 'lamp-1', { delta: 5 }, headers),
        await restock(t, 'lamp-1', { delta: 5 }, headers),
      ];
      expect(answers.map((a) => [a.statusCode, a.json<{ commandId: string }>().commandId])).toEqual([
        [202, 'id-1'],
        [202, 'id-1'],
      ]);
      expectError(await restock(t, 'lamp-1', { delta: 6 }, headers), 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(t.commands.published).toHaveLength(2);
    });

    it('is 503 OUTCOME_UNKNOWN when the publish may have reached the log', async () => {
      const t = start();
      t.gate.setAvailability('lamp-1', { available: 0, version: 3, perBuyerLimit: 1, startsAt: null });
      t.commands.failWith = new Error('request timed out');
      expectError(await restock(t, 'lamp-1', { delta: 5 }), 503, 'OUTCOME_UNKNOWN');
    });
  });
});

describe('every other answer', () => {
  it('is 404 NOT_FOUND in the one error shape for an unknown route or method', async () => {
    const t = start();
    expectError(await t.app.inject({ method: 'GET', url: '/nowhere?x=1' }), 404, 'NOT_FOUND');
    expectError(await t.app.inject({ method: 'GET', url: '/items/item-1/buy-now' }), 404, 'NOT_FOUND');
  });

  it('is 500 INTERNAL without the cause for an unexpected failure', async () => {
    const t = start();
    t.items.failWith = new Error('ECONNREFUSED 10.0.0.7:6379 secret-host');
    const answer = await t.app.inject({ method: 'GET', url: '/items' });
    expectError(answer, 500, 'INTERNAL');
    expect(answer.body).not.toContain('secret-host');
  });

  it('answers liveness, and readiness with 503 naming the dependency that failed', async () => {
    const t = start();
    const live = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect([live.statusCode, live.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready' });

    t.health.checks = [
      { name: 'redis', ok: true },
      { name: 'kafka', ok: false, detail: 'unavailable' },
    ];
    const notReady = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ status: 'not-ready', checks: t.health.checks });
  });

  it('counts buy-now answers by outcome in the metrics', () =>
    // Metrics count across tests: a fresh app counts from 0.
    withOwnApp({}, async (t) => {
      await buy(t);
      t.gate.answer = { kind: 'rejected', reason: 'SOLD_OUT', available: 0, perBuyerLimit: 1 };
      await buy(t);
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toMatch(/buynow_admissions_total\{outcome="accepted",service="gateway"\} 1/);
      expect(metrics.body).toMatch(
        /buynow_admissions_total\{outcome="rejected_sold_out",service="gateway"\} 1/,
      );
    }));

  it.each([
    ['a plain GET /ws', {}, 426, 'UPGRADE_REQUIRED'],
    ['a page of another site', { origin: 'https://evil.example' }, 403, 'ORIGIN_NOT_ALLOWED'],
  ])('refuses %s on the live route in the one error shape', async (_name, headers, status, code) => {
    const t = start();
    expectError(await t.app.inject({ method: 'GET', url: '/ws', headers }), status, code);
  });

  it('refuses a live connection with 503 when the instance is full', () =>
    withOwnApp({ maxLiveConnections: 0 }, async (t) => {
      const answer = await t.app.inject({ method: 'GET', url: '/ws' });
      expectError(answer, 503, 'SERVICE_UNAVAILABLE');
      expect(answer.headers['retry-after']).toBe('1');
    }));

  it('answers 503 STOREFRONT_NOT_BUILT for the pages when the storefront is not built', async () => {
    const t = start();
    expectError(await t.app.inject({ method: 'GET', url: '/' }), 503, 'STOREFRONT_NOT_BUILT');
    expectError(await t.app.inject({ method: 'GET', url: '/dashboard' }), 503, 'STOREFRONT_NOT_BUILT');
  });
});
