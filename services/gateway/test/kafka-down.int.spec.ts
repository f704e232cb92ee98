// Kafka unavailable: the broker is stopped for real. Buy-now answers 503 with Retry-After quickly and
// gives the unit back; once the broker is back, purchases go through again without restarting anything.
// The whole system runs on a private broker of this suite: stopping it harms no other suite, and a broker
// some other checkout started on the shared port cannot make the stop a no-op.
import { startPrivateKafka, waitFor, type PrivateKafka } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  availableAtGate,
  buyNow,
  errorShape,
  getItem,
  itemRow,
  listItem,
  purchaseRows,
  request,
  startSystem,
  waitUntilDecided,
  type BuyNowAnswer,
  type TestSystem,
} from './support/system.js';

/** The broker's JVM starts, stops and starts again next to the system's children: slow on a busy machine. */
const SLOW_MS = 240_000;

let broker: PrivateKafka;
let system: TestSystem;

beforeAll(async () => {
  broker = await startPrivateKafka();
  system = await startSystem({ kafkaBrokers: [broker.brokers] });
}, SLOW_MS);

afterAll(async () => {
  try {
    // Tearing the system down deletes its topics and groups: the broker must answer, even after a failure
    // left it stopped. Already running, start() returns at once.
    if (system) await broker?.start();
  } finally {
    try {
      await system?.stop();
    } finally {
      await broker?.close();
    }
  }
}, SLOW_MS);

describe('Kafka unavailable', { timeout: SLOW_MS }, () => {
  it('answers 503 fast and gives the unit back, then sells again once the broker is back', async () => {
    const itemId = await listItem(system, { stock: 10 });
    const idempotencyKey = 'outage-key-0001';

    await broker.stop();

    const started = Date.now();
    const refused = await buyNow(system, { itemId, buyerId: 'outage-buyer', idempotencyKey });
    const tookMs = Date.now() - started;
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual(errorShape('SERVICE_UNAVAILABLE'));
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(tookMs).toBeLessThan(2_000);

    // Nothing was taken: the unit is on sale again and SQL never heard of the attempt.
    expect(await availableAtGate(system, itemId)).toBe(10);
    expect((await getItem(system, itemId)).available).toBe(10);
    expect(await purchaseRows(system, itemId)).toEqual([]);

    await broker.start();
    await waitFor(
      'the gateway to reach Kafka again',
      async () => {
        const ready = await request(system.baseUrl, 'GET', '/readyz');
        return ready.status === 200 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    // The buyer retries with the same key, as told; a refusal while the producer reconnects is allowed,
    // and each one gives its unit back again.
    let accepted: BuyNowAnswer | undefined;
    const refusals: number[] = [];
    await waitFor(
      'a buy-now accepted after the outage',
      async () => {
        const answer = await buyNow(system, { itemId, buyerId: 'outage-buyer', idempotencyKey });
        if (answer.status === 202) {
          accepted = answer;
          return true;
        }
        refusals.push(answer.status);
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, describe: () => refusals },
    );
    expect(refusals.every((status) => status === 503)).toBe(true);
    const purchaseId = accepted?.body.purchaseId ?? '';
    const decided = await waitUntilDecided(system, [purchaseId], 60_000);
    expect(decided.get(purchaseId)).toMatchObject({ status: 'confirmed', buyerId: 'outage-buyer' });

    expect(await purchaseRows(system, itemId)).toEqual([
      { purchaseId, buyerId: 'outage-buyer', quantity: 1, status: 'confirmed', reason: null },
    ]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 1, remaining: 9 });
    expect(await availableAtGate(system, itemId)).toBe(9);
  });
});
