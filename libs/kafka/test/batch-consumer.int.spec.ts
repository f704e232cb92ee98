import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDurableProducer,
  deleteGroups,
  deleteTopics,
  DLQ_HEADERS,
  ensureTopics,
  fetchCommittedOffsets,
  fetchPartitionCount,
  describeTopicConfigs,
  headerAsString,
  runBatchConsumer,
  waitForBroker,
  type ConsumedRecord,
  type DurableProducer,
  type RecordMetadata,
} from '../src/index.js';
import { eventually, expectCommittedAtEnd, sleep, testClient, uniqueName } from './support.js';

const client = testClient();
const topics: string[] = [];
const groups: string[] = [];
let producer: DurableProducer;

async function freshTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  topics.push(topic, `${topic}.dlq`);
  await ensureTopics(client, [{ name: topic, partitions }]);
  return topic;
}

function freshGroup(prefix: string): string {
  const groupId = uniqueName(prefix);
  groups.push(groupId);
  return groupId;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const decodeId = (record: ConsumedRecord) =>
  (JSON.parse(record.value!.toString('utf8')) as { id: number }).id;

beforeAll(async () => {
  await waitForBroker(client, { timeoutMs: 10_000 });
  producer = createDurableProducer(client);
});

afterAll(async () => {
  await producer.stop();
  await deleteGroups(client, groups);
  await deleteTopics(client, topics);
});

describe('batch consumer', () => {
  it('sends a record that cannot be decoded to the .dlq topic with its reason, and hands the good ones around it to the handler', async () => {
    const topic = await freshTopic('dlq', 1);
    await producer.send({ topic, key: 'item-1', value: json({ id: 1 }) });
    const bad = await producer.send({
      topic,
      key: 'item-1',
      value: Buffer.from('{not json'),
      headers: { 'schema-name': 'BuyRequested', 'schema-version': '1' },
    });
    await producer.send({ topic, key: 'item-1', value: json({ id: 2 }) });

    const handled: number[] = [];
    const groupId = freshGroup('dlq-group');
    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      producerForDlq: producer,
      decode: decodeId,
      handleBatch: async (records) => {
        handled.push(...records.map((record) => record.message));
        await Promise.resolve();
      },
    });
    await eventually('both good records handled', () => handled.length === 2);
    await eventually('dead letter counted', () => consumer.health().recordsDeadLettered === 1);
    await consumer.stop();
    expect(handled).toEqual([1, 2]);
    await expectCommittedAtEnd(client, groupId, topic);

    // Read the dead-letter topic like any other, without decoding.
    const deadLetters: ConsumedRecord[] = [];
    const dlqReader = await runBatchConsumer(client, {
      groupId: freshGroup('dlq-reader'),
      topics: [`${topic}.dlq`],
      fromBeginning: true,
      handleBatch: async (records) => {
        deadLetters.push(...records);
        await Promise.resolve();
      },
    });
    await eventually('dead letter read', () => deadLetters.length === 1);
    await dlqReader.stop();

    const [dead] = deadLetters;
    expect(dead!.key?.toString()).toBe('item-1');
    expect(dead!.value?.toString()).toBe('{not json');
    expect(headerAsString(dead!.headers[DLQ_HEADERS.reason])).toMatch(/SyntaxError.*JSON/);
    expect(headerAsString(dead!.headers[DLQ_HEADERS.sourceTopic])).toBe(topic);
    expect(headerAsString(dead!.headers[DLQ_HEADERS.sourcePartition])).toBe(String(bad.partition));
    expect(headerAsString(dead!.headers[DLQ_HEADERS.sourceOffset])).toBe(bad.offset);
    expect(Number.isNaN(Date.parse(headerAsString(dead!.headers[DLQ_HEADERS.at]) ?? ''))).toBe(false);
    expect(headerAsString(dead!.headers['schema-name'])).toBe('BuyRequested');
    expect(headerAsString(dead!.headers['schema-version'])).toBe('1');
  });

  it('redelivers a batch whose handler threw, commits nothing before the handler succeeds, and handles every record', async () => {
    const topic = await freshTopic('retry', 2);
    const count = 40;
    const sent: RecordMetadata[] = await Promise.all(
      Array.from({ length: count }, (_, id) =>
        producer.send({ topic, key: `item-${id % 4}`, value: json({ id }) }),
      ),
    );
    const partitionsWithRecords = new Set(sent.map((m) => m.partition));
    expect(partitionsWithRecords.size).toBe(2);

    const groupId = freshGroup('retry-group');
    const handledTimes = new Map<number, number>();
    const attemptsSeen: number[] = [];
    const committedWhileFailing: string[] = [];
    const committedBeforeSuccess: string[] = [];
    let failedPartition: number | undefined;
    let failedIds: number[] = [];
    let retriedIds: number[] = [];

    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      retryBackoff: { initialMs: 300, maxMs: 1000 },
      decode: decodeId,
      handleBatch: async (records, ctx) => {
        const committed = await fetchCommittedOffsets(client, groupId, topic);
        const mine = committed.find((c) => c.partition === ctx.partition)?.offset ?? 'none';
        if (failedPartition === undefined) {
          failedPartition = ctx.partition;
          failedIds = records.map((r) => r.message);
          committedWhileFailing.push(mine);
          throw new Error('database unavailable (simulated)');
        }
        if (ctx.partition === failedPartition && ctx.attempt > 1) {
          committedBeforeSuccess.push(mine);
          retriedIds = records.map((r) => r.message);
        }
        attemptsSeen.push(ctx.attempt);
        for (const record of records)
          handledTimes.set(record.message, (handledTimes.get(record.message) ?? 0) + 1);
      },
    });
    await eventually('every record handled', () => handledTimes.size === count);
    await consumer.stop();

    expect(failedIds.length).toBeGreaterThan(0);
    // Before and during the retry, the failing partition had no committed offset at all.
    expect(committedWhileFailing).toEqual(['-1']);
    expect(committedBeforeSuccess).toEqual(['-1']);
    // The very records that failed came back, on a second attempt.
    expect(attemptsSeen).toContain(2);
    expect(retriedIds).toEqual(failedIds);
    for (const id of failedIds) expect(handledTimes.get(id)).toBeGreaterThanOrEqual(1);
    expect([...handledTimes.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: count }, (_, id) => id),
    );
    expect(consumer.health().batchesHandled).toBeGreaterThan(0);
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it.each([0, 600_000])(
    'on stop(), lets the batch in hand finish and commit before leaving the group (commitIntervalMs %i)',
    async (commitIntervalMs) => {
      const topic = await freshTopic('graceful', 1);
      await Promise.all(
        Array.from({ length: 10 }, (_, id) => producer.send({ topic, key: 'k', value: json({ id }) })),
      );

      const groupId = freshGroup('graceful-group');
      let started = false;
      let finished = 0;
      const consumer = await runBatchConsumer(client, {
        groupId,
        topics: [topic],
        fromBeginning: true,
        commitIntervalMs,
        decode: decodeId,
        handleBatch: async (records) => {
          started = true;
          await sleep(1500);
          finished += records.length;
        },
      });
      await eventually('handler started', () => started);
      await consumer.stop();

      expect(finished).toBe(10);
      expect(consumer.health().state).toBe('stopped');
      await expectCommittedAtEnd(client, groupId, topic);
    },
  );

  it('commits only what a handler that stopped early says it handled; the next member gets the rest', async () => {
    const topic = await freshTopic('partial', 1);
    for (let id = 0; id < 6; id++) await producer.send({ topic, key: 'k', value: json({ id }) });
    const groupId = freshGroup('partial-group');

    const firstRun: number[] = [];
    let stopping: Promise<void> | undefined;
    const stopped = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      decode: decodeId,
      handleBatch: async (records, ctx) => {
        // Like a handler that decides one record at a time and sees stop() after the second.
        for (const [index, record] of records.entries()) {
          firstRun.push(record.message);
          if (firstRun.length === 2) stopping = stopped.stop();
          await sleep(50);
          if (!ctx.isRunning()) return { handled: index + 1 };
        }
        return undefined;
      },
    });
    await eventually('stop() called from the handler', () => stopping !== undefined);
    await stopping;
    expect(firstRun).toEqual([0, 1]);
    expect(await fetchCommittedOffsets(client, groupId, topic)).toEqual([{ partition: 0, offset: '2' }]);

    const secondRun: number[] = [];
    const next = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      decode: decodeId,
      handleBatch: async (records) => {
        secondRun.push(...records.map((r) => r.message));
        await Promise.resolve();
      },
    });
    await eventually('the rest handled by the next member', () => secondRun.length === 4);
    await next.stop();
    expect(secondRun).toEqual([2, 3, 4, 5]);
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it('never skips records whose handler keeps failing: stop() leaves them uncommitted and the next member gets them', async () => {
    const topic = await freshTopic('poison', 1);
    await Promise.all(
      Array.from({ length: 5 }, (_, id) => producer.send({ topic, key: 'k', value: json({ id }) })),
    );
    const groupId = freshGroup('poison-group');

    let attempts = 0;
    const failing = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      retryBackoff: { initialMs: 100, maxMs: 200 },
      decode: decodeId,
      handleBatch: async () => {
        attempts++;
        await Promise.resolve();
        throw new Error('always failing (simulated)');
      },
    });
    await eventually('several failed attempts', () => attempts >= 3);
    expect(failing.health().consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(failing.health().lastError).toContain('always failing');
    await failing.stop();
    expect(await fetchCommittedOffsets(client, groupId, topic)).toEqual([{ partition: 0, offset: '-1' }]);

    const handled: number[] = [];
    const healthy = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      decode: decodeId,
      handleBatch: async (records) => {
        handled.push(...records.map((r) => r.message));
        await Promise.resolve();
      },
    });
    await eventually('records handled by the next member', () => handled.length === 5);
    await healthy.stop();
    expect(handled).toEqual([0, 1, 2, 3, 4]);
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it('keeps a member in its group through a handler that runs longer than the session timeout', async () => {
    const topic = await freshTopic('long', 1);
    await Promise.all(
      Array.from({ length: 3 }, (_, id) => producer.send({ topic, key: 'k', value: json({ id }) })),
    );
    const groupId = freshGroup('long-group');
    const calls: number[][] = [];
    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      // 6 s is the broker's smallest allowed session timeout; the handler takes 9 s.
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
      decode: decodeId,
      handleBatch: async (records) => {
        calls.push(records.map((r) => r.message));
        await sleep(9000);
      },
    });
    await eventually('batch handled', () => consumer.health().batchesHandled === 1, 30_000);
    // Had the member been evicted mid-batch, its commit would have been refused and the records redelivered.
    await sleep(1000);
    await consumer.stop();
    expect(calls).toEqual([[0, 1, 2]]);
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it('shares partitions between two members of a group, rebalancing as the second joins, losing nothing', async () => {
    const topic = await freshTopic('shared', 4);
    const groupId = freshGroup('shared-group');
    const handledBy = new Map<number, string[]>();
    const member = (name: string) =>
      runBatchConsumer(client, {
        groupId,
        topics: [topic],
        heartbeatIntervalMs: 500,
        decode: decodeId,
        handleBatch: async (records) => {
          for (const record of records)
            handledBy.set(record.message, [...(handledBy.get(record.message) ?? []), name]);
          await sleep(5);
        },
      });

    const first = await member('first');
    const burst = (from: number, count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          producer.send({ topic, key: `item-${(from + i) % 16}`, value: json({ id: from + i }) }),
        ),
      );
    await burst(0, 1000);
    const second = await member('second');
    await burst(1000, 1000);
    await eventually('every record handled', () => handledBy.size === 2000, 60_000);
    await eventually('both members own partitions', () => second.health().assignment.length > 0, 30_000);
    await burst(2000, 1000);
    await eventually('records after the rebalance handled', () => handledBy.size === 3000, 60_000);
    await Promise.all([first.stop(), second.stop()]);

    expect([...handledBy.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 3000 }, (_, id) => id));
    const names = new Set([...handledBy.values()].flat());
    expect(names).toEqual(new Set(['first', 'second']));
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it('with fetchIntervalMs, takes records that trickle in as a few batches, in order, and commits them all', async () => {
    const topic = await freshTopic('paced', 1);
    const groupId = freshGroup('paced-group');
    const intervalMs = 200;
    const batchSizes: number[] = [];
    const handled: number[] = [];
    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      fetchIntervalMs: intervalMs,
      decode: decodeId,
      handleBatch: async (records) => {
        batchSizes.push(records.length);
        handled.push(...records.map((record) => record.message));
        await Promise.resolve();
      },
    });
    await eventually('partition assigned', () => consumer.health().assignment.length === 1);

    // One record every 10 ms: fetched at once, each would be a batch (and a fetch and a commit) of its own.
    const started = Date.now();
    for (let id = 1; id <= 30; id++) {
      await producer.send({ topic, key: 'k', value: json({ id }) });
      await sleep(10);
    }
    const sendingMs = Date.now() - started;
    await eventually('every record handled', () => handled.length === 30);
    await consumer.stop();

    expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // At most one fetch per interval while records flow (plus the first, and the one in progress).
    expect(batchSizes.length).toBeLessThanOrEqual(Math.ceil(sendingMs / intervalMs) + 2);
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it('with commitIntervalMs, commits handled offsets later and together, and everything handled on stop()', async () => {
    const topic = await freshTopic('deferred', 2);
    const groupId = freshGroup('deferred-group');
    const handled: number[] = [];
    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      // Longer than the test: nothing is committed by the timer, only by stop().
      commitIntervalMs: 600_000,
      decode: decodeId,
      handleBatch: async (records) => {
        handled.push(...records.map((record) => record.message));
        await Promise.resolve();
      },
    });
    await eventually('both partitions assigned', () => consumer.health().assignment.length === 2);
    for (let id = 1; id <= 20; id++) await producer.send({ topic, key: `k${id % 4}`, value: json({ id }) });
    await eventually('every record handled', () => handled.length === 20);

    const before = await fetchCommittedOffsets(client, groupId, topic);
    expect(before.map(({ offset }) => offset)).toEqual(['-1', '-1']);
    await consumer.stop();
    await expectCommittedAtEnd(client, groupId, topic);
  });

  it('with commitIntervalMs, commits handled offsets within the interval while it runs', async () => {
    const topic = await freshTopic('interval', 1);
    const groupId = freshGroup('interval-group');
    const handled: number[] = [];
    const consumer = await runBatchConsumer(client, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      commitIntervalMs: 300,
      decode: decodeId,
      handleBatch: async (records) => {
        handled.push(...records.map((record) => record.message));
        await Promise.resolve();
      },
    });
    for (let id = 1; id <= 10; id++) await producer.send({ topic, key: 'k', value: json({ id }) });
    await eventually('every record handled', () => handled.length === 10);
    await eventually('handled offsets committed', async () => {
      const [committed] = await fetchCommittedOffsets(client, groupId, topic);
      return committed?.offset === '10';
    });
    await consumer.stop();
    expect(handled).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('ensureTopics is harmless when run twice and creates a compacted topic when its configs say so', async () => {
    const plain = uniqueName('plain');
    const compacted = uniqueName('compacted');
    topics.push(plain, compacted);
    const specs = [
      { name: plain, partitions: 3 },
      {
        name: compacted,
        partitions: 2,
        configs: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1' },
      },
    ];

    const first = await ensureTopics(client, specs);
    const second = await ensureTopics(client, specs);

    expect(first).toEqual({ created: [plain, compacted], existing: [] });
    expect(second).toEqual({ created: [], existing: [plain, compacted] });
    expect(await fetchPartitionCount(client, plain)).toBe(3);
    expect(await fetchPartitionCount(client, compacted)).toBe(2);
    const configs = await describeTopicConfigs(client, compacted);
    expect(configs['cleanup.policy']).toBe('compact');
    expect(configs['min.cleanable.dirty.ratio']).toBe('0.1');
    expect((await describeTopicConfigs(client, plain))['cleanup.policy']).toBe('delete');
  });
});
