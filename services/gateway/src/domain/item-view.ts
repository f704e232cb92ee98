// The item as buyers see it, from the stream processor's StockView: statuses in the HTTP contract's
// words, and the start of a sale judged now (the processor judged it when the last event happened).
import type { StockView } from '@buy-now/contracts';
import type { ItemStatus, ItemView } from './ports.js';

export function itemViewOf(view: StockView, now: number): ItemView {
  return {
    itemId: view.itemId,
    title: view.title,
    priceMinor: view.priceMinor,
    currency: view.currency,
    perBuyerLimit: view.perBuyerLimit,
    startsAt: view.startsAt,
    listed: view.listed,
    available: view.available,
    sold: view.sold,
    status: statusAt(view, now),
    version: view.version,
  };
}

function statusAt(view: StockView, now: number): ItemStatus {
  switch (view.status) {
    case 'SOLD_OUT':
      return 'sold-out';
    case 'SCHEDULED':
      // No event marks the start of a sale, so a view folded before it still says SCHEDULED.
      return view.startsAt !== null && view.startsAt > now ? 'scheduled' : 'live';
    case 'LIVE':
      return 'live';
  }
}

/** What a new listing looks like before the processor has folded it (version 1, nothing sold). */
export function listingView(
  listing: Omit<ItemView, 'listed' | 'available' | 'sold' | 'status' | 'version'> & { stock: number },
  now: number,
): ItemView {
  const { stock, ...rest } = listing;
  return {
    ...rest,
    listed: stock,
    available: stock,
    sold: 0,
    status:
      stock <= 0 ? 'sold-out' : listing.startsAt !== null && listing.startsAt > now ? 'scheduled' : 'live',
    version: 1,
  };
}

/** The JSON of an item on the wire (HTTP and WebSocket): startsAt as an ISO date. */
export type ItemJson = Omit<ItemView, 'startsAt'> & { startsAt: string | null };

export function itemJson(item: ItemView): ItemJson {
  return { ...item, startsAt: item.startsAt === null ? null : new Date(item.startsAt).toISOString() };
}
