// A stream-processor system for one integration suite: its own topics (a unique TOPIC_PREFIX), Redis
// keys (a unique REDIS_KEY_PREFIX) and consumer groups, on the real broker and Redis. The processor runs
// in this process or as a child process (so a test can SIGKILL it); the CLIs run as child processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  decode,
  encode,
  topicCatalogue,
  Topics,
  type ItemEvent,
  type SalesMetrics,
  type StockView,
} from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  deleteGroups,
  deleteRecordsBefore,
  deleteTopics,
  ensureTopics,
  fetchCommittedOffsets,
  fetchTopicOffsets,
  resetGroupOffsets,
  type ConsumedRecord,
  type DurableProducer,
  type KafkaClient,
  type PartitionOffsets,
  type RecordToSend,
} from '@buy-now/kafka';
import { createLogger, type Logger } from '@buy-now/observability';
import { createStockViewStore, type StockViewStore } from '@buy-now/read-model';
import { getTestServers, uniqueName, waitFor } from '@buy-now/testkit';
import { Redis } from 'ioredis';
import { replayTopic } from '../../src/adapters/kafka/topic-replay.js';
import { loadStreamProcessorConfig, namesOf, type StreamProcessorConfig } from '../../src/config.js';
import { startStreamProcessor, type RunningStreamProcessor } from '../../src/stream-processor.js';

const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));
const PARTITIONS = 3;

export interface ProcessorChild {
  readonly pid: number;
  /** Sends the signal and resolves once the process exited. */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
  output(): string;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestSystem {
  config: StreamProcessorConfig;
  names: ReturnType<typeof namesOf>;
  kafka: KafkaClient;
  redis: Redis;
  views: StockViewStore;
  logger: Logger;
  /** Produces events to item-events in the order given (per item, one partition keeps that order). */
  produce(events: readonly ItemEvent[]): Promise<void>;
  /** Produces records as they are, e.g. what another instance would have published. */
  produceRecords(records: readonly RecordToSend[]): Promise<void>;
  /** Produces a record the contract refuses, to see it dead-lettered. */
  produceGarbage(): Promise<void>;
  startProcessor(): Promise<RunningStreamProcessor>;
  startProcessorChild(): Promise<ProcessorChild>;
  /** Resolves once the processor's group committed every record of item-events. */
  waitUntilCaughtUp(timeoutMs?: number): Promise<void>;
  resetProcessorOffsets(): Promise<void>;
  /** Every record of the topic, decoded, in per-partition order. */
  readTopic<T>(topic: string): Promise<T[]>;
  /** Every record of the topic as stored (key, value, headers, partition, offset). */
  readRecords(topic: string): Promise<ConsumedRecord[]>;
  /**
   * Leaves on stock-views what log compaction would: the last record of each key, in their order.
   * Needs the system started with `stockViewsCompacted: false` (DeleteRecords refuses compacted topics).
   */
  compactStockViewsNow(): Promise<void>;
  /**
   * What a Redis that lost its data looks like to this system: none of its keys, all gone in one
   * command. Deleted page by page, a restore could start between two pages and be half deleted again.
   */
  loseRedisData(): Promise<{ keys: string[]; deleted: number }>;
  /** The last StockView per item on the compacted topic. */
  latestStockViews(): Promise<Map<string, StockView>>;
  salesMetrics(): Promise<SalesMetrics[]>;
  endOffsets(topic: string): Promise<PartitionOffsets[]>;
  runCli(cli: 'rebuild' | 'verify', args?: string[], env?: Record<string, string>): Promise<CliRun>;
  stop(): Promise<void>;
}

export async function startTestSystem(
  overrides: Record<string, string> = {},
  options: { partitions?: number; stockViewsCompacted?: boolean } = {},
): Promise<TestSystem> {
  const servers = await getTestServers();
  const topicPrefix = `${uniqueName('sp')}.`;
  const env: Record<string, string> = {
    KAFKA_BROKERS: servers.kafkaBrokers.join(','),
    REDIS_URL: servers.redisUrl,
    DATABASE_URL: servers.databaseUrl,
    TOPIC_PREFIX: topicPrefix,
    REDIS_KEY_PREFIX: `${uniqueName('sp')}:`,
    METRICS_WINDOW_MS: '1000',
    METRICS_GRACE_MS: '200',
    // The broker's minimum: a killed processor's partitions move on after 6 s, not 30.
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    LOG_LEVEL: 'warn',
    ...overrides,
  };
  const config = loadStreamProcessorConfig(env);
  const names = namesOf(config);
  const logger = createLogger({ service: 'stream-processor-test', level: config.LOG_LEVEL });
  const kafka = createKafkaClient({
    brokers: [...config.KAFKA_BROKERS],
    clientId: 'stream-processor-test',
    logger,
  });

  const wanted: string[] = [
    Topics.itemEvents,
    Topics.stockViews,
    Topics.salesMetrics,
    `${Topics.itemEvents}.dlq`,
  ];
  const topics = topicCatalogue
    .filter((spec) => wanted.includes(spec.name))
    .map((spec) => ({
      name: `${topicPrefix}${spec.name}`,
      partitions: spec.name.endsWith('.dlq') ? 1 : (options.partitions ?? PARTITIONS),
      configs:
        spec.name === Topics.stockViews && options.stockViewsCompacted === false
          ? { 'cleanup.policy': 'delete' }
          : spec.configs,
    }));
  await ensureTopics(kafka, topics);

  const redis = new Redis(config.REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const views = createStockViewStore({ redis, prefix: config.REDIS_KEY_PREFIX });
  const producer: DurableProducer = createDurableProducer(kafka, { logger });
  const running = new Set<RunningStreamProcessor>();
  const children = new Set<ProcessorChild>();
  const replayGroups: string[] = [];

  const readRecords = async (topic: string): Promise<ConsumedRecord[]> => {
    const records: ConsumedRecord[] = [];
    const groupId = `${topicPrefix}reader-${randomUUID()}`;
    replayGroups.push(groupId);
    await replayTopic(kafka, {
      topic,
      groupId,
      logger,
      timeoutMs: 30_000,
      decode: (record) => record,
      onRecords: (batch) => {
        for (const { message } of batch) records.push(message);
      },
    });
    return records;
  };

  const readTopic = async <T>(topic: string): Promise<T[]> =>
    (await readRecords(topic)).map((record) => decode(record.headers, record.value).value as T);

  const system: TestSystem = {
    config,
    names,
    kafka,
    redis,
    views,
    logger,
    async produce(events) {
      await Promise.all(
        events.map((event) =>
          producer.send({ topic: names.itemEventsTopic, ...encode(event.name, event.value) }),
        ),
      );
    },
    async produceRecords(records) {
      await Promise.all(records.map((record) => producer.send(record)));
    },
    async produceGarbage() {
      await producer.send({
        topic: names.itemEventsTopic,
        key: 'garbage',
        value: Buffer.from('not avro'),
        headers: { schema: 'buynow.ItemBought', 'schema-version': '1' },
      });
    },
    async startProcessor() {
      const processor = await startStreamProcessor(config, logger);
      running.add(processor);
      return {
        ...processor,
        stop: async () => {
          running.delete(processor);
          await processor.stop();
        },
      };
    },
    async startProcessorChild() {
      const child = await spawnProcessor({ ...env, LOG_LEVEL: 'info' });
      children.add(child);
      return child;
    },
    async waitUntilCaughtUp(timeoutMs = 60_000) {
      await waitFor(
        'the stream processor to commit every item event',
        async () => {
          const [ends, committed] = await Promise.all([
            fetchTopicOffsets(kafka, names.itemEventsTopic),
            fetchCommittedOffsets(kafka, names.groupId, names.itemEventsTopic),
          ]);
          const at = new Map(committed.map(({ partition, offset }) => [partition, offset]));
          return ends.every(({ partition, low, high }) => high === low || at.get(partition) === high)
            ? true
            : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    resetProcessorOffsets: () => resetGroupOffsets(kafka, names.groupId, names.itemEventsTopic, 'earliest'),
    readTopic,
    readRecords,
    async compactStockViewsNow() {
      const topic = names.stockViewsTopic;
      const records = await readRecords(topic);
      const last = new Map<string, ConsumedRecord>();
      for (const record of records) last.set(`${record.partition} ${String(record.key)}`, record);
      const kept = records.filter(
        (record) => last.get(`${record.partition} ${String(record.key)}`) === record,
      );
      const ends = await fetchTopicOffsets(kafka, topic);
      await deleteRecordsBefore(
        kafka,
        topic,
        ends.map(({ partition, high }) => ({ partition, offset: high })),
      );
      // One at a time: the order of the survivors is kept.
      for (const record of kept) {
        const headers: Record<string, string | Buffer> = {};
        for (const [name, value] of Object.entries(record.headers))
          if (value !== undefined) headers[name] = value;
        await producer.send({ topic, key: record.key, value: record.value, headers });
      }
    },
    async loseRedisData() {
      let cursor = '0';
      const found = new Set<string>();
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) found.add(key);
      } while (cursor !== '0');
      const keys = [...found];
      const deleted = keys.length === 0 ? 0 : await redis.del(...keys);
      return { keys, deleted };
    },
    async latestStockViews() {
      const latest = new Map<string, StockView>();
      for (const view of await readTopic<StockView>(names.stockViewsTopic)) latest.set(view.itemId, view);
      return latest;
    },
    salesMetrics: () => readTopic<SalesMetrics>(names.salesMetricsTopic),
    endOffsets: (topic) => fetchTopicOffsets(kafka, topic),
    runCli: (cli, args = [], extraEnv = {}) => runNode(`dist/cli/${cli}.js`, args, { ...env, ...extraEnv }),
    async stop() {
      for (const child of children) await child.stop('SIGKILL');
      for (const processor of running) await processor.stop();
      await producer.stop();
      await deleteGroups(kafka, [names.groupId]).catch(() => undefined);
      await deleteTopics(
        kafka,
        topics.map((topic) => topic.name),
      );
      await deleteKeys(redis, config.REDIS_KEY_PREFIX);
      redis.disconnect();
    },
  };
  return system;
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

const CONSUMING = 'stream-processor consuming item-events';

async function spawnProcessor(env: Record<string, string>): Promise<ProcessorChild> {
  const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], {
    cwd: PACKAGE_DIR,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        if (line.includes(CONSUMING)) resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`stream processor exited (${code}):\n${lines.join('\n')}`)));
  });
  await ready;
  return {
    pid: child.pid ?? -1,
    async stop(signal) {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      return exited;
    },
    output: () => lines.join('\n'),
  };
}

function runNode(script: string, args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: PACKAGE_DIR,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
