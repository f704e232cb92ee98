// Runs the PostgreSQL migrations against the real server, on a database of its own.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePostgresDatabase, listMigrations, migrateDatabase, migratePostgres } from '../src/index.js';

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

async function dropDatabaseNamed(name: string): Promise<void> {
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
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
      'purchase_keys',
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

describe('0006 purchase_keys on a database that already holds one key twice (real PostgreSQL)', () => {
  const name = `buy_now_migrations_keys_${process.pid}`;
  const keysUrl = new URL(databaseUrl);
  keysUrl.pathname = `/${name}`;
  beforeAll(() => dropDatabaseNamed(name));
  afterAll(() => dropDatabaseNamed(name));

  it('gives each key to its earliest purchase, leaves the later ones alone, and refuses another holder', async () => {
    await ensurePostgresDatabase(keysUrl.toString());
    const client = new pg.Client({ connectionString: keysUrl.toString() });
    await client.connect();
    // The schema as it was before 0006, recorded as applied the way migratePostgres records it.
    await client.query(`CREATE TABLE schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const m of listMigrations('postgres').filter((m) => m.version < 6)) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
    }
    // p-late was confirmed after p-first for the same key (the gate had forgotten it): the old bug.
    await client.query(
      `INSERT INTO purchases (purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key,
         admission_seq, admitted_at, decided_at)
       VALUES
         ('p-late',  'i1', 'alice', 1, 'confirmed', NULL,        'K', 9, now(), '2025-01-01T10:00:05Z'),
         ('p-first', 'i1', 'alice', 1, 'confirmed', NULL,        'K', 3, now(), '2025-01-01T10:00:00Z'),
         ('p-same-batch-2', 'i1', 'bob', 1, 'rejected', 'SOLD_OUT', 'K', 5, now(), '2025-01-01T10:00:00Z'),
         ('p-same-batch-1', 'i1', 'bob', 1, 'confirmed', NULL,       'K', 4, now(), '2025-01-01T10:00:00Z'),
         ('p-other-item', 'i2', 'alice', 1, 'confirmed', NULL,       'K', 1, now(), '2025-01-01T10:00:09Z'),
         ('p-no-key', 'i1', 'carol', 1, 'confirmed', NULL,          NULL, 6, now(), '2025-01-01T10:00:00Z')`,
    );

    const report = await migratePostgres(client);

    expect(report.applied.map((m) => `${m.version}_${m.name}`)).toEqual(['6_purchase_keys']);
    const { rows } = await client.query<{ item_id: string; buyer_id: string; purchase_id: string }>(
      'SELECT item_id, buyer_id, idempotency_key, purchase_id FROM purchase_keys ORDER BY item_id, buyer_id',
    );
    expect(rows).toEqual([
      { item_id: 'i1', buyer_id: 'alice', idempotency_key: 'K', purchase_id: 'p-first' },
      { item_id: 'i1', buyer_id: 'bob', idempotency_key: 'K', purchase_id: 'p-same-batch-1' },
      { item_id: 'i2', buyer_id: 'alice', idempotency_key: 'K', purchase_id: 'p-other-item' },
    ]);
    expect((await client.query('SELECT count(*)::int AS n FROM purchases')).rows).toEqual([{ n: 6 }]);
    await expect(
      client.query(
        "INSERT INTO purchase_keys (item_id, buyer_id, idempotency_key, purchase_id) VALUES ('i1', 'alice', 'K', 'p-new')",
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'purchase_keys_pk' });
    await client.end();
  });
});

describe('migrateDatabase on PostgreSQL (real PostgreSQL)', () => {
  const name = `buy_now_migrations_runner_${process.pid}`;
  const runnerUrl = new URL(databaseUrl);
  runnerUrl.pathname = `/${name}`;
  beforeAll(() => dropDatabaseNamed(name));
  afterAll(() => dropDatabaseNamed(name));

  it('creates the database when asked, applies every migration once, and reports it', async () => {
    const database = { dialect: 'postgres', url: runnerUrl.toString() } as const;
    const total = listMigrations('postgres').length;
    const applied: number[] = [];

    const first = await migrateDatabase(database, {
      createDatabase: true,
      onApplied: (m) => applied.push(m.version),
    });
    const second = await migrateDatabase(database, { createDatabase: true });

    expect(first).toMatchObject({ database: name, created: true, alreadyApplied: 0 });
    expect(first.applied).toHaveLength(total);
    expect(applied).toEqual(listMigrations('postgres').map((m) => m.version));
    expect(second).toEqual({ database: name, created: false, applied: [], alreadyApplied: total });
  });
});
