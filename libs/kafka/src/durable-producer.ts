// The producer behind "202 Accepted": a send resolves only once every in-sync replica has the
// record, and concurrent sends share one produce request.
import {
  Partitioners,
  type Message,
  type Producer,
  type RecordMetadata as KafkajsRecordMetadata,
} from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaWith, type KafkaClient, type KafkaRetryOptions } from './client.js';
import { canRetryAfter, describeError, KafkaError, START_BROKER_HINT } from './errors.js';
import { createMicroBatcher, type BatchOutcome } from './micro-batcher.js';
import { approximateRecordSize, type RecordMetadata, type RecordToSend } from './records.js';

/** Attempts of connect() before it gives up (a send never waits for more than one). */
const CONNECT_ATTEMPTS = 3;

export interface DurableProducerOptions {
  /** Defaults to the client's logger. */
  logger?: Logger;
  /** Records per produce request; default 1000. */
  maxBatchRecords?: number;
  /** Approximate bytes per produce request; default 900 KiB, under the broker's 1 MiB default. */
  maxBatchBytes?: number;
  /** How long the first record of an idle producer waits for company; default 2 ms. */
  lingerMs?: number;
  /** Records allowed to wait; beyond that send() rejects (KAFKA_PRODUCER_OVERLOADED). Default 100,000. */
  maxQueuedRecords?: number;
  /**
   * Longest a record waits behind a slow or failing batch; then it fails unsent (KAFKA_PRODUCE_EXPIRED)
   * rather than add to the caller's wait. Default 1000 ms.
   */
  maxQueueWaitMs?: number;
  /** Per produce request, client and broker side (the broker's wait for in-sync replicas); default 800 ms. */
  requestTimeoutMs?: number;
  /** Retries of one batch; at least 1 (kafkajs requires it for idempotence). Default 1 retry after 100 ms. */
  retry?: KafkaRetryOptions;
  /** Called after each produce request, for metrics. */
  onBatch?: (outcome: ProduceBatchOutcome) => void;
}

export interface ProduceBatchOutcome {
  records: number;
  durationMs: number;
  error?: KafkaError;
}

export interface DurableProducerStats {
  /** Produce requests acknowledged. */
  batchesSent: number;
  recordsSent: number;
  batchesFailed: number;
  recordsFailed: number;
  recordsExpired: number;
  /** Not sent because an earlier record with the same key failed. */
  recordsSkipped: number;
  lastBatchSize: number;
  largestBatchSize: number;
  queuedRecords: number;
  inFlightBatches: number;
  /** Producer sessions (producer ids) started; a new one follows every failed batch. */
  sessionsStarted: number;
}

export interface DurableProducer {
  /** Connects now (e.g. at start-up, so readiness reflects it); send() connects on demand otherwise. */
  connect(): Promise<void>;
  /** Resolves when the broker acknowledged the record with acks=all; rejects with a KafkaError. */
  send(record: RecordToSend): Promise<RecordMetadata>;
  /** Sends what is queued now and resolves when all of it is settled. */
  flush(): Promise<void>;
  /** Refuses new sends, delivers the queued ones, then disconnects. */
  stop(): Promise<void>;
  isStopped(): boolean;
  /** The largest record send() takes (approximate bytes, as the batch limit counts them). */
  readonly maxRecordBytes: number;
  stats(): DurableProducerStats;
}

const DEFAULT_RETRY: Required<KafkaRetryOptions> = {
  retries: 1,
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 300,
};

interface ProducerSession {
  producer: Producer;
  connected: Promise<void>;
  partitionOf: WeakMap<Message, number>;
}

export function createDurableProducer(
  client: KafkaClient,
  options: DurableProducerOptions = {},
): DurableProducer {
  const baseLogger = options.logger ?? client.logger;
  const logger = baseLogger.child({ component: 'durable-producer' });
  const requestTimeoutMs = options.requestTimeoutMs ?? 800;
  const maxBatchBytes = options.maxBatchBytes ?? 900 * 1024;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  if (retry.retries < 1) throw new TypeError('createDurableProducer: retry.retries must be at least 1');
  const kafka = kafkaWith(client, { requestTimeoutMs, retry, logger: baseLogger });

  let session: ProducerSession | undefined;
  let sessionsStarted = 0;
  let stopped = false;

  function startSession(): ProducerSession {
    const partitionOf = new WeakMap<Message, number>();
    // Wraps the default (Java-compatible murmur2) partitioner only to learn where each record went,
    // so every caller can be told its own partition and offset.
    const recordingPartitioner = () => {
      const choose = Partitioners.DefaultPartitioner();
      return (args: Parameters<typeof choose>[0]) => {
        const partition = choose(args);
        partitionOf.set(args.message, partition);
        return partition;
      };
    };
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: recordingPartitioner,
      retry: {
        retries: retry.retries,
        initialRetryTime: retry.initialRetryTimeMs,
        maxRetryTime: retry.maxRetryTimeMs,
      },
    });
    sessionsStarted++;
    const started: ProducerSession = { producer, partitionOf, connected: producer.connect() };
    // A failed connect is reported to the batch that awaits it; the next batch starts a new session.
    started.connected.catch(() => undefined);
    return started;
  }

  async function endSession(ending: ProducerSession, reason: string): Promise<void> {
    if (session === ending) session = undefined;
    try {
      await ending.producer.disconnect();
    } catch (error) {
      logger.warn({ err: error, reason }, 'Kafka producer did not disconnect cleanly');
    }
  }

  async function produce(records: RecordToSend[]): Promise<RecordMetadata[]> {
    const current = (session ??= startSession());
    const messages: Message[] = [];
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const message: Message = { key: record.key, value: record.value, headers: record.headers };
      messages.push(message);
      const topicMessages = byTopic.get(record.topic);
      if (topicMessages === undefined) byTopic.set(record.topic, [message]);
      else topicMessages.push(message);
    }
    try {
      await current.connected;
    } catch (error) {
      // No connection, so nothing was sent: the one produce failure that proves the records are not in
      // the log.
      await endSession(current, 'failed connect');
      throw new KafkaError(
        'KAFKA_BROKER_UNREACHABLE',
        `Kafka producer could not connect to ${client.brokers.join(',')}; ${records.length} record(s) not sent: ${describeError(error)}; ${START_BROKER_HINT}`,
        { canRetry: true, cause: error, notWritten: true },
      );
    }
    let acknowledged: KafkajsRecordMetadata[];
    try {
      acknowledged = await current.producer.sendBatch({
        acks: -1,
        timeout: requestTimeoutMs,
        topicMessages: [...byTopic].map(([topic, topicMessages]) => ({ topic, messages: topicMessages })),
      });
    } catch (error) {
      // The idempotent producer numbers records per partition and, after a failed request, reuses
      // the numbers. Had the broker written that request after all (a timeout), the next batch would
      // carry the same numbers: acknowledged but dropped as a duplicate if it has as many records,
      // refused as out of order otherwise. A new session (a new producer id) starts numbering afresh.
      await endSession(current, 'failed batch');
      throw new KafkaError(
        'KAFKA_PRODUCE_FAILED',
        `Kafka did not acknowledge a batch of ${records.length} record(s): ${describeError(error)}`,
        { canRetry: canRetryAfter(error), cause: error },
      );
    }
    return assignOffsets(records, messages, acknowledged, current.partitionOf);
  }

  const batcher = createMicroBatcher<RecordToSend, RecordMetadata>({
    sendBatch: produce,
    maxBatchItems: options.maxBatchRecords ?? 1000,
    maxBatchBytes,
    sizeOf: approximateRecordSize,
    lingerMs: options.lingerMs ?? 2,
    // One batch at a time: kafkajs serialises idempotent requests per broker anyway, so more would
    // not be faster, and a failed batch must not be overtaken by the next one (per-key order).
    maxInFlightBatches: 1,
    maxQueuedItems: options.maxQueuedRecords ?? 100_000,
    maxQueueWaitMs: options.maxQueueWaitMs ?? 1000,
    closedError: () =>
      new KafkaError(
        'KAFKA_PRODUCER_STOPPED',
        'send() after stop(): this producer no longer accepts records',
        {
          canRetry: false,
          notWritten: true,
        },
      ),
    overloadedError: () =>
      new KafkaError('KAFKA_PRODUCER_OVERLOADED', 'Too many records waiting for Kafka; try again shortly', {
        canRetry: true,
        notWritten: true,
      }),
    expiredError: () =>
      new KafkaError(
        'KAFKA_PRODUCE_EXPIRED',
        'Record not sent: it waited too long behind a Kafka batch that did not complete',
        { canRetry: true, notWritten: true },
      ),
    // Per topic and key, a record is never sent after an earlier one failed: it would land before it.
    keyOf: (record) => (record.key === null ? undefined : `${record.topic}\u0000${record.key.toString()}`),
    skippedError: () =>
      new KafkaError(
        'KAFKA_PRODUCE_SKIPPED',
        'Record not sent: an earlier record with the same key failed; send them again in order',
        { canRetry: true, notWritten: true },
      ),
    onBatchSettled: (outcome: BatchOutcome) => {
      const error = outcome.error instanceof KafkaError ? outcome.error : undefined;
      if (outcome.error !== undefined) {
        logger.error(
          { err: outcome.error, records: outcome.size, durationMs: outcome.durationMs },
          'Kafka batch failed',
        );
      }
      options.onBatch?.({ records: outcome.size, durationMs: outcome.durationMs, error });
    },
  });

  return {
    async connect(): Promise<void> {
      if (stopped)
        throw new KafkaError('KAFKA_PRODUCER_STOPPED', 'connect() after stop()', { canRetry: false });
      // A broker that has just started (or a coordinator still loading) can drop the first connection:
      // a few attempts, so a service starting beside it does not die of that.
      for (let attempt = 1; ; attempt++) {
        const current = (session ??= startSession());
        try {
          await current.connected;
          return;
        } catch (error) {
          await endSession(current, 'failed connect');
          if (attempt < CONNECT_ATTEMPTS && !stopped) {
            await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
            continue;
          }
          const brokers = client.brokers.join(',');
          throw new KafkaError(
            'KAFKA_BROKER_UNREACHABLE',
            `Kafka producer could not connect to ${brokers} (${attempt} attempts): ${describeError(error)}; ${START_BROKER_HINT}`,
            { canRetry: true, cause: error },
          );
        }
      }
    },
    send(record: RecordToSend): Promise<RecordMetadata> {
      const size = approximateRecordSize(record);
      if (!stopped && size > maxBatchBytes) {
        const message = `Record of about ${size} bytes exceeds the ${maxBatchBytes}-byte batch limit`;
        return Promise.reject(
          new KafkaError('KAFKA_RECORD_TOO_LARGE', message, { canRetry: false, notWritten: true }),
        );
      }
      return batcher.add(record);
    },
    flush: () => batcher.flush(),
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await batcher.close();
      if (session !== undefined) await endSession(session, 'stop');
      logger.info(batcher.stats(), 'Kafka producer stopped');
    },
    isStopped: () => stopped,
    maxRecordBytes: maxBatchBytes,
    stats(): DurableProducerStats {
      const s = batcher.stats();
      return {
        batchesSent: s.batchesSent,
        recordsSent: s.itemsSent,
        batchesFailed: s.batchesFailed,
        recordsFailed: s.itemsFailed,
        recordsExpired: s.itemsExpired,
        recordsSkipped: s.itemsSkipped,
        lastBatchSize: s.lastBatchSize,
        largestBatchSize: s.largestBatchSize,
        queuedRecords: s.queuedItems,
        inFlightBatches: s.inFlightBatches,
        sessionsStarted,
      };
    },
  };
}

/** Each partition's records were appended in order from the partition's base offset. */
export function assignOffsets(
  records: RecordToSend[],
  messages: Message[],
  acknowledged: KafkajsRecordMetadata[],
  partitionOf: WeakMap<Message, number>,
): RecordMetadata[] {
  const baseOffsets = new Map<string, bigint>();
  for (const entry of acknowledged) {
    if (entry.baseOffset !== undefined)
      baseOffsets.set(`${entry.topicName}\u0000${entry.partition}`, BigInt(entry.baseOffset));
  }
  const nextIndex = new Map<string, bigint>();
  return records.map((record, index) => {
    const partition = partitionOf.get(messages[index]!);
    if (partition === undefined) return { topic: record.topic, partition: -1, offset: '-1' };
    const slot = `${record.topic}\u0000${partition}`;
    const base = baseOffsets.get(slot);
    const position = nextIndex.get(slot) ?? 0n;
    nextIndex.set(slot, position + 1n);
    return { topic: record.topic, partition, offset: base === undefined ? '-1' : String(base + position) };
  });
}
