import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDurableProducer,
  createKafkaClient,
  deleteGroups,
  deleteTopics,
  ensureTopics,
  fetchTopicOffsets,
  isKafkaError,
  provedNotWritten,
  runBatchConsumer,
  waitForBroker,
  type RecordMetadata,
} from '../src/index.js';
import { eventually, expectCommittedAtEnd, testClient, uniqueName } from './support.js';

const client = testClient();
const topics: string[] = [];
const groups: string[] = [];

async function freshTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  // The consumer of a decoded topic creates its dead-letter topic beside it.
  topics.push(topic, `${topic}.dlq`);
  await ensureTopics(client, [{ name: topic, partitions }]);
  return topic;
}

beforeAll(async () => {
  await waitForBroker(client, { timeoutMs: 10_000 });
});

afterAll(async () => {
  await deleteGroups(client, groups);
  await deleteTopics(client, topics);
});

describe('durable producer', () => {
  it('coalesces 5,000 concurrent sends into few produce requests; a consumer group reads each record exactly once, in order per key', async () => {
    const topic = await freshTopic('burst', 6);
    const producer = createDurableProducer(client);
    const count = 5000;
    const keys = 40;
    const metadata = await Promise.all(
      Array.from({ length: count }, (_, id) =>
        producer.send({
          topic,
          key: `item-${id % keys}`,
          value: Buffer.from(JSON.stringify({ id })),
          headers: { 'schema-name': 'Test' },
        }),
      ),
    );
    const stats = producer.stats();
    await producer.stop();

    expect(stats.recordsSent).toBe(count);
    expect(stats.batchesFailed).toBe(0);
    expect(stats.batchesSent).toBeLessThan(500);
    // Every caller was told a distinct (partition, offset), and the log holds exactly that many.
    const positions = new Set(metadata.map((m: RecordMetadata) => `${m.partition}/${m.offset}`));
    expect(positions.size).toBe(count);
    expect(metadata.every((m) => m.topic === topic && m.partition >= 0 && BigInt(m.offset) >= 0n)).toBe(true);
    const end = await fetchTopicOffsets(client, topic);
    expect(end.reduce((sum, p) => sum + Number(p.high), 0)).toBe(count);

    const groupId = uniqueName('burst-group');
    groups.push(groupId);
    const seen = new Map<number, number>();
    const orderPerKey = new Map<string, number[]>();
    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      decode: (record) => JSON.parse(record.value!.toString('utf8')) as { id: number },
      handleBatch: async (records) => {
        for (const record of records) {
          seen.set(record.message.id, (seen.get(record.message.id) ?? 0) + 1);
          const key = record.key!.toString();
          orderPerKey.set(key, [...(orderPerKey.get(key) ?? []), record.message.id]);
        }
        await Promise.resolve();
      },
    });
    expect(consumer.isRunning()).toBe(true);
    await eventually('all records consumed', () => seen.size === count);
    await consumer.stop();
    expect(consumer.isRunning()).toBe(false);

    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, id) => id));
    expect([...seen.values()].every((times) => times === 1)).toBe(true);
    for (const ids of orderPerKey.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it('stop() delivers the records still waiting in the batch before disconnecting, then refuses sends', async () => {
    const topic = await freshTopic('stop', 2);
    // A linger far beyond the test: only stop() can make these records go.
    const producer = createDurableProducer(client, { lingerMs: 600_000 });
    const pending = Array.from({ length: 50 }, (_, id) =>
      producer.send({ topic, key: `k${id % 3}`, value: Buffer.from(String(id)) }),
    );
    expect(producer.stats().queuedRecords).toBe(50);
    await producer.stop();

    const outcomes = await Promise.allSettled(pending);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(50);
    const end = await fetchTopicOffsets(client, topic);
    expect(end.reduce((sum, p) => sum + Number(p.high), 0)).toBe(50);

    const late = await producer
      .send({ topic, key: 'k', value: Buffer.from('late') })
      .catch((error: unknown) => error);
    expect(isKafkaError(late, 'KAFKA_PRODUCER_STOPPED')).toBe(true);
    expect(isKafkaError(late) && late.canRetry).toBe(false);
  });

  it('rejects every send of a batch as retryable and certainly not written when no broker answers', async () => {
    // Nothing listens on port 1: connections are refused, as when the broker is down.
    const offline = createKafkaClient({
      brokers: ['127.0.0.1:1'],
      clientId: 'offline',
      logger: client.logger,
    });
    const producer = createDurableProducer(offline);
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map((id) => producer.send({ topic: 'nowhere', key: 'k', value: Buffer.from(String(id)) })),
    );
    await producer.stop();
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason: unknown = outcome.status === 'rejected' ? outcome.reason : undefined;
      // No connection to send them on: the one produce failure that proves nothing reached the log.
      expect(isKafkaError(reason, 'KAFKA_BROKER_UNREACHABLE')).toBe(true);
      expect(isKafkaError(reason) && reason.canRetry).toBe(true);
      expect(provedNotWritten(reason)).toBe(true);
    }
    expect(producer.stats()).toMatchObject({ recordsSent: 0, recordsFailed: 3 });

    const idle = createDurableProducer(offline);
    const connectFailure = await idle.connect().catch((error: unknown) => error);
    await idle.stop();
    expect(isKafkaError(connectFailure, 'KAFKA_BROKER_UNREACHABLE')).toBe(true);

    const unreachable = await waitForBroker(offline, { timeoutMs: 500 }).catch((error: unknown) => error);
    expect(isKafkaError(unreachable, 'KAFKA_BROKER_UNREACHABLE')).toBe(true);
    expect((unreachable as Error).message).toContain('npm run infra:up');
    expect((unreachable as Error).message).toContain('infra/.run/kafka/server.log');
  });

  it('answers each caller with where its record landed, readable at that offset', async () => {
    const topic = await freshTopic('offsets', 3);
    const producer = createDurableProducer(client);
    const sent = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((key) =>
        producer.send({ topic, key, value: Buffer.from(`value-${key}`) }),
      ),
    );
    await producer.stop();

    const groupId = uniqueName('offsets-group');
    groups.push(groupId);
    const found = new Map<string, string>();
    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      handleBatch: async (records) => {
        for (const record of records)
          found.set(`${record.partition}/${record.offset}`, record.value!.toString());
        await Promise.resolve();
      },
    });
    await eventually('5 records consumed', () => found.size === 5);
    await consumer.stop();
    expect(sent.map((m) => found.get(`${m.partition}/${m.offset}`))).toEqual([
      'value-a',
      'value-b',
      'value-c',
      'value-d',
      'value-e',
    ]);
  });
});
