// Retries end to end: one Idempotency-Key is one purchase whatever the concurrency, a reused key with
// another body is refused, and `Prefer: wait` gives the final answer in one round trip. Admin writes with
// a key are applied once however often they are retried.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@buy-now/testkit';
import {
  ADMIN_TOKEN,
  availableAtGate,
  buyAllAtOnce,
  buyNow,
  errorShape,
  itemRow,
  listItem,
  purchaseRows,
  request,
  startSystem,
  waitUntilDecided,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

describe('idempotency', () => {
  it('turns 20 concurrent sends of one key into one purchase with one answer', async () => {
    const itemId = await listItem(system, { stock: 10, perBuyerLimit: 5 });
    const idempotencyKey = 'retry-key-0001';

    const answers = await buyAllAtOnce(
      system,
      Array.from({ length: 20 }, () => ({ itemId, buyerId: 'retrying-buyer', quantity: 2, idempotencyKey })),
    );

    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([202]));
    const purchaseIds = new Set(answers.map((a) => a.body.purchaseId));
    expect(purchaseIds.size).toBe(1);
    const [purchaseId] = [...purchaseIds] as [string];
    expect(purchaseId).toEqual(expect.any(String));

    const decided = await waitUntilDecided(system, [purchaseId]);
    expect(decided.get(purchaseId)).toMatchObject({
      status: 'confirmed',
      buyerId: 'retrying-buyer',
      quantity: 2,
    });
    const rows = await purchaseRows(system, itemId);
    expect(rows).toEqual([
      { purchaseId, buyerId: 'retrying-buyer', quantity: 2, status: 'confirmed', reason: null },
    ]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 2, remaining: 8 });

    // A retry after the decision gets the original purchase back, and nothing more is bought.
    const late = await buyNow(system, { itemId, buyerId: 'retrying-buyer', quantity: 2, idempotencyKey });
    expect(late.status).toBe(202);
    expect(late.body).toMatchObject({ purchaseId, status: 'confirmed' });

    // The same key with another body is another request: refused, and nothing changes.
    const reused = await buyNow(system, { itemId, buyerId: 'retrying-buyer', quantity: 1, idempotencyKey });
    expect(reused.status).toBe(422);
    expect(reused.body).toEqual(errorShape('IDEMPOTENCY_KEY_REUSED'));
    expect(await purchaseRows(system, itemId)).toHaveLength(1);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 2, remaining: 8 });
  });

  it('keeps each buyer to their own keys: two buyers sending the same key buy one unit each', async () => {
    const itemId = await listItem(system, { stock: 5 });
    const idempotencyKey = 'shared-key-0001';

    const [first, second] = await buyAllAtOnce(system, [
      { itemId, buyerId: 'buyer-one', idempotencyKey },
      { itemId, buyerId: 'buyer-two', idempotencyKey },
    ]);
    expect([first?.status, second?.status]).toEqual([202, 202]);
    expect(first?.body.purchaseId).not.toBe(second?.body.purchaseId);

    const ids = [first?.body.purchaseId ?? '', second?.body.purchaseId ?? ''];
    const decided = await waitUntilDecided(system, ids);
    expect(ids.map((id) => decided.get(id)?.status)).toEqual(['confirmed', 'confirmed']);
    expect((await purchaseRows(system, itemId)).map((row) => row.buyerId).sort()).toEqual([
      'buyer-one',
      'buyer-two',
    ]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 2, remaining: 3 });
  });

  it('answers Prefer: wait with the decision: 201 confirmed, then 409 once sold out', async () => {
    const itemId = await listItem(system, { stock: 1 });

    const first = await buyNow(system, { itemId, buyerId: 'patient-buyer', prefer: 'wait=5' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'confirmed', itemId, buyerId: 'patient-buyer' });
    expect(first.headers.get('preference-applied')).toBe('wait=5');
    const status = await request(system.baseUrl, 'GET', `/purchases/${first.body.purchaseId}`);
    expect(status.body).toMatchObject({ purchaseId: first.body.purchaseId, status: 'confirmed' });

    const second = await buyNow(system, { itemId, buyerId: 'late-buyer', prefer: 'wait=5' });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({
      status: 'rejected',
      reason: 'SOLD_OUT',
      error: { code: 'SOLD_OUT' },
    });

    expect(await purchaseRows(system, itemId)).toMatchObject([
      { buyerId: 'patient-buyer', status: 'confirmed' },
    ]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 1, remaining: 0 });
  });

  it('applies an admin restock or listing sent with an Idempotency-Key once, however often it is retried', async () => {
    const itemId = await listItem(system, { stock: 5 });
    const admin = (path: string, json: unknown, key: string) =>
      request(system.baseUrl, 'POST', path, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'idempotency-key': key },
        json,
      });

    const restocks = await Promise.all(
      [1, 2, 3].map(() => admin(`/admin/items/${itemId}/stock`, { delta: 4 }, 'restock-key-0001')),
    );
    expect(restocks.map((answer) => answer.status)).toEqual([202, 202, 202]);
    expect(new Set(restocks.map((answer) => answer.body.commandId)).size).toBe(1);
    const reused = await admin(`/admin/items/${itemId}/stock`, { delta: 7 }, 'restock-key-0001');
    expect(reused.status).toBe(422);
    expect(reused.body).toEqual(errorShape('IDEMPOTENCY_KEY_REUSED'));
    await waitFor('the restock decided', async () =>
      (await itemRow(system, itemId))?.remaining === 9 ? true : undefined,
    );
    // A later, different restock goes through: nothing was held back.
    expect((await admin(`/admin/items/${itemId}/stock`, { delta: 1 }, 'restock-key-0002')).status).toBe(202);
    await waitFor('both restocks decided', async () =>
      (await availableAtGate(system, itemId)) === 10 ? true : undefined,
    );
    expect(await itemRow(system, itemId)).toMatchObject({ listed: 10, remaining: 10 });

    // A listing without an itemId, retried: the same item, not a second one and not 409 ITEM_EXISTS.
    const listing = { title: 'Retried sneaker', priceMinor: 100, currency: 'EUR', stock: 3 };
    const first = await admin('/admin/items', listing, 'listing-key-0001');
    const again = await admin('/admin/items', listing, 'listing-key-0001');
    expect([first.status, again.status]).toEqual([201, 201]);
    expect(again.body.itemId).toBe(first.body.itemId);
  });
});
