// The broker goes away and comes back: a batch consumer must consume again by itself. kafkajs gives up
// for good on some errors of a broker outage ("Failed to find group coordinator" is not retriable to
// it), which left a running service with a stopped consumer. Runs on a private broker of its own.
import { startPrivateKafka, type PrivateKafka } from '@buy-now/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDurableProducer,
  createKafkaClient,
  ensureTopics,
  runBatchConsumer,
  waitForBroker,
  type BatchConsumer,
  type KafkaClient,
} from '../src/index.js';
import { eventually, uniqueName } from './support.js';

const SLOW_MS = 240_000;
let broker: PrivateKafka;
let client: KafkaClient;
let consumer: BatchConsumer | undefined;

beforeAll(async () => {
  broker = await startPrivateKafka();
  client = createKafkaClient({
    brokers: [broker.brokers],
    clientId: 'kafka-restart-test',
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    // Few, short retries: the outage must reach the consumer's crash path within the test.
    retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 1_000 },
  });
}, SLOW_MS);

afterAll(async () => {
  try {
    if (broker) await broker.start();
    await consumer?.stop();
  } finally {
    await broker?.close();
  }
}, SLOW_MS);

describe('a batch consumer across a broker restart', { timeout: SLOW_MS }, () => {
  it('consumes again once the broker is back, without being restarted by its caller', async () => {
    const topic = uniqueName('restart');
    await ensureTopics(client, [{ name: topic, partitions: 1 }]);
    const seen: string[] = [];
    consumer = await runBatchConsumer(client, {
      groupId: uniqueName('restart-group'),
      topics: [topic],
      ensureDlqTopics: false,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 1_000,
      handleBatch: (records) => {
        for (const record of records) seen.push(record.value?.toString('utf8') ?? '');
        return Promise.resolve();
      },
    });
    const producer = createDurableProducer(client);
    try {
      await producer.send({ topic, key: 'k', value: Buffer.from('before') });
      await eventually('the record sent before the outage', () => seen.includes('before'));

      await broker.stop();
      await eventually(
        'the consumer to notice the outage',
        () => consumer?.health().lastError !== undefined,
        60_000,
      );
      await broker.start();
      await waitForBroker(client, { timeoutMs: 60_000 });

      await producer.send({ topic, key: 'k', value: Buffer.from('after') });
      await eventually('the record sent after the outage', () => seen.includes('after'), 120_000);
      expect(seen).toEqual(['before', 'after']);
      expect(consumer.health().state).toBe('running');
    } finally {
      await producer.stop();
    }
  });
});
