// The stock view of an item as a fold over its item events. Pure: the same events give the same view
// whatever the clock says (updatedAt is the event's time), so a replay from offset 0 rebuilds the very
// views a live run produced.
//
// Rules:
// - Idempotent by version: an event whose version is not newer than the view's changes nothing (a
//   duplicate or a replayed event never counts twice). PurchaseRejected changes nothing either: it
//   carries the version it was decided against.
// - status is judged at the event's time: SOLD_OUT when nothing is available, SCHEDULED while startsAt
//   is ahead, LIVE otherwise. A listing with 0 units is SOLD_OUT without a soldOutAt (nothing was sold).
// - soldOutAt is set by OutOfStock and cleared by a restock that puts units back on sale: it always
//   means "sold out since", never "was sold out once". Time to sell out is a sales metric (SalesMetrics
//   .timeToSellOutMs), measured from max(listedAt, startsAt) to soldOutAt.
import type { EpochMillis, ItemEvent, StockStatus, StockView } from '@buy-now/contracts';

/** The view after one more event; the very same view (or null) when the event changes nothing. */
export function evolveStockView(view: StockView | null, event: ItemEvent): StockView | null {
  if (event.name === 'PurchaseRejected') return view;
  const e = event.value;
  if (view === null) {
    // Without its listing an item has no title, price or stock to start from: nothing to show.
    if (event.name !== 'ItemListed') return null;
    const listed = event.value;
    return {
      itemId: listed.itemId,
      version: listed.version,
      title: listed.title,
      priceMinor: listed.priceMinor,
      currency: listed.currency,
      perBuyerLimit: listed.perBuyerLimit,
      listed: listed.stock,
      available: listed.stock,
      sold: 0,
      status: stockStatusAt(listed.stock, listed.startsAt, listed.occurredAt),
      startsAt: listed.startsAt,
      lastSaleAt: null,
      soldOutAt: null,
      updatedAt: listed.occurredAt,
    };
  }
  if (e.version <= view.version) return view;
  switch (event.name) {
    case 'ItemListed':
      // Only version 1 is a listing, and every view is at least that: covered by the version check.
      return view;
    case 'StockAdjusted': {
      const { delta, remaining, occurredAt } = event.value;
      return {
        ...view,
        version: e.version,
        listed: view.listed + delta,
        available: remaining,
        status: stockStatusAt(remaining, view.startsAt, occurredAt),
        soldOutAt: remaining > 0 ? null : view.soldOutAt,
        updatedAt: occurredAt,
      };
    }
    case 'ItemBought': {
      const { quantity, remaining, occurredAt } = event.value;
      return {
        ...view,
        version: e.version,
        sold: view.sold + quantity,
        available: remaining,
        status: stockStatusAt(remaining, view.startsAt, occurredAt),
        lastSaleAt: occurredAt,
        updatedAt: occurredAt,
      };
    }
    case 'OutOfStock': {
      const { occurredAt } = event.value;
      return {
        ...view,
        version: e.version,
        available: 0,
        status: 'SOLD_OUT',
        soldOutAt: occurredAt,
        updatedAt: occurredAt,
      };
    }
  }
}

export function stockStatusAt(available: number, startsAt: EpochMillis | null, at: EpochMillis): StockStatus {
  if (available <= 0) return 'SOLD_OUT';
  if (startsAt !== null && startsAt > at) return 'SCHEDULED';
  return 'LIVE';
}

/** Why an event could not be folded as the contract promises; the view stays usable either way. */
export type FoldAnomaly =
  /** An event for an item with no view and no listing before it: the view cannot start mid-stream. */
  | { kind: 'no-listing'; itemId: string; event: ItemEvent['name']; version: number }
  /** Versions skipped between the view and the event: events are missing upstream. */
  | { kind: 'version-gap'; itemId: string; from: number; to: number };

export interface StockViewFold {
  /** Every view after the events, those not touched included. */
  views: Map<string, StockView>;
  /** Items whose view changed (a newer version). */
  changed: Set<string>;
  anomalies: FoldAnomaly[];
}

/** Folds events, in order, into the views given (which are not modified). */
export function foldStockViews(
  views: ReadonlyMap<string, StockView>,
  events: readonly ItemEvent[],
): StockViewFold {
  const result: StockViewFold = { views: new Map(views), changed: new Set(), anomalies: [] };
  for (const event of events) {
    const { itemId } = event.value;
    const before = result.views.get(itemId) ?? null;
    const after = evolveStockView(before, event);
    if (after === before) {
      if (before === null && event.name !== 'PurchaseRejected') {
        result.anomalies.push({
          kind: 'no-listing',
          itemId,
          event: event.name,
          version: event.value.version,
        });
      }
      continue;
    }
    if (before !== null && after !== null && after.version > before.version + 1) {
      // Still applied: `available` comes from the event, so it is right; `sold`/`listed` may lag.
      result.anomalies.push({ kind: 'version-gap', itemId, from: before.version, to: after.version });
    }
    if (after !== null) {
      result.views.set(itemId, after);
      result.changed.add(itemId);
    }
  }
  return result;
}
