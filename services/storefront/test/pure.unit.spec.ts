import { describe, expect, it } from 'vitest';
import { durationInWords, priceInWords, saleClock } from '../src/lib/countdown.js';
import {
  addWindows,
  currentRate,
  ratePoints,
  timeToSellOut,
  type SalesWindow,
} from '../src/lib/orders-series.js';
import { errorInWords, rejectionInWords } from '../src/lib/reasons.js';

const w = (windowStart: number, orders: number, extra: Partial<SalesWindow> = {}): SalesWindow => ({
  itemId: '*',
  windowStart,
  windowEnd: windowStart + 1000,
  orders,
  units: orders,
  totalOrders: 0,
  totalUnits: 0,
  timeToSellOutMs: null,
  ...extra,
});

describe('reasons in words', () => {
  it('says what each rejection means', () => {
    expect(rejectionInWords('SOLD_OUT')).toBe('Sold out: every unit is gone.');
    expect(rejectionInWords('LIMIT_EXCEEDED')).toBe('You already have as many as one buyer may buy.');
    expect(rejectionInWords('NOT_STARTED')).toMatch(/not started/);
    expect(rejectionInWords('DUPLICATE_REQUEST')).toMatch(/already made once: nothing more was bought/);
    expect(rejectionInWords('SOMETHING_NEW')).toBe('Not bought: the purchase was rejected.');
    expect(rejectionInWords(undefined)).toBe('Not bought: the purchase was rejected.');
  });
  it('says what to do after an error', () => {
    expect(errorInWords(429, 'RATE_LIMITED', 3)).toBe('Too many requests: try again in 3 s.');
    expect(errorInWords(503, 'SERVICE_UNAVAILABLE')).toBe(
      'The shop is busy: nothing was bought, try again in a moment.',
    );
    expect(errorInWords(401, 'BUYER_TOKEN_EXPIRED')).toMatch(/reload the page/);
    expect(errorInWords(400, 'INVALID_BODY')).toMatch(/INVALID_BODY/);
  });
});

describe('countdown', () => {
  it('counts down to the start and then says started', () => {
    expect(saleClock(10_000, 0)).toEqual({ started: false, label: '0:10', secondsLeft: 10 });
    expect(saleClock(10_000, 9_001)).toEqual({ started: false, label: '0:01', secondsLeft: 1 });
    expect(saleClock(65_000, 0).label).toBe('1:05');
    expect(saleClock(2 * 3600_000 + 3 * 60_000, 0).label).toBe('2 h 03 min');
    expect(saleClock(10_000, 10_000)).toEqual({ started: true, label: '', secondsLeft: 0 });
    expect(saleClock(null, 5).started).toBe(true);
  });
  it('writes durations and prices', () => {
    expect(durationInWords(850)).toBe('850 ms');
    expect(durationInWords(12_400)).toBe('12.4 s');
    expect(durationInWords(185_000)).toBe('3 min 05 s');
    expect(priceInWords(12_999, 'EUR', 'en-US')).toBe('€129.99');
    expect(priceInWords(100, 'NOT-A-CODE', 'en-US')).toBe('1.00 NOT-A-CODE');
  });
});

describe('orders per second', () => {
  it('keeps one window per start, newest last, bounded', () => {
    const windows = addWindows([w(2000, 5), w(0, 1)], [w(1000, 3), w(2000, 5)], 2);
    expect(windows.map((x) => [x.windowStart, x.orders])).toEqual([
      [1000, 3],
      [2000, 5],
    ]);
  });
  it('fills the windows without sales with zero', () => {
    expect(ratePoints([w(0, 4), w(3000, 2)], 4)).toEqual([
      { at: 0, perSecond: 4 },
      { at: 1000, perSecond: 0 },
      { at: 2000, perSecond: 0 },
      { at: 3000, perSecond: 2 },
    ]);
    expect(ratePoints([], 5)).toEqual([]);
    expect(ratePoints([w(0, 10, { windowEnd: 500 })], 1)).toEqual([{ at: 0, perSecond: 20 }]);
  });
  it('reads the current rate from the newest window until the sale goes quiet', () => {
    expect(currentRate([w(0, 1), w(1000, 7)], 2500)).toBe(7);
    expect(currentRate([w(1000, 7)], 9000)).toBe(0);
    expect(currentRate([], 0)).toBe(0);
  });
});

describe('time to sell out', () => {
  it('is measured once sold out', () => {
    expect(timeToSellOut([w(0, 5), w(1000, 5, { timeToSellOutMs: 1800 })], 0, 2000)).toEqual({
      kind: 'sold-out',
      ms: 1800,
    });
  });
  it('is estimated from the recent unit rate while units are left', () => {
    expect(timeToSellOut([w(0, 10), w(1000, 30)], 100, 2000)).toEqual({ kind: 'estimate', ms: 5000 });
  });
  it('is unknown without recent sales', () => {
    expect(timeToSellOut([w(0, 10)], 100, 60_000)).toEqual({ kind: 'unknown' });
    expect(timeToSellOut([], 100, 0)).toEqual({ kind: 'unknown' });
  });
});
