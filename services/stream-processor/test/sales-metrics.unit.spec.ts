import { ALL_ITEMS, type ItemEvent, type SalesMetrics } from '@buy-now/contracts';
import { describe, expect, it } from 'vitest';
import {
  closeQuietWindow,
  emptySalesState,
  foldSales,
  openWindowDueAt,
  orphanedSalesMetrics,
  salesDueAt,
  salesFactOf,
  withoutPublished,
  type SalesFact,
  type SalesSeries,
  type SalesState,
} from '../src/domain/sales-metrics.js';
import { ItemScript } from './support/item-script.js';

const W = 1_000;
// Aligned to a window, so window n is [T0 + n*W, T0 + (n+1)*W).
const T0 = 1_750_000_000_000;
const NOW = T0 + 100_000;

const factsOf = (events: readonly ItemEvent[]): SalesFact[] =>
  events.map(salesFactOf).filter((fact): fact is SalesFact => fact !== null);

const item = (key: string): SalesSeries => ({ key, windowMs: W });
const all: SalesSeries = { key: ALL_ITEMS, windowMs: W };

/** Orders per window start over every record, which is how a reader adds up split windows. */
const ordersByWindow = (records: readonly SalesMetrics[]) => {
  const sums = new Map<number, number>();
  for (const r of records) sums.set(r.windowStart - T0, (sums.get(r.windowStart - T0) ?? 0) + r.orders);
  return Object.fromEntries(sums);
};

describe('the sales metrics fold', () => {
  it('closes a window when a sale of a later window arrives, with the running totals', () => {
    const script = new ItemScript('a', { stock: 100, at: T0 });
    script
      .buy(T0 + 10)
      .buy(T0 + 900, 3)
      .buy(T0 + 1_500)
      .buy(T0 + 3_200, 2);
    const fold = foldSales(item('a'), emptySalesState, new Map(), factsOf(script.events), NOW);

    expect(fold.closed).toEqual([
      {
        itemId: 'a',
        windowStart: T0,
        windowEnd: T0 + W,
        orders: 2,
        units: 4,
        totalOrders: 2,
        totalUnits: 4,
        timeToSellOutMs: null,
      },
      {
        itemId: 'a',
        windowStart: T0 + W,
        windowEnd: T0 + 2 * W,
        orders: 1,
        units: 1,
        totalOrders: 3,
        totalUnits: 5,
        timeToSellOutMs: null,
      },
    ] satisfies SalesMetrics[]);
    expect(fold.state).toMatchObject({
      totalOrders: 4,
      totalUnits: 7,
      open: { start: T0 + 3 * W, orders: 1, units: 2 },
      unpublished: fold.closed.map((record) => ({ record, closedAt: NOW })),
    });
    expect(fold.counted).toEqual(new Map([['a', 5]]));
  });

  it('counts nothing twice: duplicates in a batch, a redelivered batch, a replay from scratch', () => {
    const script = new ItemScript('a', { stock: 100, at: T0 });
    for (let i = 0; i < 30; i++) script.buy(T0 + i * 100);
    const facts = factsOf(script.events);

    const once = foldSales(item('a'), emptySalesState, new Map(), facts, NOW);
    const doubled = foldSales(item('a'), emptySalesState, new Map(), [...facts, ...facts.slice(5, 20)], NOW);
    expect(doubled.state).toEqual(once.state);

    const replay = foldSales(item('a'), once.state, once.counted, facts, NOW + 1);
    expect(replay.changed).toBe(false);
    expect(replay.closed).toEqual([]);
    expect(replay.state).toMatchObject({ totalOrders: 30, totalUnits: 30 });
  });

  it("emits a late part of a window already closed, so the '*' series adds up across partitions", () => {
    const a = new ItemScript('a', { stock: 100, at: T0 }).buy(T0 + 100).buy(T0 + 1_100);
    const b = new ItemScript('b', { stock: 100, at: T0 })
      .buy(T0 + 200)
      .buy(T0 + 300)
      .buy(T0 + 1_200);
    const bought = (script: ItemScript) => factsOf(script.events).filter((fact) => fact.kind === 'bought');

    // Partition of item a is ahead: it closes window 0 before item b's sales of window 0 arrive.
    const first = foldSales(all, emptySalesState, new Map(), bought(a), NOW);
    const second = foldSales(all, first.state, first.counted, bought(b), NOW);
    const closed = [...first.closed, ...second.closed];

    expect(closed).toEqual([
      expect.objectContaining({ windowStart: T0, orders: 1, totalOrders: 1 }),
      expect.objectContaining({ windowStart: T0, orders: 2, totalOrders: 5 }),
    ]);
    expect(second.state.open).toEqual({ start: T0 + W, orders: 2, units: 2 });
    expect(ordersByWindow(closed)).toEqual({ 0: 3 });
    expect(second.state.totalOrders).toBe(5);
    expect(closed.every((record) => record.itemId === ALL_ITEMS && record.timeToSellOutMs === null)).toBe(
      true,
    );
  });

  it('closes a quiet window on the clock, and a later sale of that window becomes a second part', () => {
    const script = new ItemScript('a', { stock: 100, at: T0 }).buy(T0 + 100).buy(T0 + 200);
    const facts = factsOf(script.events);
    const counted = foldSales(item('a'), emptySalesState, new Map(), facts, T0 + 300);
    const grace = 1_000;
    expect(openWindowDueAt(item('a'), counted.state, grace)).toBe(T0 + W + grace);

    expect(closeQuietWindow(item('a'), counted.state, T0 + W + grace - 1, grace).closed).toEqual([]);
    const closed = closeQuietWindow(item('a'), counted.state, T0 + W + grace, grace);
    expect(closed.closed).toEqual([expect.objectContaining({ windowStart: T0, orders: 2, totalOrders: 2 })]);
    expect(closed.state.open).toBeNull();

    // The processor was down: the rest of window 0 arrives after the timer closed it.
    script.buy(T0 + 900);
    const rest = foldSales(item('a'), closed.state, counted.counted, factsOf(script.events), T0 + 5_000);
    expect(rest.state.open).toEqual({ start: T0, orders: 1, units: 1 });
    const last = closeQuietWindow(item('a'), rest.state, T0 + 5_000 + grace, grace);
    expect(ordersByWindow([...closed.closed, ...last.closed])).toEqual({ 0: 3 });
  });

  it('lets a series that is still catching up keep its window until it goes quiet', () => {
    const script = new ItemScript('a', { stock: 100, at: T0 }).buy(T0 + 100);
    const fold = foldSales(item('a'), emptySalesState, new Map(), factsOf(script.events), NOW);
    expect(openWindowDueAt(item('a'), fold.state, 1_000)).toBe(NOW + 1_000);
    expect(closeQuietWindow(item('a'), fold.state, NOW + 999, 1_000).closed).toEqual([]);
  });

  it('measures the time to sell out from the later of listing and startsAt, cleared by a restock', () => {
    const script = new ItemScript('a', { stock: 2, at: T0, startsAt: T0 + 5_000 });
    script.buy(T0 + 5_100).buy(T0 + 8_000);
    let fold = foldSales(item('a'), emptySalesState, new Map(), factsOf(script.events), NOW);
    expect(fold.state).toMatchObject({ saleOpenedAt: T0 + 5_000, soldOutAt: T0 + 8_000 });
    const closed = closeQuietWindow(item('a'), fold.state, NOW + 10_000, 1_000).closed;
    expect(closed).toEqual([expect.objectContaining({ windowStart: T0 + 8 * W, timeToSellOutMs: 3_000 })]);

    script.adjust(T0 + 9_000, 1);
    fold = foldSales(item('a'), fold.state, fold.counted, factsOf(script.events), NOW);
    expect(fold.state.soldOutAt).toBeNull();
    script.buy(T0 + 12_000);
    fold = foldSales(item('a'), fold.state, new Map([['a', 5]]), factsOf(script.events), NOW);
    expect(fold.closed).toEqual([
      expect.objectContaining({ windowStart: T0 + 8 * W, timeToSellOutMs: null }),
    ]);
    expect(fold.state.soldOutAt).toBe(T0 + 12_000);
  });

  it('publishes the time to sell out on a record of its own when no window is open to carry it', () => {
    const script = new ItemScript('a', { stock: 1, at: T0 });
    const listed = foldSales(item('a'), emptySalesState, new Map(), factsOf(script.events), NOW);
    script.buy(T0 + 300);
    const [, bought, soldOut] = factsOf(script.events) as [SalesFact, SalesFact, SalesFact];
    const sale = foldSales(item('a'), listed.state, listed.counted, [bought], NOW);
    const closedByTimer = closeQuietWindow(item('a'), sale.state, NOW + 5_000, 1_000);
    expect(closedByTimer.closed).toEqual([expect.objectContaining({ orders: 1, timeToSellOutMs: null })]);

    // The processor was down between the purchase and the sell-out.
    const late = foldSales(item('a'), closedByTimer.state, new Map([['a', 2]]), [soldOut], NOW + 6_000);
    expect(late.closed).toEqual([
      {
        itemId: 'a',
        windowStart: T0,
        windowEnd: T0 + W,
        orders: 0,
        units: 0,
        totalOrders: 1,
        totalUnits: 1,
        timeToSellOutMs: 300,
      },
    ] satisfies SalesMetrics[]);
    expect(foldSales(item('a'), late.state, new Map([['a', 3]]), [soldOut], NOW).closed).toEqual([]);
  });

  it('forgets only the records known to be published', () => {
    const script = new ItemScript('a', { stock: 100, at: T0 })
      .buy(T0)
      .buy(T0 + W)
      .buy(T0 + 2 * W);
    const fold = foldSales(item('a'), emptySalesState, new Map(), factsOf(script.events), NOW);
    expect(fold.state.unpublished).toHaveLength(2);
    const [first, second] = fold.closed as [SalesMetrics, SalesMetrics];
    const state: SalesState = withoutPublished(fold.state, [first]);
    expect(state.unpublished).toEqual([{ record: second, closedAt: NOW }]);
    expect(withoutPublished(state, [first])).toBe(state);
  });

  it('leaves a closed record to its writer for a while, then lets anyone publish it', () => {
    const script = new ItemScript('a', { stock: 100, at: T0 }).buy(T0).buy(T0 + W);
    const fold = foldSales(item('a'), emptySalesState, new Map(), factsOf(script.events), NOW);
    expect(orphanedSalesMetrics(fold.state, NOW + 4_999, 5_000)).toEqual([]);
    expect(orphanedSalesMetrics(fold.state, NOW + 5_000, 5_000)).toEqual(fold.closed);
    // Due for the orphan before the open window (whose series was last counted at NOW).
    expect(salesDueAt(item('a'), fold.state, 1_000, 500)).toBe(NOW + 500);
    expect(salesDueAt(item('a'), withoutPublished(fold.state, fold.closed), 1_000, 500)).toBe(NOW + 1_000);
    expect(salesDueAt(item('a'), emptySalesState, 1_000, 500)).toBeNull();
  });
});
