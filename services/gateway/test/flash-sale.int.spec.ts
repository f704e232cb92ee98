// The flash sale end to end: thousands of buyers at once on one item, through the gateway, Kafka, the
// reservation service and SQL. Exactly the stock is sold, first come first served, and every view agrees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buyAllAtOnce,
  eventsOfItem,
  itemRow,
  listItem,
  oneToN,
  purchaseIdsOf,
  purchaseRows,
  readItemEvents,
  startSystem,
  storedVersions,
  tally,
  waitForItem,
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

describe('flash sale', () => {
  it('sells exactly 100 units to 2,000 buyers at once, in admission order', async () => {
    const itemId = await listItem(system, { stock: 100 });

    const answers = await buyAllAtOnce(
      system,
      Array.from({ length: 2_000 }, (_, i) => ({ itemId, buyerId: `buyer-${i}` })),
    );

    // The gate decides everyone at once: 100 accepted, the rest refused without touching Kafka.
    expect(tally(answers)).toEqual({ '202': 100, '409 SOLD_OUT': 1_900 });
    const accepted = answers.filter((a) => a.status === 202);
    for (const answer of accepted) {
      expect(answer.body).toMatchObject({
        status: 'pending',
        itemId,
        statusUrl: `/purchases/${answer.body.purchaseId}`,
      });
    }
    for (const answer of answers.filter((a) => a.status === 409)) {
      expect(answer.body).toMatchObject({
        status: 'rejected',
        reason: 'SOLD_OUT',
        error: { code: 'SOLD_OUT' },
      });
    }
    const purchaseIds = purchaseIdsOf(accepted);
    expect(new Set(purchaseIds).size).toBe(100);

    // Every accepted purchase ends confirmed.
    const decided = await waitUntilDecided(system, purchaseIds);
    expect([...decided.values()].map((p) => p.status)).toEqual(
      Array.from({ length: 100 }, () => 'confirmed'),
    );

    // SQL, the authority.
    expect(await itemRow(system, itemId)).toEqual({ listed: 100, sold: 100, remaining: 0, version: 102 });
    const rows = await purchaseRows(system, itemId);
    expect(rows).toHaveLength(100);
    expect(rows.every((row) => row.status === 'confirmed' && row.quantity === 1)).toBe(true);
    expect(new Set(rows.map((row) => row.purchaseId))).toEqual(new Set(purchaseIds));
    expect(new Set(rows.map((row) => row.buyerId)).size).toBe(100);
    const acceptedBuyers = new Set(accepted.map((a) => a.request.buyerId));
    expect(new Set(rows.map((row) => row.buyerId))).toEqual(acceptedBuyers);
    expect(await storedVersions(system, itemId)).toEqual(oneToN(102));

    // The live view, once the stream processor folded the last event.
    expect(await waitForItem(system, itemId, 102)).toMatchObject({
      available: 0,
      sold: 100,
      status: 'sold-out',
      version: 102,
    });

    // The log: one listing, 100 sales, one sell-out, versions 1..102 without a gap.
    const events = eventsOfItem(await readItemEvents(system), itemId);
    const counts: Record<string, number> = {};
    for (const event of events) counts[event.name] = (counts[event.name] ?? 0) + 1;
    expect(counts).toEqual({ ItemListed: 1, ItemBought: 100, OutOfStock: 1 });
    const versions = events.map((event) => (event.name === 'PurchaseRejected' ? null : event.value.version));
    expect(versions).toEqual(oneToN(102));
    const bought = events.flatMap((event) => (event.name === 'ItemBought' ? [event.value] : []));
    expect(new Set(bought.map((b) => b.purchaseId))).toEqual(new Set(purchaseIds));
    expect(bought.map((b) => b.remaining)).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));

    // First come, first served: SQL decided in the order the gate admitted.
    expect(bought.map((b) => b.admissionSeq)).toEqual(oneToN(100));
  });

  it('holds every buyer to the per-buyer limit under concurrency', async () => {
    const itemId = await listItem(system, { stock: 1_000, perBuyerLimit: 2 });

    const requests = Array.from({ length: 500 }, (_, i) => ({
      itemId,
      buyerId: `limited-buyer-${i % 50}`,
      quantity: 1,
    }));
    const answers = await buyAllAtOnce(system, requests);

    expect(tally(answers)).toEqual({ '202': 100, '409 LIMIT_EXCEEDED': 400 });
    const acceptedPerBuyer = new Map<string, number>();
    for (const answer of answers.filter((a) => a.status === 202)) {
      acceptedPerBuyer.set(answer.request.buyerId, (acceptedPerBuyer.get(answer.request.buyerId) ?? 0) + 1);
    }
    expect(acceptedPerBuyer.size).toBe(50);
    expect([...acceptedPerBuyer.values()].every((n) => n === 2)).toBe(true);

    const decided = await waitUntilDecided(system, purchaseIdsOf(answers.filter((a) => a.status === 202)));
    expect([...decided.values()].every((p) => p.status === 'confirmed')).toBe(true);

    const rows = await purchaseRows(system, itemId);
    const confirmedPerBuyer = new Map<string, number>();
    for (const row of rows.filter((r) => r.status === 'confirmed')) {
      confirmedPerBuyer.set(row.buyerId, (confirmedPerBuyer.get(row.buyerId) ?? 0) + row.quantity);
    }
    expect(rows).toHaveLength(100);
    expect(confirmedPerBuyer.size).toBe(50);
    expect(Math.max(...confirmedPerBuyer.values())).toBe(2);
    expect(Math.min(...confirmedPerBuyer.values())).toBe(2);
    expect(await itemRow(system, itemId)).toEqual({ listed: 1_000, sold: 100, remaining: 900, version: 101 });
    expect(await waitForItem(system, itemId, 101)).toMatchObject({
      available: 900,
      sold: 100,
      status: 'live',
      version: 101,
    });
  });
});
