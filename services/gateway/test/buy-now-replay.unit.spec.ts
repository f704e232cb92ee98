// A retry with the same Idempotency-Key gets a 202 only for a purchase Kafka acknowledged: while the
// original is still admitted (in flight, or its gateway died before publishing) the retry is told to come
// back, so no 202 can name a purchase that is never decided. Concurrent retries wait for the original.
import { describe, expect, it } from 'vitest';
import { buyNow, type BuyNowDeps } from '../src/domain/buy-now.js';
import type { PurchaseGate, PurchaseRecord, PurchaseStatus } from '../src/domain/purchase-gate.js';

function depsReplaying(
  status: PurchaseStatus,
  later: PurchaseStatus = status,
): { deps: BuyNowDeps; published: unknown[] } {
  const purchase: PurchaseRecord = {
    purchaseId: 'p-original',
    itemId: 'i1',
    buyerId: 'b1',
    quantity: 1,
    status,
    admittedAt: 1,
    admissionSeq: 7,
    idempotencyKey: 'k1',
  };
  const published: unknown[] = [];
  let reads = 0;
  const gate = {
    admit: () => Promise.resolve({ kind: 'replay' as const, purchase }),
    // The original request's publish is acknowledged (or given up) after a few reads.
    getPurchase: () => {
      reads += 1;
      return Promise.resolve({ ...purchase, status: reads >= 3 ? later : status });
    },
  } as unknown as PurchaseGate;
  const deps: BuyNowDeps = {
    gate,
    commands: {
      publish: (command) => {
        published.push(command);
        return Promise.resolve();
      },
    },
    outcomes: { watch: () => ({ decided: Promise.resolve(false), cancel: () => undefined }) },
    // The replay's bounded wait reads this clock, so it must move.
    clock: () => Date.now(),
    newId: () => 'p-new',
    gatewayId: 'gw',
    replayWaitMs: 300,
  };
  return { deps, published };
}

const retry = { itemId: 'i1', buyerId: 'b1', quantity: 1, idempotencyKey: 'k1' };

describe('buy-now replay of an idempotency key', () => {
  it.each(['admitted', 'withdrawn'] as const)(
    'answers 503 PURCHASE_IN_PROGRESS when the original stays %s, and publishes nothing',
    async (status) => {
      const { deps, published } = depsReplaying(status);
      await expect(buyNow(deps, retry)).rejects.toMatchObject({
        code: 'PURCHASE_IN_PROGRESS',
        statusCode: 503,
        canRetry: true,
        retryAfterSeconds: 1,
      });
      expect(published).toEqual([]);
    },
  );

  it.each(['pending', 'confirmed'] as const)('replays a %s purchase as accepted', async (status) => {
    const { deps } = depsReplaying(status);
    const answer = await buyNow(deps, retry);
    expect(answer).toMatchObject({
      kind: 'accepted',
      replayed: true,
      purchase: { purchaseId: 'p-original' },
    });
  });

  it('waits for an admitted original: 202 once acknowledged, 503 once given back', async () => {
    const acknowledged = depsReplaying('admitted', 'pending');
    expect(await buyNow(acknowledged.deps, retry)).toMatchObject({
      kind: 'accepted',
      purchase: { purchaseId: 'p-original', status: 'pending' },
    });
    const released = depsReplaying('admitted', 'withdrawn');
    await expect(buyNow(released.deps, retry)).rejects.toMatchObject({ code: 'PURCHASE_IN_PROGRESS' });
  });

  it('replays a rejected purchase as rejected', async () => {
    const { deps } = depsReplaying('rejected');
    expect(await buyNow(deps, retry)).toMatchObject({ kind: 'rejected', purchaseId: 'p-original' });
  });
});
