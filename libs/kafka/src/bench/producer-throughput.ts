// Benchmark CLI: records/s of one produce request per record versus the micro-batching producer,
// both with acks=all and an idempotent producer, on fresh topics of the same broker, in one run.
//
//   npm run bench:producer -- --records 20000 --concurrency 64 --partitions 6 --keys 100
//   (KAFKA_BROKERS in the environment names the broker)
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Partitioners } from 'kafkajs';
import { pino } from 'pino';
import { deleteTopics, ensureTopics, fetchTopicOffsets, waitForBroker } from '../admin.js';
import { createKafkaClient, kafkaWith, type KafkaClient } from '../client.js';
import { createDurableProducer } from '../durable-producer.js';
import { benchEnvironment } from './config.js';

// A command-line report: plain lines on stdout.
const print = (...parts: unknown[]): void => {
  process.stdout.write(`${parts.map(String).join(' ')}\n`);
};

interface BenchConfig {
  brokers: string[];
  records: number;
  concurrency: number;
  partitions: number;
  keys: number;
  valueBytes: number;
  keepTopics: boolean;
}

interface PhaseResult {
  name: string;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  produceRequests: number;
  p50Ms: number;
  p99Ms: number;
}

function readConfig(): BenchConfig {
  const { values } = parseArgs({
    options: {
      records: { type: 'string' },
      concurrency: { type: 'string' },
      partitions: { type: 'string' },
      keys: { type: 'string' },
      'value-bytes': { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  const positive = (name: string, raw: string | undefined, fallback: number): number => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value <= 0)
      throw new TypeError(`--${name} must be a positive integer, got ${raw}`);
    return value;
  };
  return {
    brokers: benchEnvironment().brokers,
    records: positive('records', values.records, 20_000),
    concurrency: positive('concurrency', values.concurrency, 64),
    partitions: positive('partitions', values.partitions, 6),
    keys: positive('keys', values.keys, 100),
    valueBytes: positive('value-bytes', values['value-bytes'], 200),
    keepTopics: values.keep,
  };
}

const WARM_UP_RECORDS = 1024;

const format = (n: number) => Math.round(n).toLocaleString('en-US');

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function progressReporter(name: string, total: number, done: () => number): () => void {
  const startedAt = performance.now();
  const report = (suffix: string) => {
    const elapsed = (performance.now() - startedAt) / 1000;
    print(
      `  ${name}: ${format(done())}/${format(total)} records, ${format(done() / elapsed)} records/s ${suffix}`,
    );
  };
  const timer = setInterval(() => report('so far'), 1000);
  return () => {
    clearInterval(timer);
    report('(done)');
  };
}

function recordFor(index: number, config: BenchConfig, payload: Buffer) {
  return { key: `item-${index % config.keys}`, value: payload, headers: { 'bench-seq': String(index) } };
}

/** The baseline: every record is its own produce request, with `concurrency` requests awaited at once. */
async function runOneRequestPerRecord(
  client: KafkaClient,
  topic: string,
  config: BenchConfig,
  payload: Buffer,
) {
  // Same producer settings as the durable producer: idempotent, acks=all, one request in flight.
  const producer = kafkaWith(client, { requestTimeoutMs: 30_000 }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  // Untimed warm-up, so that both phases are measured with metadata loaded and the code JIT-compiled.
  for (let sent = 0; sent < WARM_UP_RECORDS; sent += config.concurrency) {
    await Promise.all(
      Array.from({ length: Math.min(config.concurrency, WARM_UP_RECORDS - sent) }, () =>
        producer.send({ topic, acks: -1, messages: [{ key: 'warm-up', value: payload }] }),
      ),
    );
  }
  const latencies: number[] = [];
  let next = 0;
  let done = 0;
  const stopProgress = progressReporter('one request per record', config.records, () => done);
  const startedAt = performance.now();
  const worker = async () => {
    while (next < config.records) {
      const index = next++;
      const sentAt = performance.now();
      await producer.send({ topic, acks: -1, messages: [recordFor(index, config, payload)] });
      latencies.push(performance.now() - sentAt);
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: config.concurrency }, worker));
  } finally {
    stopProgress();
    await producer.disconnect();
  }
  return summarise(
    `one request per record (${config.concurrency} in flight)`,
    startedAt,
    latencies,
    config.records,
  );
}

/** The micro-batching producer: every send() issued at once, as a burst of HTTP requests would. */
async function runMicroBatching(client: KafkaClient, topic: string, config: BenchConfig, payload: Buffer) {
  const producer = createDurableProducer(client, {
    requestTimeoutMs: 30_000,
    maxQueuedRecords: config.records + 1,
    // The whole run is queued at once on purpose; in a service a record waits about one round trip.
    maxQueueWaitMs: 600_000,
  });
  await producer.connect();
  await Promise.all(
    Array.from({ length: WARM_UP_RECORDS }, () => producer.send({ topic, key: 'warm-up', value: payload })),
  );
  const warmUpBatches = producer.stats().batchesSent;
  const latencies: number[] = [];
  let done = 0;
  const stopProgress = progressReporter('micro-batching', config.records, () => done);
  const startedAt = performance.now();
  try {
    await Promise.all(
      Array.from({ length: config.records }, async (_, index) => {
        const sentAt = performance.now();
        await producer.send({ topic, ...recordFor(index, config, payload) });
        latencies.push(performance.now() - sentAt);
        done++;
      }),
    );
  } finally {
    stopProgress();
  }
  const result = summarise('micro-batching, all concurrent', startedAt, latencies, config.records);
  result.produceRequests = producer.stats().batchesSent - warmUpBatches;
  await producer.stop();
  return result;
}

function summarise(name: string, startedAt: number, latencies: number[], records: number): PhaseResult {
  const seconds = (performance.now() - startedAt) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    records,
    seconds,
    recordsPerSecond: records / seconds,
    produceRequests: records,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

async function expectRecordCount(client: KafkaClient, topic: string, expected: number): Promise<void> {
  const offsets = await fetchTopicOffsets(client, topic);
  const stored = offsets.reduce((sum, { low, high }) => sum + Number(BigInt(high) - BigInt(low)), 0);
  if (stored !== expected) throw new Error(`${topic} holds ${stored} records, expected ${expected}`);
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = pino({ level: benchEnvironment().logLevel });
  const client = createKafkaClient({ brokers: config.brokers, clientId: 'bench-producer', logger });
  await waitForBroker(client, { timeoutMs: 10_000 });

  const run = randomUUID().slice(0, 8);
  const baselineTopic = `bench-single-${run}`;
  const batchedTopic = `bench-batched-${run}`;
  await ensureTopics(client, [
    { name: baselineTopic, partitions: config.partitions },
    { name: batchedTopic, partitions: config.partitions },
  ]);
  const payload = Buffer.alloc(config.valueBytes, 'x');
  print(
    `Producing ${format(config.records)} records of ${config.valueBytes} B, ${config.keys} keys, ` +
      `${config.partitions} partitions, acks=all, idempotent, broker ${config.brokers.join(',')}`,
  );

  try {
    print('Phase 1/2: one produce request per record');
    const baseline = await runOneRequestPerRecord(client, baselineTopic, config, payload);
    print('Phase 2/2: micro-batching producer');
    const batched = await runMicroBatching(client, batchedTopic, config, payload);
    // Every acknowledged record must really be there (the warm-up records are there too).
    await expectRecordCount(client, baselineTopic, config.records + WARM_UP_RECORDS);
    await expectRecordCount(client, batchedTopic, config.records + WARM_UP_RECORDS);

    print('');
    for (const result of [baseline, batched]) {
      print(
        `${result.name.padEnd(40)} ${format(result.recordsPerSecond).padStart(9)} records/s  ` +
          `${result.seconds.toFixed(2)} s  ${format(result.produceRequests)} produce requests  ` +
          `latency p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms`,
      );
    }
    print(
      `Micro-batching is ${(batched.recordsPerSecond / baseline.recordsPerSecond).toFixed(1)}x the baseline.`,
    );
  } finally {
    if (!config.keepTopics) await deleteTopics(client, [baselineTopic, batchedTopic]);
  }
}

main().catch((error: unknown) => {
  print(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
