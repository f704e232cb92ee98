// The real servers answer: Redis round-trips, PostgreSQL gets a migrated database of its own,
// and the Kafka broker returns metadata.
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, getTestServers, uniqueName, waitFor } from '../src/index.js';

describe('testkit against the real servers', () => {
  afterAll(async () => (await getTestServers()).stop());

  it('reaches Redis', async () => {
    const { redisUrl } = await getTestServers();
    const redis = new Redis(redisUrl);
    const key = uniqueName('testkit');
    await redis.set(key, '42', 'EX', 30);
    expect(await redis.incr(key)).toBe(43);
    await redis.del(key);
    redis.disconnect();
  });

  it('creates a migrated PostgreSQL database and drops it', async () => {
    const { databaseUrl } = await getTestServers();
    const db = await createTestDatabase(databaseUrl);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
    expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    await client.end();
    await db.drop();
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    const left = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
    expect(left.rowCount).toBe(0);
    await admin.end();
  });

  it('reaches the Kafka broker', async () => {
    const { kafkaBrokers } = await getTestServers();
    const admin = new Kafka({
      brokers: kafkaBrokers,
      clientId: 'testkit',
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
    await admin.disconnect();
  });

  it('waitFor returns the first defined value and explains a timeout', async () => {
    let n = 0;
    expect(await waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), { intervalMs: 1 })).toBe(3);
    await expect(
      waitFor('never', () => undefined, { timeoutMs: 50, intervalMs: 10, describe: () => ({ n }) }),
    ).rejects.toThrow(/waiting for never \(last state: \{"n":3\}\)/);
  });
});
