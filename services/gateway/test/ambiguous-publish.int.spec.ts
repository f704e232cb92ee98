// The ambiguous failure: the broker appends a purchase but its answer never reaches the gateway (a
// request timeout after the write). The gateway cannot know, so it must not say "nothing was bought": it
// keeps the unit, answers 503 PURCHASE_IN_PROGRESS, and the purchase SQL then decides is the one a retry
// with the same key gets. Runs on a private broker behind a fault proxy that swallows produce answers.
import { startPrivateKafka, waitFor, type PrivateKafka } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableAtGate,
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

const SLOW_MS = 240_000;
let broker: PrivateKafka;
let system: TestSystem;

beforeAll(async () => {
  broker = await startPrivateKafka({ faultProxy: true });
  system = await startSystem({
    kafkaBrokers: [broker.brokers],
    gatewayEnv: { RECONCILE_AFTER_MS: '2000', RECONCILE_INTERVAL_MS: '500' },
  });
}, SLOW_MS);

afterAll(async () => {
  try {
    broker?.proxy?.dropProduceResponses(false);
    await system?.stop();
  } finally {
    await broker?.close();
  }
}, SLOW_MS);

describe('a publish that times out after the broker appended it', { timeout: SLOW_MS }, () => {
  it('is answered 503 PURCHASE_IN_PROGRESS, keeps its unit, and ends as the one purchase SQL confirms', async () => {
    const proxy = broker.proxy;
    if (!proxy) throw new Error('the private broker has no fault proxy');
    const itemId = await listItem(system, { stock: 5 });
    const buyer = { itemId, buyerId: 'unlucky-buyer', idempotencyKey: 'timed-out-key-1' };

    proxy.dropProduceResponses(true);
    const answer = await buyNow(system, buyer);
    proxy.dropProduceResponses(false);
    expect(proxy.stats().droppedResponses).toBeGreaterThan(0);

    // Never "nothing was bought": the record is in the log.
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual(errorShape('PURCHASE_IN_PROGRESS'));
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await availableAtGate(system, itemId)).toBe(4);

    // SQL decides the appended record (and the reconciler's second copy changes nothing).
    const purchaseId = await waitFor(
      'the purchase confirmed in SQL',
      async () => {
        const [row] = await purchaseRows(system, itemId);
        return row?.status === 'confirmed' ? row.purchaseId : undefined;
      },
      { timeoutMs: 60_000 },
    );

    // The buyer retries with the same key and gets that purchase, confirmed.
    const retry = await buyNow(system, buyer);
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ purchaseId, status: 'confirmed' });
    expect((await waitUntilDecided(system, [purchaseId])).get(purchaseId)).toMatchObject({
      status: 'confirmed',
    });
    const status = await request(system.baseUrl, 'GET', `/purchases/${purchaseId}`);
    expect(status.body).toMatchObject({ status: 'confirmed', buyerId: 'unlucky-buyer' });

    expect(await purchaseRows(system, itemId)).toEqual([
      { purchaseId, buyerId: 'unlucky-buyer', quantity: 1, status: 'confirmed', reason: null },
    ]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 1, remaining: 4 });
    expect(await availableAtGate(system, itemId)).toBe(4);
  });
});
