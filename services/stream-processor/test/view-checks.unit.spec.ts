import type { ItemEvent, StockView } from '@buy-now/contracts';
import { describe, expect, it } from 'vitest';
import { tallyStoredEvents, type StoredItemEvent } from '../src/domain/event-store-tally.js';
import { foldStockViews } from '../src/domain/stock-view.js';
import { sqlViewDifferences, stockViewDifferences } from '../src/domain/view-differences.js';
import { ItemScript } from './support/item-script.js';

const T0 = 1_750_000_000_000;

/** The rows the reservation service writes to item_events: every versioned event, none for rejections. */
const storedOf = (events: readonly ItemEvent[]): StoredItemEvent[] =>
  events
    .filter((event) => event.name !== 'PurchaseRejected')
    .map((event) => ({
      itemId: event.value.itemId,
      version: event.value.version ?? 0,
      type: event.name,
      payload: JSON.parse(JSON.stringify(event.value)) as unknown,
    }));

const sale = () =>
  new ItemScript('a', { stock: 5, at: T0 })
    .buy(T0 + 1, 2)
    .reject(T0 + 2, 'LIMIT_EXCEEDED')
    .adjust(T0 + 3, 4)
    .buy(T0 + 4, 7);

describe('the SQL event store tally', () => {
  it('adds up listing, adjustments and purchases with its own arithmetic', () => {
    const tally = tallyStoredEvents(storedOf(sale().events)).get('a');
    expect(tally).toEqual({ itemId: 'a', version: 5, listed: 9, sold: 9, remaining: 0, problems: [] });
  });

  it('reports a version gap, a remaining that does not add up and a bad payload', () => {
    const stored = storedOf(sale().events);
    stored.splice(1, 1); // the first purchase is lost
    const tally = tallyStoredEvents(stored).get('a');
    expect(tally?.problems).toEqual([
      'StockAdjusted v3 follows v1',
      'StockAdjusted v3: says remaining 7, its events add up to 9',
      'ItemBought v4: says remaining 0, its events add up to 2',
      'OutOfStock v5: 2 units still remain',
    ]);
    const bad = tallyStoredEvents([{ itemId: 'b', version: 1, type: 'ItemListed', payload: { stock: '3' } }]);
    expect(bad.get('b')?.problems).toEqual(['ItemListed v1: stock is not an integer ("3")']);
  });
});

describe('the differences the checks print', () => {
  const events = sale().events;
  const view = foldStockViews(new Map(), events).views.get('a') as StockView;
  const tally = tallyStoredEvents(storedOf(events)).get('a');
  const row = { itemId: 'a', version: 5, listed: 9, sold: 9, remaining: 0 };

  it('finds none when SQL, its items row and the view agree', () => {
    expect(sqlViewDifferences('a', tally, row, view)).toEqual([]);
  });

  it('names the field and both sides when the view is off', () => {
    expect(sqlViewDifferences('a', tally, row, { ...view, sold: 8, available: 1, status: 'LIVE' })).toEqual([
      { itemId: 'a', subject: 'view', field: 'sold', expected: '9', actual: '8' },
      { itemId: 'a', subject: 'view', field: 'available', expected: '0', actual: '1' },
      { itemId: 'a', subject: 'view', field: 'status', expected: 'SOLD_OUT', actual: 'LIVE or SCHEDULED' },
    ]);
    expect(sqlViewDifferences('a', tally, row, null)).toEqual([
      { itemId: 'a', subject: 'view', field: 'view', expected: 'version 5', actual: '(none)' },
    ]);
  });

  it('names an items row that disagrees with its own events', () => {
    expect(sqlViewDifferences('a', tally, { ...row, sold: 10 }, view)).toEqual([
      { itemId: 'a', subject: 'items-row', field: 'sold', expected: '9', actual: '10' },
    ]);
  });

  it('compares a replayed view with the live one field by field', () => {
    expect(stockViewDifferences('a', view, view)).toEqual([]);
    expect(stockViewDifferences('a', view, { ...view, soldOutAt: null, title: 'x' })).toEqual([
      { itemId: 'a', subject: 'view', field: 'title', expected: 'Item a', actual: 'x' },
      { itemId: 'a', subject: 'view', field: 'soldOutAt', expected: String(T0 + 4), actual: 'null' },
    ]);
    expect(stockViewDifferences('a', null, view)).toEqual([
      { itemId: 'a', subject: 'view', field: 'view', expected: '(none)', actual: 'version 5' },
    ]);
  });
});
