// The seed project's API, kept so its clients work unchanged: a synchronous "OK" / "Sold out" per request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  itemRow,
  listItem,
  purchaseRows,
  request,
  startSystem,
  waitForItem,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;

beforeAll(async () => {
  // The seed API exists only in demo mode (the security suite checks it answers 404 otherwise).
  system = await startSystem({ gatewayEnv: { DEMO_MODE: 'true' } });
});

afterAll(async () => {
  await system?.stop();
});

interface SeedItem {
  id: string;
  name: string;
  totalStock: number;
}

async function seedItems(): Promise<SeedItem[]> {
  const answer = await request(system.baseUrl, 'GET', '/api/auction/items');
  expect(answer.status).toBe(200);
  return JSON.parse(answer.text) as SeedItem[];
}

describe('the seed API', () => {
  it('answers 200 "OK" while stock lasts, then 400 "Sold out", and lists the item', async () => {
    const itemId = await listItem(system, { stock: 3, title: 'Seed item' });
    expect(await seedItems()).toEqual([{ id: itemId, name: 'Seed item', totalStock: 3 }]);

    const buy = (userId: string) =>
      request(system.baseUrl, 'POST', '/api/auction/buy-now', { json: { itemId, userId } });
    const winners = await Promise.all(['user-1', 'user-2', 'user-3'].map(buy));
    for (const answer of winners) {
      expect({ status: answer.status, text: answer.text }).toEqual({ status: 200, text: 'OK' });
      expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    }

    const late = await buy('user-4');
    expect({ status: late.status, text: late.text }).toEqual({ status: 400, text: 'Sold out' });
    const again = await buy('user-1');
    expect({ status: again.status, text: again.text }).toEqual({ status: 400, text: 'Sold out' });

    // The list is the stream processor's view: it shows the sale once the last event was folded.
    await waitForItem(system, itemId, 5);
    expect(await seedItems()).toEqual([{ id: itemId, name: 'Seed item', totalStock: 0 }]);
    expect(await itemRow(system, itemId)).toMatchObject({ sold: 3, remaining: 0 });
    const rows = await purchaseRows(system, itemId);
    expect(rows.map((row) => [row.buyerId, row.status]).sort()).toEqual([
      ['user-1', 'confirmed'],
      ['user-2', 'confirmed'],
      ['user-3', 'confirmed'],
    ]);
  });
});
