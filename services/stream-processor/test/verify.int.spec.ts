// The batch check: views:verify recomputes every item from the SQL event store and compares it with the
// streaming views. The SQL rows here are written as the reservation service writes them.
import { createTestDatabase, getTestServers, type TestDatabase } from '@buy-now/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ItemScript } from './support/item-script.js';
import { startTestSystem, type TestSystem } from './support/system.js';

let system: TestSystem;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase((await getTestServers()).databaseUrl, 'stream_processor_verify');
  system = await startTestSystem({ DATABASE_URL: database.url });
  await system.startProcessor();
});

afterAll(async () => {
  await system?.stop();
  await database?.drop();
});

const T0 = Date.now() - 60_000;

async function storeInSql(scripts: readonly ItemScript[]): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    for (const script of scripts) {
      const [listing] = script.events;
      if (listing?.name !== 'ItemListed') throw new Error('a script starts with its listing');
      const l = listing.value;
      await client.query(
        `INSERT INTO items (item_id, title, price_minor, currency, per_buyer_limit, starts_at, listed, sold,
                            remaining, version)
         VALUES ($1, $2, $3, $4, $5, to_timestamp($6::double precision / 1000), $7, $8, $9, $10)`,
        [
          l.itemId,
          l.title,
          l.priceMinor,
          l.currency,
          l.perBuyerLimit,
          l.startsAt,
          script.listed,
          script.sold,
          script.remaining,
          script.version,
        ],
      );
      for (const event of script.events) {
        if (event.name === 'PurchaseRejected') continue;
        await client.query(
          `INSERT INTO item_events (item_id, version, event_type, payload, occurred_at)
           VALUES ($1, $2, $3, $4, to_timestamp($5::double precision / 1000))`,
          [
            event.value.itemId,
            event.value.version,
            event.name,
            JSON.stringify(event.value),
            event.value.occurredAt,
          ],
        );
      }
    }
  } finally {
    await client.end();
  }
}

describe('views:verify', () => {
  const scripts = [
    new ItemScript('v-1', { stock: 25, at: T0 }),
    new ItemScript('v-2', { stock: 8, at: T0, startsAt: T0 + 10_000 }),
    new ItemScript('v-3', { stock: 2, at: T0 }),
  ];
  for (let i = 0; i < 25; i++) scripts[0]?.buy(T0 + i, 1);
  scripts[1]
    ?.buy(T0 + 10_001, 3)
    .adjust(T0 + 10_002, -2)
    .reject(T0 + 10_003, 'LIMIT_EXCEEDED');
  scripts[2]
    ?.buy(T0 + 1, 2)
    .adjust(T0 + 2, 6)
    .buy(T0 + 3, 1);

  it('exits 0 when SQL and the views agree', async () => {
    await storeInSql(scripts);
    await system.produce(scripts.flatMap((script) => script.events));
    await system.waitUntilCaughtUp();

    const run = await system.runCli('verify');
    expect(run.stdout).toContain('verify: 3 items in SQL, 3 views; 3 equal, 0 different (0 differences)');
    expect(run.code).toBe(0);
  });

  it('prints the item, field, SQL and view of a tampered view and exits 1', async () => {
    await system.redis.hset(system.views.keys.view('v-3'), 'available', '9', 'sold', '0');
    const run = await system.runCli('verify');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('item v-3: sold sql=3 view=0');
    expect(run.stdout).toContain('item v-3: available sql=5 view=9');
    expect(run.stdout).toContain('verify: 3 items in SQL, 3 views; 2 equal, 1 different (2 differences)');
  });

  it('also names a view that is missing, and an items row that disagrees with its events', async () => {
    await system.redis.del(system.views.keys.view('v-2'));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // Still balanced (sold + remaining = listed), but no event says so.
      await client.query(`UPDATE items SET sold = sold + 1, listed = listed + 1 WHERE item_id = 'v-1'`);
    } finally {
      await client.end();
    }

    const run = await system.runCli('verify');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('item v-2: view sql=version 3 view=(none)');
    expect(run.stdout).toContain('item v-1: items.listed item_events=25 items=26');
    expect(run.stdout).toContain('item v-1: items.sold item_events=25 items=26');
  });
});
