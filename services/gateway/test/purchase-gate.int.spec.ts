// The admission gate against the real Redis: exact counts under concurrency, the boundaries peers got
// wrong, and each recovery path. Requests are spread over several connections so scripts of different
// clients interleave the way they do across gateway instances.
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '@buy-now/testkit';
import type { ItemEvent } from '@buy-now/contracts';
import { applyItemEvent } from '../src/adapters/kafka/event-follower.js';
import type { AdmitRequest, AdmitResult, PurchaseGate } from '../src/domain/purchase-gate.js';
import { createRedisPurchaseGate } from '../src/adapters/redis/redis-purchase-gate.js';
import { purchaseGateKeys } from '../src/adapters/redis/purchase-gate-keys.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `${uniqueName('purchase-gate')}:`;
const CONNECTIONS = 8;
const RETENTION_MS = 60 * 60 * 1000;

let clients: Redis[] = [];
let gates: PurchaseGate[] = [];
let gate: PurchaseGate;
let redis: Redis;

beforeAll(async () => {
  clients = Array.from({ length: CONNECTIONS }, () => new Redis(redisUrl, { maxRetriesPerRequest: 2 }));
  await Promise.all(clients.map((c) => c.ping()));
  gates = clients.map((client) =>
    createRedisPurchaseGate({ redis: client, keyPrefix: prefix, retentionMs: RETENTION_MS }),
  );
  gate = gates[0]!;
  redis = clients[0]!;
});

afterAll(async () => {
  if (redis) await deleteKeys(redis, `${prefix}*`);
  await Promise.all(clients.map((c) => c.quit()));
});

async function deleteKeys(client: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) deleted += await client.del(...found);
  } while (cursor !== '0');
  return deleted;
}

let itemCounter = 0;
function newItemId(): string {
  itemCounter += 1;
  return `item-${itemCounter}-${randomUUID().slice(0, 8)}`;
}

async function listItem(
  itemId: string,
  stock: number,
  options: { perBuyerLimit?: number; startsAt?: number | null; version?: number; on?: PurchaseGate } = {},
): Promise<void> {
  const applied = await (options.on ?? gate).applyListing({
    itemId,
    version: options.version ?? 1,
    stock,
    perBuyerLimit: options.perBuyerLimit ?? 1,
    startsAt: options.startsAt ?? null,
    title: 'Limited sneaker',
    priceMinor: 12_900,
    currency: 'EUR',
  });
  expect(applied).toBe(true);
}

function request(itemId: string, buyerId: string, overrides: Partial<AdmitRequest> = {}): AdmitRequest {
  const quantity = overrides.quantity ?? 1;
  return {
    itemId,
    buyerId,
    quantity,
    idempotencyKey: randomUUID(),
    requestHash: createHash('sha256')
      .update(JSON.stringify([itemId, buyerId, quantity]))
      .digest('hex'),
    purchaseId: randomUUID(),
    gatewayId: 'gw-test',
    ...overrides,
  };
}

/** Admits all requests at once, spread over every connection. */
function admitAll(requests: AdmitRequest[]): Promise<AdmitResult[]> {
  return Promise.all(requests.map((req, i) => gates[i % gates.length]!.admit(req)));
}

function countKinds(results: AdmitResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.kind === 'rejected' ? `rejected:${r.reason}` : r.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function admitted(results: AdmitResult[]) {
  return results.filter((r): r is Extract<AdmitResult, { kind: 'admitted' }> => r.kind === 'admitted');
}

async function available(itemId: string): Promise<number | undefined> {
  return (await gate.getAvailability(itemId))?.available;
}

describe('admission under concurrency', () => {
  it('admits exactly the stock: 100 units, 2,000 buyers at once', async () => {
    const itemId = newItemId();
    await listItem(itemId, 100);
    const results = await admitAll(Array.from({ length: 2_000 }, (_, i) => request(itemId, `buyer-${i}`)));

    expect(countKinds(results)).toEqual({ admitted: 100, 'rejected:SOLD_OUT': 1_900 });
    expect(await available(itemId)).toBe(0);
    const seqs = admitted(results)
      .map((r) => r.admissionSeq)
      .sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (const r of results) if (r.kind === 'rejected') expect(r.available).toBe(0);

    const records = await Promise.all(admitted(results).map((r) => gate.getPurchase(r.purchaseId, itemId)));
    expect(records.filter((p) => p?.status === 'admitted' && p.itemId === itemId)).toHaveLength(100);
    expect(await redis.hlen(purchaseGateKeys(prefix).buyers(itemId))).toBe(100);
  });

  it('admits exactly one when one unit meets 500 buyers', async () => {
    const itemId = newItemId();
    await listItem(itemId, 1);
    const results = await admitAll(Array.from({ length: 500 }, (_, i) => request(itemId, `buyer-${i}`)));

    expect(countKinds(results)).toEqual({ admitted: 1, 'rejected:SOLD_OUT': 499 });
    expect(admitted(results)[0]?.admissionSeq).toBe(1);
    expect(await available(itemId)).toBe(0);
  });

  it('never lets a buyer past the limit: limit 2, 50 buyers sending 10 requests each', async () => {
    const itemId = newItemId();
    await listItem(itemId, 1_000, { perBuyerLimit: 2 });
    const requests = Array.from({ length: 500 }, (_, i) => request(itemId, `buyer-${i % 50}`));
    const results = await admitAll(requests);

    expect(countKinds(results)).toEqual({ admitted: 100, 'rejected:LIMIT_EXCEEDED': 400 });
    const perBuyer = new Map<string, number>();
    results.forEach((r, i) => {
      if (r.kind === 'admitted')
        perBuyer.set(requests[i]!.buyerId, (perBuyer.get(requests[i]!.buyerId) ?? 0) + 1);
    });
    expect(perBuyer.size).toBe(50);
    expect(Math.max(...perBuyer.values())).toBe(2);
    expect(await available(itemId)).toBe(900);
  });

  it('replays one idempotency key sent 20 times at once, and refuses it for another body', async () => {
    const itemId = newItemId();
    await listItem(itemId, 10, { perBuyerLimit: 5 });
    const idempotencyKey = randomUUID();
    const results = await admitAll(
      Array.from({ length: 20 }, () => request(itemId, 'buyer-1', { idempotencyKey })),
    );

    expect(countKinds(results)).toEqual({ admitted: 1, replay: 19 });
    const original = admitted(results)[0]!.purchaseId;
    for (const r of results) {
      if (r.kind === 'replay') {
        expect(r.purchase.purchaseId).toBe(original);
        expect(r.purchase.idempotencyKey).toBe(idempotencyKey);
      }
    }
    expect(await available(itemId)).toBe(9);

    const other = await gate.admit(request(itemId, 'buyer-1', { idempotencyKey, quantity: 2 }));
    expect(other).toEqual({ kind: 'idempotency-conflict', purchaseId: original });
    expect(await available(itemId)).toBe(9);

    // The replay answers with the current status, whatever it is by now.
    await gate.markAccepted(itemId, original);
    const later = await gate.admit(request(itemId, 'buyer-1', { idempotencyKey }));
    expect(later.kind === 'replay' && later.purchase.status).toBe('pending');
  });
});

describe('boundaries', () => {
  it('sells the last units to an exact-fit quantity and refuses one more', async () => {
    const itemId = newItemId();
    await listItem(itemId, 3, { perBuyerLimit: 3 });
    expect((await gate.admit(request(itemId, 'a', { quantity: 2 }))).kind).toBe('admitted');
    const tooMany = await gate.admit(request(itemId, 'b', { quantity: 2 }));
    expect(tooMany).toMatchObject({ kind: 'rejected', reason: 'SOLD_OUT', available: 1 });
    expect(await available(itemId)).toBe(1);
    expect((await gate.admit(request(itemId, 'b', { quantity: 1 }))).kind).toBe('admitted');
    expect(await available(itemId)).toBe(0);
    expect(await gate.admit(request(itemId, 'c'))).toMatchObject({ reason: 'SOLD_OUT', available: 0 });
  });

  it('lets a buyer reach the limit exactly and no further', async () => {
    const itemId = newItemId();
    await listItem(itemId, 100, { perBuyerLimit: 2 });
    expect(await gate.admit(request(itemId, 'a', { quantity: 3 }))).toMatchObject({
      kind: 'rejected',
      reason: 'LIMIT_EXCEEDED',
      perBuyerLimit: 2,
    });
    expect((await gate.admit(request(itemId, 'a', { quantity: 1 }))).kind).toBe('admitted');
    expect(await gate.admit(request(itemId, 'a', { quantity: 2 }))).toMatchObject({
      reason: 'LIMIT_EXCEEDED',
    });
    expect((await gate.admit(request(itemId, 'a', { quantity: 1 }))).kind).toBe('admitted');
    expect(await gate.admit(request(itemId, 'a', { quantity: 1 }))).toMatchObject({
      reason: 'LIMIT_EXCEEDED',
    });
    expect(await available(itemId)).toBe(98);
  });

  it('refuses before startsAt and admits from startsAt on, by the clock of the gate', async () => {
    const later = newItemId();
    const startsAt = Date.now() + 60_000;
    await listItem(later, 5, { startsAt });
    expect(await gate.admit(request(later, 'a'))).toEqual({
      kind: 'rejected',
      reason: 'NOT_STARTED',
      available: 5,
      perBuyerLimit: 1,
      startsAt,
      version: 1,
    });
    expect(await available(later)).toBe(5);

    const started = newItemId();
    await listItem(started, 5, { startsAt: Date.now() - 1_000 });
    const admitted = await gate.admit(request(started, 'a'));
    expect(admitted.kind).toBe('admitted');
    // Redis' clock, the one every gateway shares, within this machine's of course.
    expect(admitted.kind === 'admitted' && Math.abs(admitted.admittedAt - Date.now())).toBeLessThan(5_000);
    expect(await available(started)).toBe(4);
  });

  it('answers unknown-item for an item the gate does not hold', async () => {
    expect(await gate.admit(request(newItemId(), 'a'))).toEqual({ kind: 'unknown-item' });
  });

  it('refuses a purchaseId that is already taken', async () => {
    const itemId = newItemId();
    await listItem(itemId, 5, { perBuyerLimit: 5 });
    const first = request(itemId, 'a');
    await gate.admit(first);
    await expect(gate.admit(request(itemId, 'b', { purchaseId: first.purchaseId }))).rejects.toMatchObject({
      code: 'GATE_PURCHASE_ID_TAKEN',
    });
    expect(await available(itemId)).toBe(4);
  });

  it('expires idempotency keys and decided records, never counters or undecided records', async () => {
    const keys = purchaseGateKeys(prefix);
    const itemId = newItemId();
    await listItem(itemId, 5, { perBuyerLimit: 5 });
    const req = request(itemId, 'a');
    await gate.admit(req);
    const idemTtl = await redis.pttl(keys.idempotency(itemId, req.buyerId, req.idempotencyKey));
    expect(idemTtl).toBeGreaterThan(RETENTION_MS - 60_000);
    expect(idemTtl).toBeLessThanOrEqual(RETENTION_MS);
    expect(await redis.pttl(keys.purchase(itemId, req.purchaseId))).toBe(-1);
    expect(await redis.pttl(keys.buyers(itemId))).toBe(-1);
    expect(await redis.pttl(keys.gate(itemId))).toBe(-1);
    // Findable by id alone only once it is in the log (markAccepted), with a retention.
    expect(await redis.exists(keys.purchaseItem(req.purchaseId))).toBe(0);
    await gate.markAccepted(itemId, req.purchaseId);
    expect(await redis.pttl(keys.purchaseItem(req.purchaseId))).toBeGreaterThan(0);
    expect(await redis.get(keys.purchaseItem(req.purchaseId))).toBe(itemId);

    await gate.applyOutcome({ itemId, purchaseId: req.purchaseId, status: 'confirmed', version: 2 });
    expect(await redis.pttl(keys.purchase(itemId, req.purchaseId))).toBeGreaterThan(RETENTION_MS - 60_000);
    expect(await redis.pttl(keys.buyers(itemId))).toBe(-1);
  });
});

describe('acceptance and release', () => {
  it('moves admitted to pending once', async () => {
    const itemId = newItemId();
    await listItem(itemId, 5);
    const req = request(itemId, 'a');
    await gate.admit(req);
    expect(await gate.markAccepted(itemId, req.purchaseId)).toBe(true);
    expect(await gate.markAccepted(itemId, req.purchaseId)).toBe(false);
    expect((await gate.getPurchase(req.purchaseId))?.status).toBe('pending');
  });

  it('gives the unit back once, un-counts the buyer, and lets the same key try afresh', async () => {
    const itemId = newItemId();
    await listItem(itemId, 1);
    const req = request(itemId, 'a');
    const first = await gate.admit(req);
    expect(first.kind).toBe('admitted');
    expect(await available(itemId)).toBe(0);

    expect(await gate.release(itemId, req.purchaseId, 'publish-failed')).toBe(true);
    expect(await available(itemId)).toBe(1);
    // Never in the log, so never findable by its id alone; by its item it is.
    expect(await gate.getPurchase(req.purchaseId)).toBeNull();
    expect(await gate.getPurchase(req.purchaseId, itemId)).toMatchObject({
      status: 'withdrawn',
      reason: 'publish-failed',
    });
    expect(await gate.release(itemId, req.purchaseId, 'publish-failed')).toBe(false);
    expect(await available(itemId)).toBe(1);

    const retry = await gate.admit({ ...req, purchaseId: randomUUID() });
    expect(retry.kind).toBe('admitted');
    expect(retry.kind === 'admitted' && retry.purchaseId).not.toBe(req.purchaseId);
    expect(await available(itemId)).toBe(0);
  });

  it('does not release a purchase the broker acknowledged', async () => {
    const itemId = newItemId();
    await listItem(itemId, 1);
    const req = request(itemId, 'a');
    await gate.admit(req);
    await gate.markAccepted(itemId, req.purchaseId);
    expect(await gate.release(itemId, req.purchaseId, 'publish-failed')).toBe(false);
    expect(await available(itemId)).toBe(0);
    expect((await gate.getPurchase(req.purchaseId))?.status).toBe('pending');
  });

  it('releases concurrently only once', async () => {
    const itemId = newItemId();
    await listItem(itemId, 1);
    const req = request(itemId, 'a');
    await gate.admit(req);
    const results = await Promise.all(gates.map((g) => g.release(itemId, req.purchaseId, 'publish-failed')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await available(itemId)).toBe(1);
  });
});

describe('outcomes from SQL', () => {
  async function pendingPurchase(itemId: string, buyerId: string) {
    const req = request(itemId, buyerId);
    const result = await gate.admit(req);
    expect(result.kind).toBe('admitted');
    await gate.markAccepted(itemId, req.purchaseId);
    return req;
  }

  it('records a confirmation once and never changes a final status', async () => {
    const itemId = newItemId();
    await listItem(itemId, 2);
    const req = await pendingPurchase(itemId, 'a');
    const outcome = { itemId, purchaseId: req.purchaseId, status: 'confirmed' as const, version: 2 };
    expect(await gate.applyOutcome(outcome)).toBe(true);
    expect(await gate.applyOutcome(outcome)).toBe(false);
    expect(await gate.applyOutcome({ ...outcome, status: 'rejected', reason: 'LIMIT_EXCEEDED' })).toBe(false);
    expect((await gate.getPurchase(req.purchaseId))?.status).toBe('confirmed');
    expect(await available(itemId)).toBe(1);
    expect(await gate.admit(request(itemId, 'a'))).toMatchObject({ reason: 'LIMIT_EXCEEDED' });
  });

  it('gives the unit back on a rejection other than SOLD_OUT, once', async () => {
    const itemId = newItemId();
    await listItem(itemId, 1);
    const req = await pendingPurchase(itemId, 'a');
    expect(await available(itemId)).toBe(0);
    const outcome = {
      itemId,
      purchaseId: req.purchaseId,
      status: 'rejected' as const,
      reason: 'LIMIT_EXCEEDED',
    };
    expect(await gate.applyOutcome(outcome)).toBe(true);
    expect(await gate.applyOutcome(outcome)).toBe(false);
    expect(await available(itemId)).toBe(1);
    expect(await gate.getPurchase(req.purchaseId)).toMatchObject({
      status: 'rejected',
      reason: 'LIMIT_EXCEEDED',
    });
    // The buyer is no longer counted: they may try again.
    expect((await gate.admit(request(itemId, 'a'))).kind).toBe('admitted');
  });

  it('keeps the unit off sale on SOLD_OUT without SQL remaining units, and stops counting the buyer', async () => {
    const itemId = newItemId();
    await listItem(itemId, 2);
    const req = await pendingPurchase(itemId, 'a');
    expect(
      await gate.applyOutcome({ itemId, purchaseId: req.purchaseId, status: 'rejected', reason: 'SOLD_OUT' }),
    ).toBe(true);
    expect(await available(itemId)).toBe(1);
    expect(await gate.getPurchase(req.purchaseId)).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    // The buyer owns nothing: after a restock they may buy (limit 1), not LIMIT_EXCEEDED.
    expect((await gate.admit(request(itemId, 'a'))).kind).toBe('admitted');
  });

  it('on SOLD_OUT with SQL remaining units, sets the gate to what SQL still has: none stranded, none invented', async () => {
    const itemId = newItemId();
    await listItem(itemId, 5, { perBuyerLimit: 3 });
    const big = request(itemId, 'a', { quantity: 3 });
    expect((await gate.admit(big)).kind).toBe('admitted');
    await gate.markAccepted(itemId, big.purchaseId);
    expect(await available(itemId)).toBe(2);
    // SQL had only 2 (the gate believed 5): SOLD_OUT for 3, with 2 remaining at version 1.
    expect(
      await gate.applyOutcome({
        itemId,
        purchaseId: big.purchaseId,
        status: 'rejected',
        reason: 'SOLD_OUT',
        version: 1,
        remaining: 2,
      }),
    ).toBe(true);
    expect(await available(itemId)).toBe(2);
    expect((await gate.admit(request(itemId, 'a', { quantity: 2 }))).kind).toBe('admitted');

    // SQL had none left: nothing comes back.
    const other = newItemId();
    await listItem(other, 2);
    const last = await pendingPurchase(other, 'b');
    expect(
      await gate.applyOutcome({
        itemId: other,
        purchaseId: last.purchaseId,
        status: 'rejected',
        reason: 'SOLD_OUT',
        version: 1,
        remaining: 0,
      }),
    ).toBe(true);
    expect(await available(other)).toBe(0);
    expect(await gate.admit(request(other, 'b'))).toMatchObject({ kind: 'rejected', reason: 'SOLD_OUT' });
  });

  it('stores the outcome of a purchase it does not know, so it can be read', async () => {
    const itemId = newItemId();
    await listItem(itemId, 5);
    const purchaseId = randomUUID();
    expect(
      await gate.applyOutcome({
        itemId,
        purchaseId,
        status: 'rejected',
        reason: 'SOLD_OUT',
        buyerId: 'z',
        quantity: 1,
      }),
    ).toBe(true);
    expect(await gate.getPurchase(purchaseId)).toEqual({
      purchaseId,
      itemId,
      buyerId: 'z',
      quantity: 1,
      status: 'rejected',
      reason: 'SOLD_OUT',
      admittedAt: null,
      admissionSeq: null,
      idempotencyKey: null,
    });
    expect(await available(itemId)).toBe(5);
  });

  it('takes the unit again when SQL confirms a purchase the reconciler had withdrawn', async () => {
    const itemId = newItemId();
    await listItem(itemId, 3);
    const req = request(itemId, 'a');
    await gate.admit(req);
    expect(await gate.release(itemId, req.purchaseId, 'STUCK_ADMISSION')).toBe(true);
    expect(await gate.markAccepted(itemId, req.purchaseId)).toBe(false);
    expect(await available(itemId)).toBe(3);

    expect(
      await gate.applyOutcome({ itemId, purchaseId: req.purchaseId, status: 'confirmed', version: 2 }),
    ).toBe(true);
    expect(await available(itemId)).toBe(2);
    expect((await gate.getPurchase(req.purchaseId))?.status).toBe('confirmed');
    expect(await gate.admit(request(itemId, 'a'))).toMatchObject({ reason: 'LIMIT_EXCEEDED' });
  });

  it('advances the applied version and trims the gate to SQL remaining, never raising it', async () => {
    const itemId = newItemId();
    await listItem(itemId, 10);
    const req = await pendingPurchase(itemId, 'a');
    expect(
      await gate.applyOutcome({
        itemId,
        purchaseId: req.purchaseId,
        status: 'confirmed',
        version: 2,
        remaining: 7,
      }),
    ).toBe(true);
    expect(await gate.getAvailability(itemId)).toMatchObject({ available: 7, version: 2 });

    expect(await gate.applySoldState({ itemId, version: 3, remaining: 9 })).toBe(true);
    expect(await gate.getAvailability(itemId)).toMatchObject({ available: 7, version: 3 });
    expect(await gate.applySoldState({ itemId, version: 3, remaining: 0 })).toBe(true);
    expect(await available(itemId)).toBe(0);
    expect(await gate.applySoldState({ itemId, version: 2, remaining: 0 })).toBe(false);
  });
});

describe('listing and stock versions', () => {
  it('applies a listing and each adjustment once, ignoring older versions', async () => {
    const itemId = newItemId();
    await listItem(itemId, 10);
    expect(await gate.applyListing({ itemId, version: 1, stock: 99, perBuyerLimit: 1, startsAt: null })).toBe(
      false,
    );
    expect(await gate.getAvailability(itemId)).toEqual({
      available: 10,
      version: 1,
      startsAt: null,
      perBuyerLimit: 1,
    });

    expect(await gate.applyStockAdjusted({ itemId, version: 2, delta: 5, remaining: 15 })).toBe(true);
    expect(await gate.applyStockAdjusted({ itemId, version: 2, delta: 5, remaining: 15 })).toBe(false);
    expect(await gate.applyStockAdjusted({ itemId, version: 1, delta: 5 })).toBe(false);
    expect(await gate.getAvailability(itemId)).toMatchObject({ available: 15, version: 2 });

    expect(await gate.applyStockAdjusted({ itemId, version: 3, delta: -40 })).toBe(true);
    expect(await gate.getAvailability(itemId)).toMatchObject({ available: 0, version: 3 });
    expect(await gate.applyStockAdjusted({ itemId, version: 4, delta: 4 })).toBe(true);
    expect(await available(itemId)).toBe(4);
    expect(await gate.applyListing({ itemId, version: 2, stock: 99, perBuyerLimit: 1, startsAt: null })).toBe(
      false,
    );
    expect(await available(itemId)).toBe(4);
  });

  it('adds a restock to what the gate holds (units in flight stay taken)', async () => {
    const itemId = newItemId();
    await listItem(itemId, 2, { perBuyerLimit: 5 });
    await gate.admit(request(itemId, 'a'));
    expect(await gate.applyStockAdjusted({ itemId, version: 2, delta: 3, remaining: 5 })).toBe(true);
    expect(await available(itemId)).toBe(4);
  });

  it('ignores an adjustment for an item it does not hold', async () => {
    expect(await gate.applyStockAdjusted({ itemId: newItemId(), version: 2, delta: 3 })).toBe(false);
  });
});

describe('reconciler', () => {
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  it('claims only admissions older than the bound that the broker never acknowledged, once per bound', async () => {
    // Its own prefix: the reconciler scans every item of a prefix.
    const reconcilePrefix = `${prefix}reconcile:`;
    const g = createRedisPurchaseGate({ redis, keyPrefix: reconcilePrefix });
    const other = createRedisPurchaseGate({ redis: clients[1]!, keyPrefix: reconcilePrefix });
    const itemA = newItemId();
    const itemB = newItemId();
    await listItem(itemA, 10, { on: g, perBuyerLimit: 10 });
    await listItem(itemB, 10, { on: g, perBuyerLimit: 10 });

    const stuck = request(itemA, 'a');
    const acknowledged = request(itemA, 'b');
    const stuckB = request(itemB, 'd', { quantity: 3 });
    for (const req of [stuck, acknowledged, stuckB]) expect((await g.admit(req)).kind).toBe('admitted');
    expect(await g.markAccepted(itemA, acknowledged.purchaseId)).toBe(true);
    expect(await g.claimStuck(60_000)).toEqual([]);
    await sleep(300);
    const recent = request(itemA, 'c');
    expect((await g.admit(recent)).kind).toBe('admitted');

    const claimed = await g.claimStuck(200);
    expect(claimed.map((c) => c.purchaseId).sort()).toEqual([stuck.purchaseId, stuckB.purchaseId].sort());
    expect(claimed.find((c) => c.purchaseId === stuckB.purchaseId)).toEqual({
      purchaseId: stuckB.purchaseId,
      itemId: itemB,
      buyerId: 'd',
      quantity: 3,
      idempotencyKey: stuckB.idempotencyKey,
      admittedAt: expect.any(Number) as unknown,
      admissionSeq: 1,
      gatewayId: 'gw-test',
    });
    // Claimed, not given back: the units stay taken and the records admitted until the broker acknowledges.
    expect((await g.getAvailability(itemA))?.available).toBe(7);
    expect((await g.getAvailability(itemB))?.available).toBe(7);
    expect((await g.getPurchase(stuck.purchaseId, itemA))?.status).toBe('admitted');
    // Another gateway's reconciler leaves them to this one for another bound.
    expect(await other.claimStuck(200)).toEqual([]);
    // The publish of the original gateway failing late can no longer withdraw them.
    expect(await g.release(itemA, stuck.purchaseId, 'publish-failed')).toBe(false);
    expect((await g.getPurchase(stuck.purchaseId, itemA))?.status).toBe('admitted');

    expect(await g.markAccepted(itemA, stuck.purchaseId)).toBe(true);
    await sleep(300);
    // Not acknowledged within another bound: claimed again (the broker was still away).
    expect((await other.claimStuck(200)).map((c) => c.purchaseId).sort()).toEqual(
      [recent.purchaseId, stuckB.purchaseId].sort(),
    );
    expect((await g.getPurchase(stuck.purchaseId))?.status).toBe('pending');
    expect((await g.getPurchase(acknowledged.purchaseId))?.status).toBe('pending');
  });

  it('works through more stuck admissions than one batch, one pass after another', async () => {
    const g = createRedisPurchaseGate({
      redis,
      keyPrefix: `${prefix}reconcile-batch:`,
      reconcileBatchSize: 7,
    });
    const itemId = newItemId();
    await listItem(itemId, 50, { on: g });
    for (let i = 0; i < 30; i++) expect((await g.admit(request(itemId, `b-${i}`))).kind).toBe('admitted');
    await sleep(50);
    const seen = new Set<string>();
    for (let pass = 0; pass < 5; pass++) for (const c of await g.claimStuck(10)) seen.add(c.purchaseId);
    expect(seen.size).toBe(30);
    expect((await g.getAvailability(itemId))?.available).toBe(20);
  });
});

describe('the event follower while the gate is missing', () => {
  it('does not pass over a restock it cannot apply yet: it waits for the rebuild, then applies it', async () => {
    const lossPrefix = `${prefix}follower-loss:`;
    const g = createRedisPurchaseGate({ redis, keyPrefix: lossPrefix });
    const itemId = newItemId();
    await listItem(itemId, 10, { on: g });
    const restock: ItemEvent = {
      name: 'StockAdjusted',
      value: { commandId: 'c-restock', itemId, version: 2, delta: 5, remaining: 15, occurredAt: Date.now() },
    };

    // Redis lost the data; the rebuild has not run yet.
    expect(await deleteKeys(redis, `${lossPrefix}*`)).toBeGreaterThan(0);
    await expect(applyItemEvent({ gate: g }, restock)).rejects.toMatchObject({
      code: 'GATE_UNAVAILABLE',
      canRetry: true,
    });

    // The rebuild read SQL before the restock (version 1, 10 left); the retried batch then applies it.
    expect(await g.restoreItem({ itemId, version: 1, remaining: 10, perBuyerLimit: 1, startsAt: null })).toBe(
      true,
    );
    await expect(applyItemEvent({ gate: g }, restock)).resolves.toBeNull();
    expect(await g.getAvailability(itemId)).toMatchObject({ available: 15, version: 2 });
  });
});

describe('rebuild after Redis lost the data', () => {
  it('rebuilds the gate from SQL after the item keys and the epoch are gone', async () => {
    const lossPrefix = `${prefix}loss:`;
    const g = createRedisPurchaseGate({ redis, keyPrefix: lossPrefix });
    const keys = purchaseGateKeys(lossPrefix);
    const itemId = newItemId();
    await listItem(itemId, 10, { on: g });
    expect(await g.markGateRebuilt()).toEqual(expect.any(String));
    const bought = request(itemId, 'early');
    await g.admit(bought);
    await g.markAccepted(itemId, bought.purchaseId);

    // What a FLUSHDB does to this prefix.
    expect(await deleteKeys(redis, `${lossPrefix}*`)).toBeGreaterThan(0);
    expect(await g.gateEpoch()).toBeNull();
    expect(await g.getAvailability(itemId)).toBeNull();
    expect(await g.admit(request(itemId, 'x'))).toEqual({ kind: 'unknown-item' });

    const manyBuyers = Object.fromEntries(Array.from({ length: 1_200 }, (_, i) => [`sql-buyer-${i}`, 1]));
    expect(
      await g.restoreItem({
        itemId,
        version: 5,
        remaining: 6,
        perBuyerLimit: 1,
        startsAt: null,
        confirmedUnitsByBuyer: { early: 1, ...manyBuyers },
        lastAdmissionSeq: 40,
      }),
    ).toBe(true);
    const epoch = await g.markGateRebuilt();
    expect(await g.gateEpoch()).toBe(epoch);
    expect(await g.getAvailability(itemId)).toEqual({
      available: 6,
      version: 5,
      startsAt: null,
      perBuyerLimit: 1,
    });
    expect(await redis.hlen(keys.buyers(itemId))).toBe(1_201);
    expect(await redis.sismember(keys.items(), itemId)).toBe(1);

    // Older facts than the snapshot are already in it.
    expect(await g.applyListing({ itemId, version: 1, stock: 10, perBuyerLimit: 1, startsAt: null })).toBe(
      false,
    );
    expect(await g.applyStockAdjusted({ itemId, version: 4, delta: 2 })).toBe(false);
    expect(await g.restoreItem({ itemId, version: 5, remaining: 99, perBuyerLimit: 1, startsAt: null })).toBe(
      false,
    );

    expect(await g.admit(request(itemId, 'early'))).toMatchObject({ reason: 'LIMIT_EXCEEDED' });
    expect(await g.admit(request(itemId, 'sql-buyer-1199'))).toMatchObject({ reason: 'LIMIT_EXCEEDED' });
    expect(await g.admit(request(itemId, 'new'))).toMatchObject({ kind: 'admitted', admissionSeq: 41 });

    // The early purchase's outcome (decided before the snapshot) is already in `remaining`...
    expect(
      await g.applyOutcome({
        itemId,
        purchaseId: bought.purchaseId,
        status: 'confirmed',
        version: 2,
        buyerId: 'early',
        quantity: 1,
      }),
    ).toBe(true);
    expect((await g.getAvailability(itemId))?.available).toBe(5);
    expect((await g.getPurchase(bought.purchaseId))?.status).toBe('confirmed');
    // ...one decided after it is not, and takes its unit now.
    expect(
      await g.applyOutcome({
        itemId,
        purchaseId: randomUUID(),
        status: 'confirmed',
        version: 6,
        buyerId: 'in-flight',
        quantity: 2,
      }),
    ).toBe(true);
    expect(await g.getAvailability(itemId)).toMatchObject({ available: 3, version: 6 });
    expect(await g.admit(request(itemId, 'in-flight'))).toMatchObject({ reason: 'LIMIT_EXCEEDED' });
  });
});
