// Sales metrics as a fold over item events: confirmed orders and units in tumbling windows of the
// events' own time (occurredAt), per item and over every item ('*'), with running totals and the time
// an item took to sell out. Pure: the caller keeps the state (in Redis) and passes the wall clock.
//
// What is exact, and what is not:
// - Totals are exact. A sale is counted only if its version is newer than the last version counted for
//   its item in this series, and that version is stored atomically with the counts, so duplicates,
//   redeliveries and a replay from offset 0 never count a sale twice.
// - A window is exact as the SUM of the records carrying its (itemId, windowStart). It is usually one
//   record, but it is split into several when sales of a window arrive after the window closed:
//   * the processor was down (or lagging) for longer than the grace period, so the timer closed the
//     window with the sales counted so far, and the rest of that window arrives after the restart;
//   * for '*', partitions are consumed at different paces, so one partition may deliver sales of a
//     window another partition's later sales already closed.
//   A late part is emitted as its own record at once (never lost, never merged into another window).
// - timeToSellOutMs rides on the record of the window open when the item sold out, or, if none is open,
//   on a record of its own with no orders.
// - A record can be published twice: its writer died between publishing it and marking it published
//   (another publishes it after a retry delay), or took longer than that delay. The copy is identical
//   in every field, running totals included, so a reader drops exact duplicates; split parts of a window
//   never look alike (each holds at least one sale the other's totals do not).
import { ALL_ITEMS } from '@buy-now/contracts';
import type { EpochMillis, ItemEvent, SalesMetrics } from '@buy-now/contracts';

/** The parts of an item event a sales series needs; every one carries the item's version. */
export type SalesFact =
  | { kind: 'listed'; itemId: string; version: number; occurredAt: EpochMillis; opensAt: EpochMillis }
  | { kind: 'adjusted'; itemId: string; version: number; occurredAt: EpochMillis; remaining: number }
  | { kind: 'bought'; itemId: string; version: number; occurredAt: EpochMillis; quantity: number }
  | { kind: 'sold-out'; itemId: string; version: number; occurredAt: EpochMillis };

export function salesFactOf(event: ItemEvent): SalesFact | null {
  switch (event.name) {
    case 'ItemListed': {
      const { itemId, version, occurredAt, startsAt } = event.value;
      // The sale opens when the item is listed, or at startsAt if that is later.
      return { kind: 'listed', itemId, version, occurredAt, opensAt: Math.max(occurredAt, startsAt ?? 0) };
    }
    case 'StockAdjusted': {
      const { itemId, version, occurredAt, remaining } = event.value;
      return { kind: 'adjusted', itemId, version, occurredAt, remaining };
    }
    case 'ItemBought': {
      const { itemId, version, occurredAt, quantity } = event.value;
      return { kind: 'bought', itemId, version, occurredAt, quantity };
    }
    case 'OutOfStock': {
      const { itemId, version, occurredAt } = event.value;
      return { kind: 'sold-out', itemId, version, occurredAt };
    }
    case 'PurchaseRejected':
      return null;
  }
}

export interface SalesWindow {
  start: EpochMillis;
  orders: number;
  units: number;
}

/** One series: an item, or every item (key '*'). */
export interface SalesState {
  totalOrders: number;
  totalUnits: number;
  /** The window being counted: the latest a sale fell in; null before the first sale or once closed. */
  open: SalesWindow | null;
  /** Start of the latest window a sale fell in, closed or not: sales before it are late. */
  latestWindowStart: EpochMillis | null;
  /** max(listedAt, startsAt); only kept for an item. */
  saleOpenedAt: EpochMillis | null;
  /** Sold out since (cleared by a restock); only kept for an item. */
  soldOutAt: EpochMillis | null;
  /** Wall-clock time sales were last counted: the timer lets a busy series finish its window. */
  lastCountedAt: EpochMillis | null;
  /** Closed windows not yet known to be published, with the wall-clock time they closed. */
  unpublished: UnpublishedSalesMetrics[];
}

export interface UnpublishedSalesMetrics {
  record: SalesMetrics;
  closedAt: EpochMillis;
}

export const emptySalesState: SalesState = Object.freeze({
  totalOrders: 0,
  totalUnits: 0,
  open: null,
  latestWindowStart: null,
  saleOpenedAt: null,
  soldOutAt: null,
  lastCountedAt: null,
  unpublished: [],
});

export interface SalesSeries {
  /** An item id, or ALL_ITEMS. */
  key: string;
  windowMs: number;
}

export interface SalesFold {
  state: SalesState;
  /** Last counted version per item, for the items whose version moved. */
  counted: Map<string, number>;
  /** Windows closed by this fold (also added to state.unpublished): this writer publishes them. */
  closed: SalesMetrics[];
  /** False when every fact had been counted before: nothing to store. */
  changed: boolean;
}

/**
 * Counts the facts whose version is newer than the one last counted for their item (`counted`), in
 * order. A sale in a later window closes the open one; a sale in an earlier window is emitted as a late
 * part of that window when the fold ends.
 */
export function foldSales(
  series: SalesSeries,
  state: SalesState,
  counted: ReadonlyMap<string, number>,
  facts: readonly SalesFact[],
  now: EpochMillis,
): SalesFold {
  const next: SalesState = {
    ...state,
    open: state.open === null ? null : { ...state.open },
    unpublished: [...state.unpublished],
  };
  const versions = new Map<string, number>();
  const closed: SalesMetrics[] = [];
  const late = new Map<EpochMillis, SalesWindow>();
  const perItem = series.key !== ALL_ITEMS;

  for (const fact of facts) {
    const last = versions.get(fact.itemId) ?? counted.get(fact.itemId) ?? 0;
    if (fact.version <= last) continue;
    versions.set(fact.itemId, fact.version);
    switch (fact.kind) {
      case 'listed':
        if (perItem) next.saleOpenedAt = fact.opensAt;
        break;
      case 'adjusted':
        if (perItem && fact.remaining > 0) next.soldOutAt = null;
        break;
      case 'sold-out':
        if (!perItem) break;
        next.soldOutAt = fact.occurredAt;
        // With no window open to carry it (the timer closed it, or nothing was sold), the time to sell
        // out goes out in a record of its own, with no orders, so it is never lost.
        if (next.open === null) {
          const start = windowStartOf(fact.occurredAt, series.windowMs);
          closed.push(recordOf(series, next, { start, orders: 0, units: 0 }));
        }
        break;
      case 'bought': {
        const start = windowStartOf(fact.occurredAt, series.windowMs);
        let window: SalesWindow;
        if (next.latestWindowStart === null || start > next.latestWindowStart) {
          if (next.open !== null) closed.push(recordOf(series, next, next.open));
          window = next.open = { start, orders: 0, units: 0 };
          next.latestWindowStart = start;
        } else if (start === next.latestWindowStart) {
          // Reopened when the timer closed it already: the rest of this window becomes a second part.
          window = next.open ??= { start, orders: 0, units: 0 };
        } else {
          window = late.get(start) ?? { start, orders: 0, units: 0 };
          late.set(start, window);
        }
        window.orders += 1;
        window.units += fact.quantity;
        next.totalOrders += 1;
        next.totalUnits += fact.quantity;
        next.lastCountedAt = now;
        break;
      }
    }
  }
  for (const window of [...late.values()].sort((a, b) => a.start - b.start)) {
    closed.push(recordOf(series, next, window));
  }
  next.unpublished.push(...closed.map((record) => ({ record, closedAt: now })));
  return { state: next, counted: versions, closed, changed: versions.size > 0 };
}

/**
 * Closes the open window once the wall clock is `graceMs` past its end and past the last time sales
 * were counted (a series still catching up keeps its window until it goes quiet).
 */
export function closeQuietWindow(
  series: SalesSeries,
  state: SalesState,
  now: EpochMillis,
  graceMs: number,
): { state: SalesState; closed: SalesMetrics[] } {
  const due = openWindowDueAt(series, state, graceMs);
  if (state.open === null || due === null || now < due) return { state, closed: [] };
  const record = recordOf(series, state, state.open);
  const unpublished = [...state.unpublished, { record, closedAt: now }];
  return { state: { ...state, open: null, unpublished }, closed: [record] };
}

/**
 * Records another writer closed but did not mark published within `retryMs` (it died, most likely):
 * anyone may publish them now. Younger ones are left to their writer, to avoid publishing twice.
 */
export function orphanedSalesMetrics(state: SalesState, now: EpochMillis, retryMs: number): SalesMetrics[] {
  return state.unpublished.filter(({ closedAt }) => closedAt + retryMs <= now).map(({ record }) => record);
}

/** When the series next needs the timer: to close its open window, or to publish orphaned records. */
export function salesDueAt(
  series: SalesSeries,
  state: SalesState,
  graceMs: number,
  retryMs: number,
): EpochMillis | null {
  const orphansAt = state.unpublished.map(({ closedAt }) => closedAt + retryMs);
  const windowAt = openWindowDueAt(series, state, graceMs);
  const candidates = windowAt === null ? orphansAt : [...orphansAt, windowAt];
  return candidates.length === 0 ? null : Math.min(...candidates);
}

/** When the timer should close the open window; null when there is none. */
export function openWindowDueAt(series: SalesSeries, state: SalesState, graceMs: number): EpochMillis | null {
  if (state.open === null) return null;
  return Math.max(state.open.start + series.windowMs, state.lastCountedAt ?? 0) + graceMs;
}

/** The state once these records are known to be published. */
export function withoutPublished(state: SalesState, published: readonly SalesMetrics[]): SalesState {
  const remaining = state.unpublished.filter(
    ({ record }) => !published.some((done) => sameSalesMetrics(done, record)),
  );
  return remaining.length === state.unpublished.length ? state : { ...state, unpublished: remaining };
}

export function sameSalesMetrics(a: SalesMetrics, b: SalesMetrics): boolean {
  return (
    a.itemId === b.itemId &&
    a.windowStart === b.windowStart &&
    a.windowEnd === b.windowEnd &&
    a.orders === b.orders &&
    a.units === b.units &&
    a.totalOrders === b.totalOrders &&
    a.totalUnits === b.totalUnits &&
    a.timeToSellOutMs === b.timeToSellOutMs
  );
}

export function windowStartOf(at: EpochMillis, windowMs: number): EpochMillis {
  return Math.floor(at / windowMs) * windowMs;
}

/** From the moment the sale opened to the moment it sold out; null while not sold out, and for '*'. */
export function timeToSellOutMs(state: SalesState): number | null {
  if (state.soldOutAt === null || state.saleOpenedAt === null) return null;
  return Math.max(0, state.soldOutAt - state.saleOpenedAt);
}

function recordOf(series: SalesSeries, state: SalesState, window: SalesWindow): SalesMetrics {
  return {
    itemId: series.key,
    windowStart: window.start,
    windowEnd: window.start + series.windowMs,
    orders: window.orders,
    units: window.units,
    totalOrders: state.totalOrders,
    totalUnits: state.totalUnits,
    timeToSellOutMs: timeToSellOutMs(state),
  };
}
