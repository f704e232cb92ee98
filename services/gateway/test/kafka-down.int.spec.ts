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
  system = await startSystem({
    kafkaBrokers: [broker.brokers],
    gatewayEnv: { RECONCILE_AFTER_MS: '2000', RECONCILE_INTERVAL_MS: '500' },
  });
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
  it('answers 503 fast and honestly, gives back only what it knows was not sent, then sells again', async () => {
    const itemId = await listItem(system, { stock: 10 });
    const unsure = { itemId, buyerId: 'outage-buyer-1', idempotencyKey: 'outage-key-0001' };
    const refusedBuyer = { itemId, buyerId: 'outage-buyer-2', idempotencyKey: 'outage-key-0002' };

    await broker.stop();

    // The first purchase goes out on the connection the broker just closed: the producer cannot tell
    // whether it was sent, so the gateway does not say "nothing was bought" and keeps the unit.
    let started = Date.now();
    const first = await buyNow(system, unsure);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(first.status).toBe(503);
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    const firstCode = first.body.error?.code;
    expect(['PURCHASE_IN_PROGRESS', 'SERVICE_UNAVAILABLE']).toContain(firstCode);

    // The next one finds no broker to connect to: certainly not sent, the unit goes back at once.
    started = Date.now();
    const refused = await buyNow(system, refusedBuyer);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual(errorShape('SERVICE_UNAVAILABLE'));
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await availableAtGate(system, itemId)).toBe(firstCode === 'PURCHASE_IN_PROGRESS' ? 9 : 10);
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

    // Both buyers retry with their keys, as told; a refusal while the producer reconnects is allowed.
    const retryUntilAccepted = async (req: typeof unsure): Promise<BuyNowAnswer> => {
      let accepted: BuyNowAnswer | undefined;
      const refusals: number[] = [];
      await waitFor(
        `a buy-now of ${req.buyerId} accepted after the outage`,
        async () => {
          const answer = await buyNow(system, req);
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
      return accepted as BuyNowAnswer;
    };
    const purchaseIds = [
      (await retryUntilAccepted(unsure)).body.purchaseId ?? '',
      (await retryUntilAccepted(refusedBuyer)).body.purchaseId ?? '',
    ];
    const decided = await waitUntilDecided(system, purchaseIds, 60_000);
    expect(purchaseIds.map((id) => decided.get(id)?.status)).toEqual(['confirmed', 'confirmed']);

    // One purchase per buyer: the unsure one was published once more by the reconciler, or afresh.
    expect((await purchaseRows(system, itemId)).map((row) => [row.buyerId, row.status]).sort()).toEqual([
      ['outage-buyer-1', 'confirmed'],
      ['outage-buyer-2', 'confirmed'],
    ]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 2, remaining: 8 });
    expect(await availableAtGate(system, itemId)).toBe(8);
  });
});
