// The live-views hub with sockets, the catalogue and the outcome feed played by the test: what a
// subscription sends first, the fan-out of published views, watched outcomes, and the heartbeat.
import { EventEmitter } from 'node:events';
import type { StockView } from '@buy-now/contracts';
import { createLogger, createMetrics } from '@buy-now/observability';
import type { WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLiveHub, type LiveHub } from '../src/adapters/ws/live-hub.js';
import { itemViewOf } from '../src/domain/item-view.js';
import type { ItemCatalogue } from '../src/domain/ports.js';
import type { PurchaseRecord } from '../src/domain/purchase-gate.js';

class FakeSocket extends EventEmitter {
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: unknown[] = [];
  pings = 0;
  terminated = false;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  ping() {
    this.pings++;
  }
  close() {
    this.readyState = 3;
    this.emit('close');
  }
  terminate() {
    this.terminated = true;
    this.readyState = 3;
    this.emit('close');
  }
  message(value: unknown) {
    this.emit('message', Buffer.from(JSON.stringify(value)), false);
  }
}

const view = (itemId: string, version: number, available: number): StockView => ({
  itemId,
  version,
  title: itemId,
  priceMinor: 100,
  currency: 'EUR',
  perBuyerLimit: 1,
  listed: 10,
  available,
  sold: 10 - available,
  status: available === 0 ? 'SOLD_OUT' : 'LIVE',
  startsAt: null,
  lastSaleAt: null,
  soldOutAt: null,
  updatedAt: 0,
});

const stored = new Map<string, StockView>();
const purchases = new Map<string, PurchaseRecord>();
let announce: (ids: readonly string[]) => void = () => undefined;
let hub: LiveHub;

const catalogue: ItemCatalogue = {
  getItem: (itemId) =>
    Promise.resolve(stored.has(itemId) ? itemViewOf(stored.get(itemId) as StockView, 0) : null),
  getItems: (itemIds) =>
    Promise.resolve(
      itemIds.flatMap((id) => (stored.has(id) ? [itemViewOf(stored.get(id) as StockView, 0)] : [])),
    ),
  listItems: () => Promise.resolve([...stored.values()].map((v) => itemViewOf(v, 0))),
};

const purchase = (purchaseId: string, status: PurchaseRecord['status']): PurchaseRecord => ({
  purchaseId,
  itemId: 'a',
  buyerId: 'b',
  quantity: 1,
  status,
  admittedAt: 0,
  admissionSeq: 1,
  idempotencyKey: 'k',
});

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function connect(): FakeSocket {
  const socket = new FakeSocket();
  hub.accept(socket as unknown as WebSocket);
  return socket;
}

const stockOf = (socket: FakeSocket) =>
  socket.sent.flatMap((m) => {
    const message = m as { type: string; view?: { itemId: string; version: number } };
    return message.type === 'stock' && message.view ? [`${message.view.itemId}@${message.view.version}`] : [];
  });

beforeEach(() => {
  vi.useFakeTimers();
  stored.clear();
  purchases.clear();
  stored.set('a', view('a', 3, 7));
  stored.set('b', view('b', 1, 10));
  hub = createLiveHub({
    catalogue,
    findPurchase: (id) => Promise.resolve(purchases.get(id) ?? null),
    decisions: {
      onDecided(listener) {
        announce = listener;
        return () => undefined;
      },
    },
    clock: () => 0,
    logger: createLogger({ service: 'live-hub-test', level: 'silent' }),
    metrics: createMetrics('live-hub-test', { defaultMetrics: false }),
    limits: {
      maxConnections: 2,
      maxSubscriptions: 5,
      maxWatches: 5,
      heartbeatMs: 1_000,
      maxBadMessages: 10,
      send: { softLimitBytes: 1_000, hardLimitBytes: 10_000, flushIntervalMs: 100, closeGraceMs: 1_000 },
    },
  });
});

afterEach(async () => {
  await hub.close(0);
  vi.useRealTimers();
});

describe('the live-views hub', () => {
  it('sends the current view on subscribe, then only newer published views', async () => {
    const socket = connect();
    socket.message({ subscribe: ['a'] });
    await settle();
    expect(stockOf(socket)).toEqual(['a@3']);
    hub.publish([view('a', 2, 8), view('a', 5, 5), view('b', 2, 9)]);
    expect(stockOf(socket)).toEqual(['a@3', 'a@5']);
  });

  it('gives a "*" subscriber every item, and nothing after an unsubscribe', async () => {
    const socket = connect();
    socket.message({ subscribe: ['*'] });
    await settle();
    expect(stockOf(socket).sort()).toEqual(['a@3', 'b@1']);
    hub.publish([view('c', 1, 10)]);
    expect(stockOf(socket)).toContain('c@1');
    socket.message({ unsubscribe: ['*'] });
    await settle();
    hub.publish([view('a', 9, 1)]);
    expect(stockOf(socket)).not.toContain('a@9');
  });

  it('sends a watched purchase once announced, and a decided one at once', async () => {
    purchases.set('p1', purchase('p1', 'pending'));
    purchases.set('p2', purchase('p2', 'rejected'));
    const socket = connect();
    socket.message({ watch: ['p1', 'p2'] });
    await settle();
    expect(socket.sent).toEqual([
      {
        type: 'purchase',
        purchase: { purchaseId: 'p2', itemId: 'a', status: 'rejected', reason: 'REJECTED' },
      },
    ]);
    purchases.set('p1', purchase('p1', 'confirmed'));
    announce(['p1', 'unwatched']);
    await settle();
    expect(socket.sent.at(-1)).toEqual({
      type: 'purchase',
      purchase: { purchaseId: 'p1', itemId: 'a', status: 'confirmed' },
    });
    announce(['p1']);
    await settle();
    expect(socket.sent).toHaveLength(2);
  });

  it('answers messages in the order sent, a binary frame among them', async () => {
    const socket = connect();
    socket.emit('message', Buffer.from('{'), false);
    socket.emit('message', Buffer.from([0]), true);
    socket.message({ nope: 1 });
    await settle();
    expect(socket.sent.map((m) => (m as { error?: { code: string } }).error?.code)).toEqual([
      'MALFORMED_JSON',
      'INVALID_MESSAGE',
      'UNKNOWN_FIELD',
    ]);
  });

  it('refuses connections beyond the cap (1013) and cuts one that missed a pong', async () => {
    const [first, second] = [connect(), connect()];
    expect(hub.canAccept()).toBe(false);
    const third = connect();
    expect(third.readyState).toBe(3);
    expect(hub.connections()).toBe(2);

    vi.advanceTimersByTime(1_000);
    expect([first.pings, second.pings]).toEqual([1, 1]);
    first.emit('pong');
    vi.advanceTimersByTime(1_000);
    expect([first.terminated, second.terminated]).toEqual([false, true]);
    expect(hub.connections()).toBe(1);
    await settle();
  });
});
