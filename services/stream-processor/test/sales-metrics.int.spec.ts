// Sales metrics through the real broker: purchases in known one-second windows come out as SalesMetrics
// per item and for '*' that add up to every order, and a replay from offset 0 counts nothing again.
import { ALL_ITEMS, type SalesMetrics } from '@buy-now/contracts';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStreamProcessor } from '../src/stream-processor.js';
import { ItemScript } from './support/item-script.js';
import { startTestSystem, type TestSystem } from './support/system.js';

let system: TestSystem;
let processor: RunningStreamProcessor;

beforeAll(async () => {
  system = await startTestSystem({ METRICS_WINDOW_MS: '1000', METRICS_GRACE_MS: '200' });
  processor = await system.startProcessor();
});

afterAll(async () => {
  await system?.stop();
});

const W = 1_000;
// Aligned to a window a minute ago: window n is [T0 + n*W, T0 + (n+1)*W).
const T0 = Math.floor((Date.now() - 60_000) / W) * W;

/** Orders and units per window (n) of one series, over every record of it. */
const byWindow = (records: readonly SalesMetrics[], itemId: string) => {
  const sums: Record<number, { orders: number; units: number }> = {};
  for (const r of records.filter((record) => record.itemId === itemId)) {
    const n = (r.windowStart - T0) / W;
    sums[n] = { orders: (sums[n]?.orders ?? 0) + r.orders, units: (sums[n]?.units ?? 0) + r.units };
  }
  return sums;
};

const distinct = (records: readonly SalesMetrics[]) => [
  ...new Map(records.map((record) => [JSON.stringify(record), record])).values(),
];

describe('sales metrics', () => {
  // a: 40 single units in windows 0, 1, 2, selling out in window 2; b: 20 orders of 2 units in windows 1, 3.
  const a = new ItemScript('m-a', { stock: 40, at: T0 });
  const b = new ItemScript('m-b', { stock: 100, at: T0 });
  for (let k = 0; k < 15; k++) a.buy(T0 + 10 * k);
  for (let k = 0; k < 10; k++) a.buy(T0 + W + 10 * k);
  for (let k = 0; k < 15; k++) a.buy(T0 + 2 * W + 10 * k);
  for (let k = 0; k < 8; k++) b.buy(T0 + W + 50 + 10 * k, 2);
  for (let k = 0; k < 12; k++) b.buy(T0 + 3 * W + 10 * k, 2).reject(T0 + 3 * W + 10 * k, 'LIMIT_EXCEEDED');

  it('emits windows per item and for every item that add up to each order', async () => {
    await system.produce([...a.events, ...b.events]);
    await system.waitUntilCaughtUp();

    const records = await waitFor('every window to close and be published', async () => {
      const all = distinct(await system.salesMetrics());
      // Each series closes its windows on its own: wait for all three, not just '*'.
      const orders = (itemId: string) =>
        all.filter((r) => r.itemId === itemId).reduce((sum, r) => sum + r.orders, 0);
      return orders(ALL_ITEMS) === 60 && orders('m-a') === 40 && orders('m-b') === 20 ? all : undefined;
    });
    expect(byWindow(records, 'm-a')).toEqual({
      0: { orders: 15, units: 15 },
      1: { orders: 10, units: 10 },
      2: { orders: 15, units: 15 },
    });
    expect(byWindow(records, 'm-b')).toEqual({ 1: { orders: 8, units: 16 }, 3: { orders: 12, units: 24 } });
    expect(byWindow(records, ALL_ITEMS)).toEqual({
      0: { orders: 15, units: 15 },
      1: { orders: 18, units: 26 },
      2: { orders: 15, units: 15 },
      3: { orders: 12, units: 24 },
    });

    const last = (itemId: string) =>
      records
        .filter((r) => r.itemId === itemId)
        .sort((x, y) => x.totalOrders - y.totalOrders)
        .at(-1);
    expect(last(ALL_ITEMS)).toMatchObject({ totalOrders: 60, totalUnits: 80, timeToSellOutMs: null });
    expect(last('m-a')).toMatchObject({ totalOrders: 40, totalUnits: 40, timeToSellOutMs: 2 * W + 140 });
    expect(last('m-b')).toMatchObject({ totalOrders: 20, totalUnits: 40, timeToSellOutMs: null });
  });

  it('counts nothing again when the processor replays item-events from offset 0', async () => {
    const viewsBefore = await system.views.list();
    const metricsBefore = await system.endOffsets(system.names.salesMetricsTopic);
    await processor.stop();
    await system.resetProcessorOffsets();
    processor = await system.startProcessor();
    await system.waitUntilCaughtUp();
    expect(processor.consumer.health().recordsHandled).toBe(a.events.length + b.events.length);
    // Long enough for the timer (grace 200 ms) to close and publish anything a replay had reopened.
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    expect(await system.endOffsets(system.names.salesMetricsTopic)).toEqual(metricsBefore);
    expect(await system.views.list()).toEqual(viewsBefore);
  });
});
