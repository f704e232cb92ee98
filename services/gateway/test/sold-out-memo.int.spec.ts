// An instance refuses a sold-out item from what the gate last said, without a Redis round trip, and:
// - a buyer who holds a purchase of the item still gets it back on a retry with the same key;
// - every refusal names an item version at which the gate had nothing left;
// - a restock reopens sales within one version: once the restock's view is out, the next buyer is
//   admitted. The memo's bound is set far beyond the test, so only the reopening notices can do that.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@buy-now/testkit';
import {
  ADMIN_TOKEN,
  RAISED_RATE_LIMITS,
  buyNow,
  listItem,
  request,
  startSystem,
  waitForItem,
  type BuyNowAnswer,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ gatewayEnv: { ...RAISED_RATE_LIMITS, SOLD_OUT_MEMO_MS: '60000' } });
});

afterAll(async () => {
  await system?.stop();
});

async function refusedLocally(): Promise<number> {
  const text = (await request(system.baseUrl, 'GET', '/metrics')).text;
  const match = /buynow_sold_out_refused_locally_total\{service="gateway"\} (\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

const gateVersion = async (itemId: string) =>
  Number(await system.redis.hget(`${system.redisPrefix}{item:${itemId}}:gate`, 'version'));

describe('a sold-out item refused from memory', () => {
  it('repeats only what the gate said, answers a buyer with a purchase, and reopens on a restock', async () => {
    const itemId = await listItem(system, { stock: 2, perBuyerLimit: 1 });
    const alice = await buyNow(system, { itemId, buyerId: 'alice', prefer: 'wait=20' });
    const bob = await buyNow(system, { itemId, buyerId: 'bob', prefer: 'wait=20' });
    expect([alice.status, bob.status]).toEqual([201, 201]);
    const soldOutVersion = await gateVersion(itemId);

    // Refusals until the instance has learned the item (one gate answer, then its buyers).
    const refusals: BuyNowAnswer[] = [];
    const before = await refusedLocally();
    await waitFor(
      'a refusal from memory',
      async () => {
        refusals.push(await buyNow(system, { itemId, buyerId: `late-${randomUUID()}` }));
        return (await refusedLocally()) > before ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 10 },
    );
    for (let i = 0; i < 20; i++) refusals.push(await buyNow(system, { itemId, buyerId: `late-${i}` }));
    expect((await refusedLocally()) - before).toBeGreaterThanOrEqual(20);

    // Alice asks again with her key: her purchase, not SOLD_OUT.
    const again = await buyNow(system, {
      itemId,
      buyerId: 'alice',
      idempotencyKey: alice.request.idempotencyKey,
      prefer: 'wait=5',
    });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ purchaseId: alice.body.purchaseId, status: 'confirmed' });

    // A restock: answers while it travels are refusals at the sold-out version, then sales reopen.
    const restock = await request(system.baseUrl, 'POST', `/admin/items/${itemId}/stock`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      json: { delta: 3 },
    });
    expect(restock.status).toBe(202);
    const restockVersion = soldOutVersion + 1;
    let accepted: BuyNowAnswer | undefined;
    while (accepted === undefined) {
      const answer = await buyNow(system, { itemId, buyerId: `after-${randomUUID()}` });
      if (answer.status === 202 || answer.status === 201) accepted = answer;
      else {
        refusals.push(answer);
        if (refusals.length > 5_000) throw new Error('the restock never reopened sales');
      }
    }
    // Within one version: by the time the restock's view is out, sales are open.
    await waitForItem(system, itemId, restockVersion);
    const next = await buyNow(system, { itemId, buyerId: `after-view-${randomUUID()}` });
    expect(next.status).toBe(202);

    expect(refusals.length).toBeGreaterThan(20);
    for (const refusal of refusals) {
      expect(refusal.status).toBe(409);
      expect(refusal.body).toMatchObject({ reason: 'SOLD_OUT', available: 0 });
      // The gate had nothing left at every version a refusal names.
      expect(refusal.body.itemVersion).toBeGreaterThanOrEqual(soldOutVersion);
      expect(refusal.body.itemVersion).toBeLessThan(restockVersion);
    }
  });
});
