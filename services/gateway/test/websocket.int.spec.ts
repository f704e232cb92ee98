// GET /ws under a flash sale: 200 clients watching one item while 3,000 buyers take its 1,000 units. Each
// client sees the stock only go down, in strictly increasing versions, and ends at SQL's final state; a
// client that stops reading delays nobody; purchase outcomes reach the connection that watches them; and
// the connection's limits (subscriptions, origin, message size, bad messages) hold.
import { randomUUID } from 'node:crypto';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import {
  liveUrl,
  openLiveClient,
  RefusedUpgrade,
  type LiveClient,
  type StockMessage,
} from './support/live-client.js';
import {
  buyAllAtOnce,
  buyNow,
  eventsOfItem,
  itemRow,
  listItem,
  purchaseIdsOf,
  readItemEvents,
  request,
  startSystem,
  tally,
  waitForItem,
  waitUntilDecided,
  type AnswerBody,
  type BuyNowAnswer,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;
let url: string;
const clients: LiveClient[] = [];

beforeAll(async () => {
  system = await startSystem();
  url = liveUrl(system.baseUrl);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await system?.stop();
});

async function connect(options: { origin?: string; to?: string } = {}): Promise<LiveClient> {
  const client = await openLiveClient(options.to ?? url, options);
  clients.push(client);
  return client;
}

/** Versions strictly increasing and units available never going up. */
function monotonic(views: readonly StockMessage['view'][]): { versions: boolean; available: boolean } {
  let versions = true;
  let available = true;
  for (let i = 1; i < views.length; i++) {
    const [before, after] = [views[i - 1], views[i]] as [StockMessage['view'], StockMessage['view']];
    if (after.version <= before.version) versions = false;
    if (after.available > before.available) available = false;
  }
  return { versions, available };
}

describe('live stock over WebSocket during a flash sale', () => {
  it('gives each of 200 clients a decreasing stock ending at the final state, unslowed by a client that stopped reading', async () => {
    const STOCK = 1_000;
    const BUYERS = 3_000;
    const itemId = await listItem(system, { stock: STOCK });

    const watchers = await Promise.all(Array.from({ length: 200 }, () => connect()));
    for (const client of watchers) client.send({ subscribe: [itemId] });
    // Each starts with the current view.
    await waitFor(
      'every client to have the current view',
      () => (watchers.every((c) => c.stock(itemId).length > 0) ? true : undefined),
      { timeoutMs: 30_000 },
    );
    for (const client of watchers) {
      expect(client.stock(itemId)[0]).toMatchObject({
        itemId,
        available: STOCK,
        sold: 0,
        status: 'live',
        version: 1,
      });
    }
    const [stalled, ...others] = watchers as [LiveClient, ...LiveClient[]];
    stalled.pauseReading();

    // Six waves of 500 buyers at once: 3,000 connections at once would overflow the listen backlog of a
    // gateway sharing this process with the 200 clients.
    const answers: BuyNowAnswer[] = [];
    for (let wave = 0; wave < BUYERS / 500; wave++) {
      answers.push(
        ...(await buyAllAtOnce(
          system,
          Array.from({ length: 500 }, (_, i) => ({ itemId, buyerId: `ws-buyer-${wave * 500 + i}` })),
        )),
      );
    }
    expect(tally(answers)).toEqual({ '202': STOCK, '409 SOLD_OUT': BUYERS - STOCK });
    await waitUntilDecided(system, purchaseIdsOf(answers.filter((a) => a.status === 202)));
    const row = await itemRow(system, itemId);
    expect(row).toEqual({ listed: STOCK, sold: STOCK, remaining: 0, version: STOCK + 2 });
    const finalVersion = row?.version ?? 0;

    // The 199 others reach the final state while the stalled client still is not reading.
    await waitFor(
      'the 199 reading clients at the final version',
      () => (others.every((c) => c.stock(itemId).at(-1)?.version === finalVersion) ? true : undefined),
      {
        timeoutMs: 30_000,
        describe: () => others.map((c) => c.stock(itemId).at(-1)?.version).filter((v) => v !== finalVersion),
      },
    );
    for (const client of others) {
      const views = client.stock(itemId);
      expect(monotonic(views)).toEqual({ versions: true, available: true });
      expect(views.at(-1)).toMatchObject({
        itemId,
        available: 0,
        sold: STOCK,
        listed: STOCK,
        status: 'sold-out',
        version: finalVersion,
      });
    }
    const seen = others.map((c) => c.stock(itemId).length);
    console.info(
      `[websocket] ${others.length} reading clients: ${Math.min(...seen)}..${Math.max(...seen)} stock messages each ` +
        `(versions 1..${finalVersion}, coalesced per processor batch)`,
    );

    // The stalled client: closed as too slow (1013), or, reading again, it ends at the final state.
    stalled.resumeReading();
    const outcome = await waitFor(
      'the stalled client closed or at the final version',
      () => {
        if (stalled.isClosed()) return 'closed';
        return stalled.stock(itemId).at(-1)?.version === finalVersion ? 'final' : undefined;
      },
      { timeoutMs: 30_000 },
    );
    if (outcome === 'closed') {
      // The gateway closes it with 1013; when the client's unread buffers hold the close frame past the
      // grace period the gateway drops the socket and the client sees 1006. On a busy machine the
      // heartbeat may come first: a client that reads nothing answers no ping either, and is cut (1006).
      // Either way the gateway must have closed it, and counted why.
      expect([1013, 1006]).toContain((await stalled.closed).code);
      const metrics = (await request(system.baseUrl, 'GET', '/metrics')).text;
      expect(metrics).toMatch(/buynow_ws_(slow_closes|heartbeat_cuts)_total\{[^}]*\} [1-9]/);
    } else {
      expect(stalled.stock(itemId).at(-1)).toMatchObject({
        available: 0,
        status: 'sold-out',
        version: finalVersion,
      });
    }
    expect(monotonic(stalled.stock(itemId))).toEqual({ versions: true, available: true });
    console.info(
      `[websocket] the client that stopped reading: ${outcome}, ${stalled.stock(itemId).length} stock messages`,
    );
    await Promise.all(watchers.map((c) => c.close()));
  });

  it('sends a watched purchase its outcome once decided, and at once when already decided', async () => {
    const itemId = await listItem(system, { stock: 5 });
    const client = await connect();

    // Decisions held back: the outcome can only arrive through the announcement after the watch.
    await system.stopReservation('SIGTERM');
    const bought = await buyNow(system, { itemId, buyerId: 'watching-buyer' });
    expect(bought.status).toBe(202);
    const purchaseId = bought.body.purchaseId ?? '';
    client.send({ watch: [purchaseId] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.purchases()).toEqual([]);
    await system.startReservation();
    await client.until('the purchase outcome', () => (client.purchases().length > 0 ? true : undefined));
    expect(client.purchases()).toEqual([{ purchaseId, itemId, status: 'confirmed' }]);

    // Already decided: answered at once; an unknown purchase gets an error frame.
    const late = await connect();
    late.send({ watch: [purchaseId, 'no-such-purchase'] });
    await late.until('two answers', () => (late.received.length >= 2 ? true : undefined));
    expect(late.purchases()).toEqual([{ purchaseId, itemId, status: 'confirmed' }]);
    expect(late.errors()).toEqual([{ code: 'PURCHASE_NOT_FOUND', message: expect.any(String) as unknown }]);
    expect(late.isClosed()).toBe(false);
  });

  it('gives a "*" subscriber the current view of every item first, then their changes', async () => {
    const listed = [await listItem(system, { stock: 3 }), await listItem(system, { stock: 4 })];
    const all = await request(system.baseUrl, 'GET', '/items');
    const items = (JSON.parse(all.text) as { items: AnswerBody[] }).items;
    expect(items.map((item) => item.itemId)).toEqual(expect.arrayContaining(listed));

    const client = await connect();
    client.send({ subscribe: ['*'] });
    await client.until('a view of every item', () =>
      client.stockReceived().length >= items.length ? true : undefined,
    );
    const first = client
      .stockReceived()
      .slice(0, items.length)
      .map((r) => r.message.view);
    expect(new Set(first.map((view) => view.itemId))).toEqual(new Set(items.map((item) => item.itemId)));
    for (const view of first) expect(view).toEqual(items.find((item) => item.itemId === view.itemId));

    const [itemId] = listed as [string];
    const bought = await buyNow(system, { itemId, buyerId: 'star-buyer', prefer: 'wait=10' });
    expect(bought.status).toBe(201);
    await client.until('the sale on the "*" subscription', () =>
      client.stock(itemId).at(-1)?.version === 2 ? true : undefined,
    );
    expect(client.stock(itemId).at(-1)).toMatchObject({ available: 2, sold: 1, version: 2 });
    expect(await waitForItem(system, itemId, 2)).toEqual(client.stock(itemId).at(-1));
  });
});

describe('live stock at a steady purchase rate', () => {
  it('delivers every change in order to 50 clients at 200 purchases/s (prints the latency)', async () => {
    const STOCK = 1_000;
    const RATE = 200;
    const itemId = await listItem(system, { stock: STOCK });
    const subscribers = await Promise.all(Array.from({ length: 50 }, () => connect()));
    for (const client of subscribers) client.send({ subscribe: [itemId] });
    await waitFor('the current view everywhere', () =>
      subscribers.every((c) => c.stock(itemId).length > 0) ? true : undefined,
    );

    // One purchase every 1000/RATE ms, each sent without waiting for the previous answer.
    const acceptedAt = new Map<string, number>();
    const started = Date.now();
    const requests: Promise<void>[] = [];
    for (let i = 0; i < STOCK; i++) {
      const due = started + (i * 1_000) / RATE;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      requests.push(
        buyNow(system, { itemId, buyerId: `steady-buyer-${i}` }).then((answer) => {
          if (answer.status === 202 && answer.body.purchaseId)
            acceptedAt.set(answer.body.purchaseId, Date.now());
        }),
      );
    }
    await Promise.all(requests);
    const tookMs = Date.now() - started;
    expect(acceptedAt.size).toBe(STOCK);
    await waitFor(
      'every client at the final version',
      () => (subscribers.every((c) => c.stock(itemId).at(-1)?.version === STOCK + 2) ? true : undefined),
      { timeoutMs: 60_000 },
    );
    for (const client of subscribers) {
      expect(monotonic(client.stock(itemId))).toEqual({ versions: true, available: true });
      expect(client.stock(itemId).at(-1)).toMatchObject({ available: 0, sold: STOCK, status: 'sold-out' });
    }

    // Each sale's version and decision time from the log; its first WebSocket message that includes it.
    const sales = eventsOfItem(await readItemEvents(system), itemId).flatMap((event) =>
      event.name === 'ItemBought' ? [event.value] : [],
    );
    expect(sales).toHaveLength(STOCK);
    const fromAccepted: number[] = [];
    const fromDecided: number[] = [];
    for (const client of subscribers) {
      const received = client.stockReceived(itemId);
      for (const sale of sales) {
        const arrival = received.find((r) => r.message.view.version >= sale.version)?.at;
        const accepted = acceptedAt.get(sale.purchaseId);
        if (arrival === undefined || accepted === undefined)
          throw new Error(`no message for ${sale.purchaseId}`);
        fromAccepted.push(arrival - accepted);
        fromDecided.push(arrival - sale.occurredAt);
      }
    }
    const messages = subscribers.map((c) => c.stock(itemId).length);
    console.info(
      `[websocket latency] ${STOCK} purchases at ${RATE}/s (sent over ${tookMs} ms), ${subscribers.length} clients, ` +
        `${Math.min(...messages)}..${Math.max(...messages)} stock messages each\n` +
        `  HTTP 202 → WebSocket view including the sale: ${describeLatency(fromAccepted)}\n` +
        `  ItemBought occurredAt (SQL decision) → WebSocket: ${describeLatency(fromDecided)}`,
    );
  });
});

function describeLatency(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${sorted.at(-1)} ms (${sorted.length} samples)`;
}

describe('the limits of a live connection', () => {
  it('answers a bad message with an error frame and stays open, and closes after 10 of them', async () => {
    const client = await connect();
    const ids = Array.from({ length: 101 }, (_, i) => `item-${i}`);
    client.send({ subscribe: ids });
    client.sendRaw('{not json');
    client.send({ subscribe: ['a'], feeds: ['b'] });
    client.send({ subscribe: ['bad id with spaces'] });
    client.send({ subscribe: ids.slice(0, 100) });
    await client.until('four answers', () => (client.errors().length >= 4 ? true : undefined));
    expect(client.errors().map((e) => e.code)).toEqual([
      'TOO_MANY_SUBSCRIPTIONS',
      'MALFORMED_JSON',
      'UNKNOWN_FIELD',
      'INVALID_MESSAGE',
    ]);
    // 100 subscriptions are within the cap; "*" on top would be one too many.
    client.send({ subscribe: ['*'] });
    await client.until('the fifth answer', () => (client.errors().length >= 5 ? true : undefined));
    expect(client.errors()[4]?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(client.isClosed()).toBe(false);

    for (let i = 0; i < 5; i++) client.sendRaw('[]');
    expect(await client.closed).toEqual({ code: 1008, reason: '10 bad messages' });
    expect(client.errors()).toHaveLength(10);
  });

  it('refuses a foreign origin before the upgrade (403) and takes its own host and origin-less clients', async () => {
    const refused = await openLiveClient(url, { origin: 'https://evil.example' }).then(
      () => 0,
      (error: unknown) => (error instanceof RefusedUpgrade ? error.status : -1),
    );
    expect(refused).toBe(403);
    const sameHost = await connect({ origin: system.baseUrl });
    const noOrigin = await connect();
    expect([sameHost.isClosed(), noOrigin.isClosed()]).toEqual([false, false]);
    const plain = await request(system.baseUrl, 'GET', '/ws');
    expect(plain.status).toBe(426);
    expect(plain.body.error?.code).toBe('UPGRADE_REQUIRED');
  });

  it('closes a connection that sends a message over 4 KiB (1009)', async () => {
    const client = await connect();
    client.send({ subscribe: ['x'.repeat(5_000)] });
    expect((await client.closed).code).toBe(1009);
  });

  it('serves clients of a second gateway instance, up to its connection cap', async () => {
    const config = loadGatewayConfig({
      ...Object.fromEntries(
        Object.entries(system.config).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v ?? '')]),
      ),
      GATEWAY_ID: `gw-second-${randomUUID().slice(0, 8)}`,
      WS_MAX_CONNECTIONS: '2',
    });
    let second: RunningGateway | undefined;
    try {
      second = await startGateway({ ...config, PORT: 0, HOST: '127.0.0.1' }, system.logger);
      const secondUrl = liveUrl(`http://${second.address}`);
      const itemId = await listItem(system, { stock: 2 });
      const [a, b] = [await connect({ to: secondUrl }), await connect({ to: secondUrl })];
      const third = await openLiveClient(secondUrl).then(
        () => 0,
        (error: unknown) => (error instanceof RefusedUpgrade ? error.status : -1),
      );
      expect(third).toBe(503);

      a.send({ subscribe: [itemId] });
      await a.until('the current view', () => (a.stock(itemId).length > 0 ? true : undefined));
      const bought = await buyNow(system, { itemId, buyerId: 'second-instance-buyer', prefer: 'wait=10' });
      expect(bought.status).toBe(201);
      await a.until('the sale through the second instance', () =>
        a.stock(itemId).at(-1)?.version === 2 ? true : undefined,
      );
      expect(a.stock(itemId).map((view) => [view.version, view.available])).toEqual([
        [1, 2],
        [2, 1],
      ]);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await second?.stop();
    }
  });
});
