// A retry after Redis forgot its Idempotency-Key: the gate admits it afresh under a new purchase id, and SQL,
// which keeps one purchase per (buyer, item, key), refuses it as DUPLICATE_REQUEST naming the first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purchaseGateKeys } from '../src/adapters/redis/purchase-gate-keys.js';
import {
  availableAtGate,
  buyNow,
  itemRow,
  listItem,
  request,
  sql,
  startSystem,
  type TestSystem,
} from './support/system.js';

describe('a buyer retries with the same Idempotency-Key after Redis lost it', () => {
  let system: TestSystem;

  beforeAll(async () => {
    system = await startSystem();
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('is answered 409 DUPLICATE_REQUEST naming the first purchase, and SQL holds one purchase for the key', async () => {
    // A limit of 2 lets the retry through the gate: the gate is not what stops it here, SQL is.
    const itemId = await listItem(system, { stock: 5, perBuyerLimit: 2 });
    const keys = purchaseGateKeys(system.redisPrefix);
    const buyerId = 'alice';
    const idempotencyKey = 'one-intent-key-1';

    const first = await buyNow(system, { itemId, buyerId, idempotencyKey, prefer: 'wait=20' });
    expect(first.status).toBe(201);
    const originalId = first.body.purchaseId as string;
    expect(first.body).toMatchObject({ status: 'confirmed' });

    // What a failover that lost acknowledged writes can do: the key is gone, everything else is intact.
    expect(await system.redis.del(keys.idempotency(itemId, buyerId, idempotencyKey))).toBe(1);

    const retry = await buyNow(system, { itemId, buyerId, idempotencyKey, prefer: 'wait=20' });
    expect(retry.status).toBe(409);
    const retryId = retry.body.purchaseId as string;
    expect(retryId).not.toBe(originalId);
    expect(retry.body).toMatchObject({
      status: 'rejected',
      reason: 'DUPLICATE_REQUEST',
      originalPurchaseId: originalId,
      error: { code: 'DUPLICATE_REQUEST' },
    });
    expect(retry.body.error?.message).toContain(`GET /purchases/${originalId}`);

    // Polling the same key again replays that answer, and the retry's own status says the same.
    const again = await buyNow(system, { itemId, buyerId, idempotencyKey });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      reason: 'DUPLICATE_REQUEST',
      purchaseId: retryId,
      originalPurchaseId: originalId,
    });
    const status = await request(system.baseUrl, 'GET', `/purchases/${retryId}`);
    expect(status.body).toMatchObject({
      status: 'rejected',
      reason: 'DUPLICATE_REQUEST',
      originalPurchaseId: originalId,
    });
    // Once Redis no longer has the retry's record either, SQL answers with the same original.
    await system.redis.del(keys.purchase(itemId, retryId), keys.purchaseItem(retryId));
    const archived = await request(system.baseUrl, 'GET', `/purchases/${retryId}`);
    expect(archived.body).toMatchObject({
      status: 'rejected',
      reason: 'DUPLICATE_REQUEST',
      originalPurchaseId: originalId,
    });

    const rows = await sql<{ purchase_id: string; status: string; reason: string | null }>(
      system,
      `SELECT purchase_id, status, reason FROM purchases
        WHERE item_id = $1 AND buyer_id = $2 AND idempotency_key = $3 ORDER BY status`,
      [itemId, buyerId, idempotencyKey],
    );
    expect(rows).toEqual([
      { purchase_id: originalId, status: 'confirmed', reason: null },
      { purchase_id: retryId, status: 'rejected', reason: 'DUPLICATE_REQUEST' },
    ]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 1, remaining: 4 });
    // The retry's unit went back on sale and the buyer counts the one unit they own.
    expect(await availableAtGate(system, itemId)).toBe(4);
    expect(await system.redis.hget(keys.buyers(itemId), buyerId)).toBe('1');
  });
});
