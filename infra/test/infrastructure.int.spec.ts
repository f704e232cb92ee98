// What `npm run infra:up` promises, checked against the real servers: the catalogue's topics exist
// with their configs, every contract round-trips through the broker, Kafka's own tools read our
// topics, and Redis and PostgreSQL answer with the schema applied.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decode, encode, schemaNames, topicCatalogue, topicOf, type SchemaName } from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  deleteTopics,
  describeTopicConfigs,
  ensureTopics,
  fetchPartitionCount,
  listTopics,
  runBatchConsumer,
} from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { getTestServers, uniqueName, waitFor } from '@buy-now/testkit';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// One valid record of every schema, pinned to the TypeScript types by the contracts' own tests.
import { samples } from '../../libs/contracts/test/samples.js';

const run = promisify(execFile);
const kafkaTool = fileURLToPath(new URL('../bin/kafka-tool.sh', import.meta.url));
const logger = createLogger({ service: 'infra-test', level: 'warn' });

describe('infrastructure (real Kafka, Redis, PostgreSQL)', () => {
  let servers: Awaited<ReturnType<typeof getTestServers>>;
  let client: ReturnType<typeof createKafkaClient>;
  const scratchTopics: string[] = [];

  beforeAll(async () => {
    servers = await getTestServers();
    client = createKafkaClient({ brokers: servers.kafkaBrokers, clientId: 'infra-test', logger });
    // Idempotent: infra:up already created them where it ran; containers need them here.
    await ensureTopics(
      client,
      topicCatalogue.map((t) => ({ ...t, configs: { ...t.configs } })),
    );
  });

  afterAll(async () => {
    if (scratchTopics.length > 0) await deleteTopics(client, scratchTopics);
  });

  it('has every topic of the catalogue, with its partitions and configs', async () => {
    const existing = new Set(await listTopics(client));
    for (const spec of topicCatalogue) {
      expect(existing.has(spec.name), spec.name).toBe(true);
      expect(await fetchPartitionCount(client, spec.name), spec.name).toBe(spec.partitions);
      const configs = await describeTopicConfigs(client, spec.name);
      for (const [name, value] of Object.entries(spec.configs))
        expect(configs[name], `${spec.name} ${name}`).toBe(value);
    }
    expect(topicCatalogue.find((t) => t.name === 'stock-views')?.configs['cleanup.policy']).toBe('compact');
  });

  it('round-trips every contract through the broker, and Kafka’s own console consumer reads it', async () => {
    const topic = uniqueName('contracts');
    scratchTopics.push(topic, `${topic}.dlq`);
    await ensureTopics(client, [{ name: topic, partitions: 3, configs: {} }]);
    const producer = createDurableProducer(client, { logger });
    const names: readonly SchemaName[] = schemaNames;
    await Promise.all(
      names.map((name) => {
        const record = encode(name, samples[name] as never);
        return producer.send({ topic, key: record.key, value: record.value, headers: record.headers });
      }),
    );
    await producer.stop();

    const received = new Map<string, unknown>();
    const consumer = await runBatchConsumer(client, {
      groupId: uniqueName('contracts'),
      topics: [topic],
      fromBeginning: true,
      logger,
      decode: (record) => decode(record.headers, record.value),
      handleBatch: (records) => {
        for (const r of records) received.set(r.message.name, r.message.value);
        return Promise.resolve();
      },
    });
    await waitFor('every contract to come back', () => (received.size === names.length ? true : undefined), {
      timeoutMs: 30_000,
      describe: () => [...received.keys()],
    });
    await consumer.stop();
    for (const name of names) expect(received.get(name), name).toEqual(samples[name]);
    // Every schema belongs to a topic of the catalogue.
    for (const name of names) expect(topicCatalogue.map((t) => t.name)).toContain(topicOf(name));

    if (servers.source === 'environment') {
      const { stdout } = await run(
        'bash',
        [
          kafkaTool,
          'console-consumer',
          '--topic',
          topic,
          '--from-beginning',
          '--max-messages',
          String(names.length),
          '--timeout-ms',
          '20000',
          '--property',
          'print.headers=true',
          '--property',
          'print.key=true',
        ],
        { env: { ...process.env, KAFKA_BROKERS: servers.kafkaBrokers.join(',') }, timeout: 60_000 },
      );
      // Values are Avro binary (they may hold newlines): count the schema headers instead of lines.
      const schemasSeen = [...stdout.matchAll(/schema:buynow\.(\w+)/g)].map((m) => m[1]).sort();
      expect(schemasSeen).toEqual([...names].sort());
    }
  });

  it('reaches Redis and a migrated PostgreSQL', async () => {
    const redis = new Redis(servers.redisUrl);
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
    const db = new pg.Client({ connectionString: servers.databaseUrl });
    await db.connect();
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)[0]).toBe(1);
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['items', 'purchases', 'item_events', 'outbox']),
    );
    await db.end();
  });
});
