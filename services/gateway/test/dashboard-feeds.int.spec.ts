// What the dashboard gets over GET /ws from a real system: closed sales-metrics windows (recent ones on
// follow, then each as it closes) and the lag of each consumer group, which falls to zero once the sale
// is decided. And the pages the gateway serves next to the API.
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveUrl, openLiveClient, type LiveClient } from './support/live-client.js';
import {
  buyAllAtOnce,
  listItem,
  oneToN,
  request,
  startSystem,
  tally,
  type TestSystem,
} from './support/system.js';

interface MetricsWindow {
  itemId: string;
  windowStart: number;
  orders: number;
  totalOrders: number;
  timeToSellOutMs: number | null;
}
interface DashboardFrame {
  type: string;
  metrics?: MetricsWindow[];
  at?: number;
  groups?: { group: string; groupId: string; topic: string; lag: number }[];
}

let system: TestSystem;
const clients: LiveClient[] = [];

beforeAll(async () => {
  system = await startSystem({ gatewayEnv: { WS_LAG_INTERVAL_MS: '300' } });
});
afterAll(async () => {
  for (const client of clients) await client.close();
  await system?.stop();
});

const framesOf = (client: LiveClient, type: string): DashboardFrame[] =>
  client.received.map((r) => r.message as unknown as DashboardFrame).filter((m) => m.type === type);

const windowsOf = (client: LiveClient, itemId: string): MetricsWindow[] =>
  framesOf(client, 'metrics').flatMap((f) => (f.metrics ?? []).filter((w) => w.itemId === itemId));

describe('dashboard feeds', () => {
  it('pushes sales-metrics windows and consumer lag to connections that follow them', async () => {
    const dashboard = await openLiveClient(liveUrl(system.baseUrl));
    const bystander = await openLiveClient(liveUrl(system.baseUrl));
    clients.push(dashboard, bystander);
    dashboard.send({ follow: ['metrics', 'lag'] });
    bystander.send({ subscribe: ['*'] });

    const lagFrame = await dashboard.until('a lag frame', () => framesOf(dashboard, 'lag')[0]);
    expect(lagFrame.groups?.map((g) => g.group)).toEqual([
      'reservation',
      'stream-processor',
      'gateway-follower',
    ]);
    expect(lagFrame.groups?.map((g) => g.groupId)).toEqual([
      system.reservationGroupId,
      system.processorGroupId,
      `${system.topicPrefix}gateway-follower`,
    ]);

    const itemId = await listItem(system, { stock: 30 });
    const answers = await buyAllAtOnce(
      system,
      oneToN(40).map((n) => ({ itemId, buyerId: `dash-${n}` })),
    );
    expect(tally(answers)).toEqual({ '202': 30, '409 SOLD_OUT': 10 });

    // Every confirmed order is counted in the item's windows; the last says how long selling out took.
    const windows = await dashboard.until(
      'the sell-out window',
      () => {
        const seen = windowsOf(dashboard, itemId);
        return seen.some((w) => w.timeToSellOutMs !== null && w.totalOrders === 30) ? seen : undefined;
      },
      60_000,
    );
    const byStart = new Map(windows.map((w) => [w.windowStart, w.orders]));
    expect([...byStart.values()].reduce((a, b) => a + b, 0)).toBe(30);
    expect(windowsOf(dashboard, '*').some((w) => w.orders > 0)).toBe(true);

    // Once everything is decided, every group has read everything.
    await waitFor(
      'every consumer group caught up',
      () => {
        const last = framesOf(dashboard, 'lag').at(-1);
        return last?.groups?.every((g) => g.lag === 0) && (last.at ?? 0) > Date.now() - 5_000
          ? true
          : undefined;
      },
      { timeoutMs: 60_000 },
    );

    // Who did not follow gets neither.
    expect(framesOf(bystander, 'metrics')).toEqual([]);
    expect(framesOf(bystander, 'lag')).toEqual([]);

    // A dashboard opened later gets the recent windows at once.
    const late = await openLiveClient(liveUrl(system.baseUrl));
    clients.push(late);
    late.send({ follow: ['metrics'] });
    await late.until('the recent windows', () =>
      windowsOf(late, itemId).some((w) => w.timeToSellOutMs !== null) ? true : undefined,
    );
    expect(framesOf(late, 'lag')).toEqual([]);

    // Unfollowing stops the lag frames.
    dashboard.send({ unfollow: ['lag'] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = framesOf(dashboard, 'lag').length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(framesOf(dashboard, 'lag').length).toBe(before);
  });

  it('refuses an unknown feed and changes nothing', async () => {
    const client = await openLiveClient(liveUrl(system.baseUrl));
    clients.push(client);
    client.send({ follow: ['everything'] });
    const error = await client.until('an error frame', () => client.errors()[0]);
    expect(error.code).toBe('INVALID_MESSAGE');
  });
});

describe('pages', () => {
  it('serves the storefront at / and the dashboard at /dashboard, under a strict CSP, beside the API', async () => {
    const home = await request(system.baseUrl, 'GET', '/');
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/^text\/html/);
    expect(home.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(home.text).toMatch(/<title>Buy Now · flash sale<\/title>/);
    expect(home.text).not.toMatch(/<script>|<style|style=/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(home.text)?.[1];
    expect(script).toBeDefined();
    const asset = await request(system.baseUrl, 'GET', script ?? '');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);

    const dashboard = await request(system.baseUrl, 'GET', '/dashboard');
    expect(dashboard.status).toBe(200);
    expect(dashboard.text).toMatch(/Orders per second/);

    expect((await request(system.baseUrl, 'GET', '/items')).status).toBe(200);
    expect((await request(system.baseUrl, 'GET', '/docs/json')).status).toBe(200);
    expect((await request(system.baseUrl, 'GET', '/assets/nothing.js')).status).toBe(404);
  });
});
