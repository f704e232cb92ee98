// The orders-per-second series of the dashboard, folded from sales-metrics windows (a window may arrive
// twice, identical; windows without sales may not arrive at all and count as zero), and the time to
// sell out: measured once sold out, else estimated from the recent rate.

export interface SalesWindow {
  itemId: string;
  windowStart: number;
  windowEnd: number;
  orders: number;
  units: number;
  totalOrders: number;
  totalUnits: number;
  timeToSellOutMs: number | null;
}

export interface RatePoint {
  /** Window start, epoch ms. */
  at: number;
  perSecond: number;
}

/** Windows of one series by start, newest last, at most `keep` of them. */
export function addWindows(
  known: readonly SalesWindow[],
  incoming: readonly SalesWindow[],
  keep = 120,
): SalesWindow[] {
  const byStart = new Map(known.map((w) => [w.windowStart, w]));
  for (const w of incoming) byStart.set(w.windowStart, w);
  return [...byStart.values()].sort((a, b) => a.windowStart - b.windowStart).slice(-keep);
}

/** Orders/s for each of the last `span` windows ending with the newest, gaps as zero. */
export function ratePoints(windows: readonly SalesWindow[], span: number): RatePoint[] {
  const newest = windows.at(-1);
  if (newest === undefined) return [];
  const windowMs = Math.max(1, newest.windowEnd - newest.windowStart);
  const byStart = new Map(windows.map((w) => [w.windowStart, w]));
  const points: RatePoint[] = [];
  for (let i = span - 1; i >= 0; i--) {
    const at = newest.windowStart - i * windowMs;
    const w = byStart.get(at);
    points.push({ at, perSecond: w === undefined ? 0 : (w.orders * 1000) / windowMs });
  }
  return points;
}

/** Orders/s of the newest window, or 0 when it closed longer ago than `staleMs` (the sale went quiet). */
export function currentRate(windows: readonly SalesWindow[], now: number, staleMs = 5_000): number {
  const newest = windows.at(-1);
  if (newest === undefined || now - newest.windowEnd > staleMs) return 0;
  return (newest.orders * 1000) / Math.max(1, newest.windowEnd - newest.windowStart);
}

export type SellOut =
  { kind: 'sold-out'; ms: number } | { kind: 'estimate'; ms: number } | { kind: 'unknown' };

/** Measured when the series says so; else `available` units at the recent unit rate; else unknown. */
export function timeToSellOut(windows: readonly SalesWindow[], available: number, now: number): SellOut {
  const measured = [...windows].reverse().find((w) => w.timeToSellOutMs !== null);
  if (measured?.timeToSellOutMs != null && available === 0)
    return { kind: 'sold-out', ms: measured.timeToSellOutMs };
  const recent = windows.filter((w) => now - w.windowEnd <= 5_000);
  const spanMs = recent.reduce((sum, w) => sum + (w.windowEnd - w.windowStart), 0);
  const units = recent.reduce((sum, w) => sum + w.units, 0);
  if (available <= 0 || spanMs === 0 || units === 0) return { kind: 'unknown' };
  return { kind: 'estimate', ms: (available / units) * spanMs };
}
