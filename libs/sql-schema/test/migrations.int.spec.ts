// Runs the PostgreSQL migrations against the real server, on a database of its own.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePostgresDatabase, listMigrations, migratePostgres } from '../src/index.js';

const baseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/buy_now';
const url = new URL(baseUrl);
url.pathname = `/buy_now_migrations_${process.pid}`;
const databaseUrl = url.toString();

async function dropDatabase(): Promise<void> {
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "buy_now_migrations_${process.pid}" WITH (FORCE)`);
  await client.end();
}

describe('migratePostgres (real PostgreSQL)', () => {
  beforeAll(dropDatabase);
  afterAll(dropDatabase);

  it('creates the database once and applies every migration once, even with concurrent runners', async () => {
    expect(await ensurePostgresDatabase(databaseUrl)).toMatchObject({ created: true });
    expect(await ensurePostgresDatabase(databaseUrl)).toMatchObject({ created: false });

    const clients = [
      new pg.Client({ connectionString: databaseUrl }),
      new pg.Client({ connectionString: databaseUrl }),
    ];
    await Promise.all(clients.map((c) => c.connect()));
    const reports = await Promise.all(clients.map((c) => migratePostgres(c)));
    const total = listMigrations('postgres').length;
    expect(reports.map((r) => r.applied.length).sort()).toEqual([0, total]);

    const again = await migratePostgres(clients[0]!);
    expect(again).toEqual({ applied: [], alreadyApplied: total });

    const { rows } = await clients[0]!.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'item_events',
      'items',
      'outbox',
      'processed_commands',
      'purchases',
      'schema_migrations',
    ]);
    await Promise.all(clients.map((c) => c.end()));
  });

  it('refuses stock below zero and an unbalanced item row', async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(
      `INSERT INTO items (item_id, title, price_minor, currency, per_buyer_limit, listed, sold, remaining, version)
       VALUES ('i1', 'Tee', 1000, 'EUR', 1, 1, 0, 1, 1)`,
    );
    await expect(
      client.query("UPDATE items SET remaining = remaining - 2, sold = sold + 2 WHERE item_id = 'i1'"),
    ).rejects.toMatchObject({ code: '23514' });
    await expect(client.query("UPDATE items SET sold = 1 WHERE item_id = 'i1'")).rejects.toMatchObject({
      code: '23514',
      constraint: 'items_stock_balances',
    });
    const { rows } = await client.query<{ remaining: number; sold: number }>(
      "SELECT remaining, sold FROM items WHERE item_id = 'i1'",
    );
    expect(rows).toEqual([{ remaining: 1, sold: 0 }]);
    await client.end();
  });

  it('refuses a changed, already-applied migration', async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1");
    await expect(migratePostgres(client)).rejects.toMatchObject({ code: 'MIGRATION_CHECKSUM_MISMATCH' });
    await client.end();
  });
});
