// The processor killed with SIGKILL while events flow: after a restart every view equals the fold of
// every event, the compacted topic agrees with Redis, and the sales totals count each purchase once.
import { ALL_ITEMS, type ItemEvent, type SalesMetrics } from '@buy-now/contracts';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldStockViews } from '../src/domain/stock-view.js';
import { ItemScript } from './support/item-script.js';
import { startTestSystem, type TestSystem } from './support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const ITEMS = 6;
const STOCK = 1_500;
const WAVES = 10;

/** Identical records are copies of one publication; split parts of a window differ in their totals. */
const distinct = (records: readonly SalesMetrics[]) => [
  ...new Map(records.map((record) => [JSON.stringify(record), record])).values(),
];

describe('the stream processor killed mid-stream', () => {
  it('ends with the views of the full fold and counts every purchase once', async () => {
    const t0 = Date.now() - 120_000;
    const scripts = Array.from(
      { length: ITEMS },
      (_, i) => new ItemScript(`crash-${i}`, { stock: STOCK, at: t0 }),
    );
    for (const script of scripts) {
      for (let n = 0; n < STOCK; n++) script.buy(t0 + 10 + n * 20);
    }
    // Interleave the items the way a busy topic would, then cut the stream into waves.
    const events: ItemEvent[] = [];
    for (let index = 0; index < STOCK + 2; index++) {
      for (const script of scripts) if (script.events[index]) events.push(script.events[index] as ItemEvent);
    }
    const waveSize = Math.ceil(events.length / WAVES);
    const waves = Array.from({ length: WAVES }, (_, i) => events.slice(i * waveSize, (i + 1) * waveSize));

    const first = await system.startProcessorChild();
    await system.produce(waves[0] ?? []);
    await waitFor('the first views in Redis', async () =>
      (await system.views.list()).length > 0 ? true : undefined,
    );
    // Kill while the next waves are being produced and folded.
    const producing = (async () => {
      for (const wave of waves.slice(1, 6)) await system.produce(wave);
    })();
    await waitFor('the fold to be under way', async () => {
      const views = await system.views.list();
      return views.reduce((sum, view) => sum + view.sold, 0) > events.length / 8 ? true : undefined;
    });
    expect(await first.stop('SIGKILL')).toBeNull();
    await producing;
    const soldAtKill = (await system.views.list()).reduce((sum, view) => sum + view.sold, 0);
    expect(soldAtKill).toBeLessThan(ITEMS * STOCK);

    for (const wave of waves.slice(6)) await system.produce(wave);
    const second = await system.startProcessorChild();
    await system.waitUntilCaughtUp();

    const expected = foldStockViews(new Map(), events).views;
    const views = await system.views.list();
    expect(views).toEqual([...expected.values()].sort((a, b) => a.itemId.localeCompare(b.itemId)));
    expect(views.every((view) => view.status === 'SOLD_OUT' && view.sold === STOCK)).toBe(true);
    const latest = await system.latestStockViews();
    for (const view of views) expect(latest.get(view.itemId)).toEqual(view);

    // The windows close once the series go quiet (grace 200 ms); totals must come out exact.
    const total = ITEMS * STOCK;
    // Every series closes its windows on its own, so each one is waited for, not only '*'.
    const ordersOf = (records: SalesMetrics[], itemId: string) =>
      records.filter((record) => record.itemId === itemId).reduce((sum, record) => sum + record.orders, 0);
    const metrics = await waitFor('every sales window to be published', async () => {
      const records = distinct(await system.salesMetrics());
      const complete =
        ordersOf(records, ALL_ITEMS) === total &&
        scripts.every((script) => ordersOf(records, script.itemId) === STOCK);
      return complete ? records : undefined;
    });
    const all = metrics.filter((record) => record.itemId === ALL_ITEMS);
    expect(Math.max(...all.map((record) => record.totalOrders))).toBe(total);
    for (const script of scripts) {
      const own = metrics.filter((record) => record.itemId === script.itemId);
      expect(own.reduce((sum, record) => sum + record.orders, 0)).toBe(STOCK);
      expect(Math.max(...own.map((record) => record.totalUnits))).toBe(STOCK);
      expect(own.some((record) => record.timeToSellOutMs === 10 + (STOCK - 1) * 20)).toBe(true);
    }
    await second.stop('SIGTERM');
  });
});
