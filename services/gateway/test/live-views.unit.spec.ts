// The live-views protocol as pure functions: client messages, subscription and watch caps, the item view
// from a StockView, and which origins may open a connection.
import type { StockView } from '@buy-now/contracts';
import { describe, expect, it } from 'vitest';
import { originAllowed } from '../src/adapters/ws/live-route.js';
import { ID_PATTERN } from '../src/adapters/http/schemas.js';
import { itemJson, itemViewOf, listingView } from '../src/domain/item-view.js';
import { addWatches, changeSubscriptions, parseClientRequest } from '../src/domain/live-views.js';
import { loadGatewayConfig } from '../src/config.js';

const ID = new RegExp(ID_PATTERN);

describe('client messages', () => {
  it('takes subscribe, unsubscribe and watch, without duplicates', () => {
    expect(parseClientRequest('{"subscribe":["a","*","a"],"watch":["p-1"]}', ID)).toEqual({
      ok: true,
      request: { subscribe: ['a', '*'], unsubscribe: [], watch: ['p-1'], follow: [], unfollow: [] },
    });
  });

  it('takes the dashboard feeds to follow and unfollow', () => {
    expect(parseClientRequest('{"follow":["metrics","lag","lag"],"unfollow":["metrics"]}', ID)).toEqual({
      ok: true,
      request: {
        subscribe: [],
        unsubscribe: [],
        watch: [],
        follow: ['metrics', 'lag'],
        unfollow: ['metrics'],
      },
    });
  });

  it.each([
    ['{oops', 'MALFORMED_JSON'],
    ['[]', 'INVALID_MESSAGE'],
    ['null', 'INVALID_MESSAGE'],
    ['{}', 'INVALID_MESSAGE'],
    ['{"subscribe":["a"],"extra":1}', 'UNKNOWN_FIELD'],
    ['{"subscribe":"a"}', 'INVALID_MESSAGE'],
    ['{"subscribe":[1]}', 'INVALID_MESSAGE'],
    ['{"subscribe":["has space"]}', 'INVALID_MESSAGE'],
    ['{"watch":["*"]}', 'INVALID_MESSAGE'],
    ['{"follow":"lag"}', 'INVALID_MESSAGE'],
    ['{"follow":["stock"]}', 'INVALID_MESSAGE'],
    ['{"unfollow":[null]}', 'INVALID_MESSAGE'],
  ])('refuses %s with %s', (text, code) => {
    const parsed = parseClientRequest(text, ID);
    expect(parsed.ok ? undefined : parsed.error.code).toBe(code);
  });
});

describe('subscriptions and watches', () => {
  it('unsubscribes first, then subscribes, and counts "*" as one', () => {
    const change = changeSubscriptions(
      new Set(['a', 'b']),
      { unsubscribe: ['a', 'x'], subscribe: ['*', 'b'] },
      2,
    );
    expect(change).toEqual({ ok: true, subscriptions: new Set(['b', '*']), added: ['*'], removed: ['a'] });
  });

  it('refuses the whole change beyond the cap', () => {
    const change = changeSubscriptions(new Set(['a']), { unsubscribe: [], subscribe: ['b', 'c'] }, 2);
    expect(change.ok ? undefined : change.error.code).toBe('TOO_MANY_SUBSCRIPTIONS');
  });

  it('caps the purchases watched', () => {
    expect(addWatches(new Set(['p1']), ['p1', 'p2'], 2)).toEqual({ ok: true, added: ['p2'] });
    const refused = addWatches(new Set(['p1']), ['p2', 'p3'], 2);
    expect(refused.ok ? undefined : refused.error.code).toBe('TOO_MANY_WATCHES');
  });
});

describe('the item view', () => {
  const view: StockView = {
    itemId: 'i1',
    version: 7,
    title: 'Sneaker',
    priceMinor: 12_900,
    currency: 'EUR',
    perBuyerLimit: 1,
    listed: 10,
    available: 4,
    sold: 6,
    status: 'SCHEDULED',
    startsAt: 1_000,
    lastSaleAt: 900,
    soldOutAt: null,
    updatedAt: 900,
  };

  it('says scheduled until the start, live after it, sold-out when nothing is left', () => {
    expect(itemViewOf(view, 999).status).toBe('scheduled');
    expect(itemViewOf(view, 1_000).status).toBe('live');
    expect(itemViewOf({ ...view, status: 'LIVE' }, 0).status).toBe('live');
    expect(itemViewOf({ ...view, status: 'SOLD_OUT', available: 0 }, 0).status).toBe('sold-out');
  });

  it('is the HTTP contract on the wire', () => {
    expect(itemJson(itemViewOf(view, 2_000))).toEqual({
      itemId: 'i1',
      title: 'Sneaker',
      priceMinor: 12_900,
      currency: 'EUR',
      perBuyerLimit: 1,
      startsAt: '1970-01-01T00:00:01.000Z',
      listed: 10,
      available: 4,
      sold: 6,
      status: 'live',
      version: 7,
    });
  });

  it('shows a new listing as version 1 before the processor folded it', () => {
    const base = {
      itemId: 'n',
      title: 't',
      priceMinor: 1,
      currency: 'EUR',
      perBuyerLimit: 1,
      startsAt: null,
    };
    expect(listingView({ ...base, stock: 3 }, 0)).toMatchObject({
      listed: 3,
      available: 3,
      sold: 0,
      status: 'live',
      version: 1,
    });
    expect(listingView({ ...base, stock: 0 }, 0).status).toBe('sold-out');
    expect(listingView({ ...base, startsAt: 10, stock: 3 }, 0).status).toBe('scheduled');
  });
});

describe('origins allowed to open live views', () => {
  it('takes clients without an Origin and pages of its own host by default', () => {
    expect(originAllowed(undefined, 'shop.example:3000', undefined)).toBe(true);
    expect(originAllowed('http://shop.example:3000', 'shop.example:3000', undefined)).toBe(true);
    expect(originAllowed('http://evil.example', 'shop.example:3000', undefined)).toBe(false);
    expect(originAllowed('not a url', 'shop.example:3000', undefined)).toBe(false);
  });

  it('takes only the listed origins when a list is configured', () => {
    const allowed = ['https://shop.example'];
    expect(originAllowed('https://shop.example', 'api.example', allowed)).toBe(true);
    expect(originAllowed('http://api.example', 'api.example', allowed)).toBe(false);
    expect(originAllowed(undefined, 'api.example', allowed)).toBe(true);
  });

  it('is configured as a comma list of origins, validated', () => {
    const base = {
      ADMIN_TOKEN: 'a-token-of-16-chars!',
      BUYER_TOKEN_SECRET: 'a-buyer-token-secret-of-32-chars!',
    };
    expect(
      loadGatewayConfig({ ...base, WS_ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080' })
        .WS_ALLOWED_ORIGINS,
    ).toEqual(['https://a.example', 'http://b.example:8080']);
    expect(loadGatewayConfig(base).WS_ALLOWED_ORIGINS).toBeUndefined();
    expect(() => loadGatewayConfig({ ...base, WS_ALLOWED_ORIGINS: 'https://a.example/path' })).toThrow(
      /WS_ALLOWED_ORIGINS/,
    );
    expect(() =>
      loadGatewayConfig({ ...base, WS_SOFT_BUFFER_BYTES: '65536', WS_HARD_BUFFER_BYTES: '65536' }),
    ).toThrow(/WS_HARD_BUFFER_BYTES/);
  });
});
