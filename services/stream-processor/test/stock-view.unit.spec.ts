import type { ItemEvent, StockView } from '@buy-now/contracts';
import { describe, expect, it } from 'vitest';
import { evolveStockView, foldStockViews } from '../src/domain/stock-view.js';
import { ItemScript } from './support/item-script.js';

const T0 = 1_750_000_000_000;

const foldAll = (events: readonly ItemEvent[]) => foldStockViews(new Map(), events).views;

/** Folds in batches of `size`, carrying the views from one batch to the next as the processor does. */
const foldInBatches = (events: readonly ItemEvent[], size: number) => {
  let views = new Map<string, StockView>();
  for (let start = 0; start < events.length; start += size) {
    views = foldStockViews(views, events.slice(start, start + size)).views;
  }
  return views;
};

describe('the stock view fold', () => {
  it('follows a sale from listing to sold out', () => {
    const script = new ItemScript('a', { stock: 3, at: T0 })
      .buy(T0 + 100)
      .reject(T0 + 150, 'LIMIT_EXCEEDED')
      .buy(T0 + 200, 2);
    expect(foldAll(script.events).get('a')).toEqual({
      itemId: 'a',
      version: 4,
      title: 'Item a',
      priceMinor: 4_999,
      currency: 'EUR',
      perBuyerLimit: 5,
      listed: 3,
      available: 0,
      sold: 3,
      status: 'SOLD_OUT',
      startsAt: null,
      lastSaleAt: T0 + 200,
      soldOutAt: T0 + 200,
      updatedAt: T0 + 200,
    } satisfies StockView);
  });

  it('gives identical views for a contiguous, a duplicated, a batched and a from-scratch replay', () => {
    const a = new ItemScript('a', { stock: 50, at: T0 });
    const b = new ItemScript('b', { stock: 20, at: T0 + 5, startsAt: T0 + 1_000 });
    for (let i = 0; i < 50; i++) a.buy(T0 + 10 * i);
    for (let i = 0; i < 10; i++) b.buy(T0 + 1_000 + i);
    b.adjust(T0 + 2_000, 5);
    const events = [...a.events, ...b.events];

    const contiguous = foldAll(events);
    // Each event twice in a row, then a whole stretch again (an outbox republished after a crash).
    const duplicated = foldAll([...events.flatMap((e) => [e, e]), ...events.slice(10, 40)]);
    const batched = foldInBatches([...events, ...events], 7);
    const fromScratch = foldAll(events);

    expect(duplicated).toEqual(contiguous);
    expect(batched).toEqual(contiguous);
    expect(fromScratch).toEqual(contiguous);
    expect(contiguous.get('a')).toMatchObject({ sold: 50, available: 0, status: 'SOLD_OUT', version: 52 });
    expect(contiguous.get('b')).toMatchObject({
      sold: 10,
      available: 15,
      listed: 25,
      status: 'LIVE',
      version: 12,
    });
  });

  it('reopens a sold-out item on restock and clears soldOutAt until it sells out again', () => {
    const script = new ItemScript('a', { stock: 1, at: T0 }).buy(T0 + 10);
    const soldOut = foldAll(script.events).get('a');
    expect(soldOut).toMatchObject({ status: 'SOLD_OUT', soldOutAt: T0 + 10, available: 0 });

    script.adjust(T0 + 500, 2);
    const restocked = foldAll(script.events).get('a');
    expect(restocked).toMatchObject({
      status: 'LIVE',
      soldOutAt: null,
      available: 2,
      listed: 3,
      sold: 1,
      lastSaleAt: T0 + 10,
      updatedAt: T0 + 500,
    });

    script.buy(T0 + 900, 2);
    expect(foldAll(script.events).get('a')).toMatchObject({
      status: 'SOLD_OUT',
      soldOutAt: T0 + 900,
      sold: 3,
      available: 0,
    });
  });

  it('marks a withdrawal of every unit sold out', () => {
    const script = new ItemScript('a', { stock: 4, at: T0 }).adjust(T0 + 10, -4);
    expect(foldAll(script.events).get('a')).toMatchObject({
      listed: 0,
      available: 0,
      sold: 0,
      status: 'SOLD_OUT',
      soldOutAt: T0 + 10,
    });
  });

  it('ignores an older or equal version and a rejection, returning the very same view', () => {
    const script = new ItemScript('a', { stock: 5, at: T0 })
      .buy(T0 + 1)
      .buy(T0 + 2)
      .reject(T0 + 3, 'LIMIT_EXCEEDED');
    const [, v2, v3, rejection] = script.events as [ItemEvent, ItemEvent, ItemEvent, ItemEvent];
    const view = foldAll(script.events).get('a') ?? null;
    expect(view?.version).toBe(3);
    expect(evolveStockView(view, v2)).toBe(view);
    expect(evolveStockView(view, v3)).toBe(view);
    expect(evolveStockView(view, rejection)).toBe(view);
    expect(evolveStockView(view, script.events[0]!)).toBe(view);
  });

  it('keeps a scheduled item SCHEDULED until a sale at or after startsAt, judged by event time', () => {
    const script = new ItemScript('a', { stock: 5, at: T0, startsAt: T0 + 60_000 });
    expect(foldAll(script.events).get('a')).toMatchObject({ status: 'SCHEDULED', startsAt: T0 + 60_000 });
    script.adjust(T0 + 1_000, 1);
    expect(foldAll(script.events).get('a')?.status).toBe('SCHEDULED');
    script.buy(T0 + 60_000);
    expect(foldAll(script.events).get('a')?.status).toBe('LIVE');
  });

  it('shows a listing of zero units as sold out, though it never sold out', () => {
    const script = new ItemScript('a', { stock: 0, at: T0 });
    expect(foldAll(script.events).get('a')).toMatchObject({
      status: 'SOLD_OUT',
      soldOutAt: null,
      available: 0,
    });
  });

  it('cannot start a view mid-stream and reports it, and reports a version gap', () => {
    const script = new ItemScript('a', { stock: 5, at: T0 })
      .buy(T0 + 1)
      .buy(T0 + 2)
      .buy(T0 + 3);
    const [listed, , , v4] = script.events as [ItemEvent, ItemEvent, ItemEvent, ItemEvent];
    const midStream = foldStockViews(new Map(), [v4]);
    expect(midStream.views.size).toBe(0);
    expect(midStream.anomalies).toEqual([
      { kind: 'no-listing', itemId: 'a', event: 'ItemBought', version: 4 },
    ]);

    const gap = foldStockViews(new Map(), [listed, v4]);
    expect(gap.anomalies).toEqual([{ kind: 'version-gap', itemId: 'a', from: 1, to: 4 }]);
    // available comes from the event, so it stays right; sold misses the two lost purchases.
    expect(gap.views.get('a')).toMatchObject({ version: 4, available: 2, sold: 1 });
  });

  it('reports only items whose view changed', () => {
    const a = new ItemScript('a', { stock: 5, at: T0 }).buy(T0 + 1);
    const views = foldAll(a.events);
    const again = foldStockViews(views, [...a.events, ...new ItemScript('b', { stock: 1, at: T0 }).events]);
    expect([...again.changed]).toEqual(['b']);
    expect(again.views.get('a')).toBe(views.get('a'));
  });
});
