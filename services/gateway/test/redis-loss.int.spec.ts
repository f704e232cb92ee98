// Recovery of the Redis side: the gate rebuilt from SQL after Redis lost its data (no oversell after it),
// and the reconciler putting back on sale a unit whose gateway died between admission and publish.
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisPurchaseGate } from '../src/adapters/redis/redis-purchase-gate.js';
import {
  availableAtGate,
  buyAllAtOnce,
  buyNow,
  deleteKeysByPrefix,
  eventsOfItem,
  getItem,
  itemRow,
  listItem,
  purchaseIdsOf,
  purchaseRows,
  readItemEvents,
  request,
  startSystem,
  tally,
  waitForItem,
  waitUntilDecided,
  type TestSystem,
} from './support/system.js';

describe('Redis loses its data', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await startSystem();
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('rebuilds the gate from SQL and sells exactly what is left', async () => {
    const itemId = await listItem(system, { stock: 50 });
    const first = await buyAllAtOnce(
      system,
      Array.from({ length: 20 }, (_, i) => ({ itemId, buyerId: `early-${i}` })),
    );
    expect(tally(first)).toEqual({ '202': 20 });
    await waitUntilDecided(system, purchaseIdsOf(first));
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 20, remaining: 30 });

    const epochKey = `${system.redisPrefix}gate-epoch`;
    let seen: unknown;
    const epochBefore = await system.redis.get(epochKey);
    expect(epochBefore).not.toBeNull();
    const deleted = await deleteKeysByPrefix(system.redis, system.redisPrefix);
    expect(deleted).toBeGreaterThan(0);

    // The gateway notices (it checks every second) and rebuilds the gate from SQL; the stream processor
    // notices too and restores the view from the compacted stock-views topic.
    await waitFor(
      'the gate rebuilt from SQL and the view restored',
      async () => {
        const answer = await request(system.baseUrl, 'GET', `/items/${itemId}`);
        const epoch = await system.redis.get(epochKey);
        // A new epoch: the gate was rebuilt (it may already be, by the time the deletion ends).
        seen = { view: answer.status, epoch, epochBefore };
        return answer.status === 200 && epoch !== null && epoch !== epochBefore ? true : undefined;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 100,
        describe: () => ({ seen, processor: system.processor.output().split('\n').slice(-8) }),
      },
    );
    expect(await availableAtGate(system, itemId)).toBe(30);
    expect(await getItem(system, itemId)).toMatchObject({
      available: 30,
      sold: 20,
      status: 'live',
      version: 21,
    });
    // A purchase decided before the loss is still answered (from SQL when Redis no longer has it).
    const before = await request(system.baseUrl, 'GET', `/purchases/${purchaseIdsOf(first)[0]}`);
    expect(before.body).toMatchObject({ status: 'confirmed' });

    const second = await buyAllAtOnce(
      system,
      Array.from({ length: 100 }, (_, i) => ({ itemId, buyerId: `late-${i}` })),
    );
    expect(tally(second)).toEqual({ '202': 30, '409 SOLD_OUT': 70 });
    const decided = await waitUntilDecided(system, purchaseIdsOf(second.filter((a) => a.status === 202)));
    expect([...decided.values()].every((p) => p.status === 'confirmed')).toBe(true);

    expect(await itemRow(system, itemId)).toMatchObject({ listed: 50, sold: 50, remaining: 0, version: 52 });
    const rows = await purchaseRows(system, itemId);
    expect(rows.filter((row) => row.status === 'confirmed')).toHaveLength(50);
    expect(rows).toHaveLength(50);
    expect(await waitForItem(system, itemId, 52)).toMatchObject({
      available: 0,
      sold: 50,
      status: 'sold-out',
      version: 52,
    });

    // The admission sequence carries on from SQL's last one rather than starting again at 1.
    const bought = eventsOfItem(await readItemEvents(system), itemId).flatMap((event) =>
      event.name === 'ItemBought' ? [event.value.admissionSeq] : [],
    );
    expect(bought).toHaveLength(50);
    expect(new Set(bought).size).toBe(50);
    expect(Math.min(...bought.slice(20))).toBeGreaterThan(20);
  });
});

describe('a gateway dies between admission and publish', () => {
  const RECONCILE_AFTER_MS = 1_000;
  const RECONCILE_INTERVAL_MS = 200;
  let system: TestSystem;
  let redis: Redis;

  beforeAll(async () => {
    system = await startSystem({
      gatewayEnv: {
        RECONCILE_AFTER_MS: String(RECONCILE_AFTER_MS),
        RECONCILE_INTERVAL_MS: String(RECONCILE_INTERVAL_MS),
      },
    });
    redis = new Redis(system.config.REDIS_URL, { maxRetriesPerRequest: 2 });
  });

  afterAll(async () => {
    await redis?.quit();
    await system?.stop();
  });

  it('publishes the stuck purchase within the reconciler bound; SQL decides it and a retry gets it', async () => {
    const itemId = await listItem(system, { stock: 5 });
    // Another gateway's admission that never reached Kafka: the unit is taken at the gate, nothing else.
    const gate = createRedisPurchaseGate({ redis, keyPrefix: system.redisPrefix });
    const purchaseId = randomUUID();
    const idempotencyKey = 'stranded-key-1';
    const admission = await gate.admit({
      itemId,
      buyerId: 'stranded-buyer',
      quantity: 1,
      idempotencyKey,
      requestHash: createHash('sha256')
        .update(JSON.stringify([itemId, 'stranded-buyer', 1]))
        .digest('hex'),
      purchaseId,
      gatewayId: 'gateway-that-died',
    });
    expect(admission).toMatchObject({ kind: 'admitted', available: 4 });
    const admittedAt = admission.kind === 'admitted' ? admission.admittedAt : 0;
    expect(await availableAtGate(system, itemId)).toBe(4);

    // Its buyer retries meanwhile: the retry waits for the original (never answers "nothing was bought"),
    // which the reconciler publishes once it is older than the bound; then it is the same purchase.
    const early = await buyNow(system, { itemId, buyerId: 'stranded-buyer', idempotencyKey });
    const answeredAt = Date.now();
    expect(early.status).toBe(202);
    expect(early.body).toMatchObject({ purchaseId });
    // Not before the bound: until then its own gateway might still be publishing it.
    expect(answeredAt - admittedAt).toBeGreaterThanOrEqual(RECONCILE_AFTER_MS);

    const decided = await waitUntilDecided(system, [purchaseId], 30_000);
    expect(decided.get(purchaseId)).toMatchObject({ status: 'confirmed', buyerId: 'stranded-buyer' });

    // The unit was never handed back: one purchase, one unit sold, and the retry gets that purchase.
    const retry = await buyNow(system, { itemId, buyerId: 'stranded-buyer', idempotencyKey });
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ purchaseId, status: 'confirmed' });
    const rows = await purchaseRows(system, itemId);
    expect(rows.map((row) => [row.purchaseId, row.status])).toEqual([[purchaseId, 'confirmed']]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 1, remaining: 4 });
    expect(await availableAtGate(system, itemId)).toBe(4);
  });
});
