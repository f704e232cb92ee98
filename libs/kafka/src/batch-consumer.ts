// Runs a consumer group that hands each partition's records to one async handler per batch and
// commits only what the handler finished: at-least-once, never a silent skip.
import type { Batch, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { ensureTopics } from './admin.js';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import { kafkaOf, type KafkaClient } from './client.js';
import { deadLetterRecordFor, defaultDeadLetterTopic } from './dead-letter.js';
import { createDurableProducer, type DurableProducer } from './durable-producer.js';
import { describeError, KafkaError } from './errors.js';
import type { ConsumedRecord, DecodedRecord } from './records.js';

export interface BatchContext {
  topic: string;
  partition: number;
  /** 1 on first delivery; higher when the handler failed on these records before. */
  attempt: number;
  /** Keeps the group membership alive; also sent automatically every heartbeat interval. */
  heartbeat(): Promise<void>;
  /**
   * False once stop() was called: finish quickly. A handler that stops before the end of its records
   * returns how many it handled (`{ handled }`); only those are committed, the rest come again.
   */
  isRunning(): boolean;
  logger: Logger;
}

/** What a handler that stopped early handled: its first `handled` records. */
export interface BatchHandled {
  handled: number;
}

export interface BatchConsumerOptions<T> {
  groupId: string;
  topics: string[];
  /**
   * Where a group with no committed offset starts. Default true: a new group (a new view, a first
   * deployment) must not skip what was accepted before it existed.
   */
  fromBeginning?: boolean;
  /**
   * Turns a record into the handler's message; throwing sends the record to the dead-letter topic
   * instead of the handler. Without it the message is the raw value.
   */
  decode?: (record: ConsumedRecord) => T;
  /**
   * Handles one partition's records, in offset order. Throwing retries the same records later. Returning
   * nothing means all were handled; returning `{ handled: n }` means the first n were, and only they are
   * committed (a handler that stops early on `isRunning()`).
   */
  handleBatch: (records: DecodedRecord<T>[], ctx: BatchContext) => Promise<void | BatchHandled>;
  /** Default: `${topic}.dlq`. */
  dlqTopic?: (topic: string) => string;
  /** Shared producer for dead letters; otherwise the runner makes (and stops) its own. */
  producerForDlq?: DurableProducer;
  /** Create missing dead-letter topics (one partition each) at start; default true. */
  ensureDlqTopics?: boolean;
  logger?: Logger;
  /** Default 30 000 ms. */
  sessionTimeoutMs?: number;
  /** Default 3000 ms. */
  heartbeatIntervalMs?: number;
  /** Longest an idle fetch waits on the broker; bounds how long stop() waits. Default 1000 ms. */
  maxWaitTimeMs?: number;
  /** Default 1 MiB. */
  maxBytesPerPartition?: number;
  /**
   * While records flow, fetches start at most once per this many milliseconds: after a batch is handled
   * the next fetch waits for the rest of the interval, and what arrived meanwhile comes in that one
   * fetch. At moderate rates this turns a fetch, a commit and a handler run per record into one per
   * interval (each costs wake-ups in this process and the broker); an idle consumer still waits on the
   * broker as usual, and the first record after a pause is handled at once. 0 fetches again at once.
   * Default 0.
   */
  fetchIntervalMs?: number;
  /**
   * Commits handled offsets at most once per this many milliseconds instead of after every batch (0,
   * the default). A commit is a request to the broker, which appends it to its offsets log; at moderate
   * rates, where every batch holds a record or two, that is a third of a consumer's broker requests.
   * What a crash or a rebalance then hands to the next owner again is at most this interval's records,
   * on top of the batch in hand, so the handler must be idempotent (at-least-once delivery asks that
   * anyway). stop() commits everything handled before it leaves the group.
   */
  commitIntervalMs?: number;
  /** Partitions handled at the same time (never more than assigned); default 1. */
  partitionsConsumedConcurrently?: number;
  /** Delay between attempts after a handler failure; default 200 ms doubling up to 10 s. */
  retryBackoff?: BackoffOptions;
  /** Called after each batch was handled and committed (or, with commitIntervalMs, queued for commit). */
  onBatchHandled?: (stats: BatchStats) => void;
}

export interface BatchStats {
  topic: string;
  partition: number;
  /** Records handed to the handler (dead letters not counted). */
  records: number;
  deadLettered: number;
  /** From fetch to commit, including retries. */
  durationMs: number;
  /** Records behind the partition's high watermark once this batch was committed. */
  lag: number;
}

export type BatchConsumerState = 'running' | 'stopping' | 'stopped' | 'crashed';

export interface BatchConsumerHealth {
  state: BatchConsumerState;
  groupId: string;
  topics: string[];
  /** Partitions this member owns, as `topic:partition`. */
  assignment: string[];
  batchesHandled: number;
  recordsHandled: number;
  recordsDeadLettered: number;
  /** Failures since the last successful batch; non-zero means records are waiting on a retry. */
  consecutiveFailures: number;
  lastError?: string;
  lastBatchAt?: string;
  /** Records behind the high watermark per `topic:partition`, as of the last batch handled there. */
  lag: Record<string, number>;
}

export interface BatchConsumer {
  /** Lets the batch in hand finish and commit, leaves the group, disconnects. */
  stop(): Promise<void>;
  isRunning(): boolean;
  health(): BatchConsumerHealth;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 10_000 };
/** Between starts of a consumer that crashed on an error kafkajs does not restart after. */
const RESTART_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };
const STOP_CHECK_MS = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function toConsumedRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  const headers: ConsumedRecord['headers'] = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    // A repeated header arrives as an array; the last one wins, as with Java's lastHeader().
    headers[name] = Array.isArray(value) ? value[value.length - 1] : value;
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

export async function runBatchConsumer<T = Buffer | null>(
  client: KafkaClient,
  options: BatchConsumerOptions<T>,
): Promise<BatchConsumer> {
  const baseLogger = options.logger ?? client.logger;
  const logger = baseLogger.child({ component: 'batch-consumer', groupId: options.groupId });
  const decode = options.decode ?? ((record: ConsumedRecord) => record.value as T);
  const dlqTopicOf = options.dlqTopic ?? defaultDeadLetterTopic;
  const backoff = options.retryBackoff ?? DEFAULT_BACKOFF;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3000;
  const fetchIntervalMs = options.fetchIntervalMs ?? 0;
  const commitIntervalMs = options.commitIntervalMs ?? 0;
  /** With commitIntervalMs: per `topic:partition`, the next offset handled but not committed yet. */
  const uncommitted = new Map<string, { topic: string; partition: number; offset: string }>();
  let commitTimer: NodeJS.Timeout | undefined;
  /** Commits go out one after another, so a later offset never lands before an earlier one. */
  let commitChain: Promise<void> = Promise.resolve();
  /** Bumped on every join: offsets handled before it may belong to partitions this member lost. */
  let generation = 0;
  /** When the latest fetch started (of any broker: with several, the pause is only shorter). */
  let fetchStartedAt = 0;

  const health: BatchConsumerHealth = {
    state: 'running',
    groupId: options.groupId,
    topics: [...options.topics],
    assignment: [],
    batchesHandled: 0,
    recordsHandled: 0,
    recordsDeadLettered: 0,
    consecutiveFailures: 0,
    lag: {},
  };

  // Dead letters only exist when records are decoded; without a decoder nothing is refused.
  let dlqProducer = options.producerForDlq;
  let ownsDlqProducer = false;
  if (options.decode !== undefined) {
    if (options.ensureDlqTopics ?? true) {
      // Dead letters are rare and need no order: one partition, as the topic catalogue declares them.
      await ensureTopics(
        client,
        options.topics.map((topic) => ({ name: dlqTopicOf(topic), partitions: 1 })),
      );
    }
    if (dlqProducer === undefined) {
      dlqProducer = createDurableProducer(client, { logger: baseLogger });
      ownsDlqProducer = true;
    }
  }

  const consumer: Consumer = kafkaOf(client).consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: heartbeatIntervalMs,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
    allowAutoTopicCreation: false,
  });

  if (fetchIntervalMs > 0) {
    consumer.on(consumer.events.FETCH_START, () => {
      fetchStartedAt = Date.now();
    });
  }
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const assignment = Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => `${topic}:${partition}`),
    );
    // Offsets of partitions that moved away are their new owner's to commit (it handles them again).
    generation += 1;
    for (const key of uncommitted.keys()) if (!assignment.includes(key)) uncommitted.delete(key);
    health.assignment = assignment;
    // Lag of partitions that moved to another member is theirs to report now.
    for (const key of Object.keys(health.lag)) if (!assignment.includes(key)) delete health.lag[key];
    logger.info({ assignment, memberId: event.payload.memberId }, 'Joined Kafka consumer group');
  });
  // kafkajs restarts a crashed consumer only after errors it calls retriable. Others leave it stopped for
  // good while the process lives on, among them "Failed to find group coordinator", which a broker
  // restart or a coordinator moving to another broker causes. A service whose consumer is gone decides
  // nothing, so the runner starts it again itself, with backoff, until stop(); readiness says 'crashed'
  // meanwhile.
  let stopping: Promise<void> | undefined;
  let restartAttempt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const restartAfterCrash = () => {
    if (stopping !== undefined || restartTimer !== undefined) return;
    restartAttempt += 1;
    const retryInMs = backoffDelayMs(restartAttempt, RESTART_BACKOFF);
    logger.warn({ attempt: restartAttempt, retryInMs }, 'Kafka consumer stopped; starting it again');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping !== undefined) return;
      // A failed start of the group crashes again (and lands here); a failed connect throws.
      startConsuming().catch((error: unknown) => {
        health.lastError = describeError(error);
        restartAfterCrash();
      });
    }, retryInMs);
  };
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (health.state !== 'crashed') return;
    health.state = 'running';
    restartAttempt = 0;
    logger.info('Kafka consumer running again');
  });
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    health.lastError = describeError(error);
    if (restart) {
      logger.warn({ err: error }, 'Kafka consumer crashed; kafkajs restarts it');
      return;
    }
    if (health.state === 'running') health.state = 'crashed';
    logger.error({ err: error }, 'Kafka consumer crashed on an error kafkajs does not restart after');
    restartAfterCrash();
  });

  async function deadLetter(records: { record: ConsumedRecord; reason: unknown }[]): Promise<void> {
    if (records.length === 0 || dlqProducer === undefined) return;
    const at = new Date();
    await Promise.all(
      records.map(({ record, reason }) =>
        dlqProducer.send(
          deadLetterRecordFor(record, reason, dlqTopicOf(record.topic), at, dlqProducer.maxRecordBytes),
        ),
      ),
    );
    for (const { record, reason } of records) {
      logger.warn(
        {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          reason: describeError(reason),
        },
        'Record could not be decoded; sent to the dead-letter topic',
      );
    }
    health.recordsDeadLettered += records.length;
  }

  async function handleFetchedBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.isEmpty()) return;
    const started = Date.now();
    const { topic, partition } = batch;
    const records = batch.messages.map((message) => toConsumedRecord(topic, partition, message));
    const decoded: DecodedRecord<T>[] = [];
    const undecodable: { record: ConsumedRecord; reason: unknown }[] = [];
    for (const record of records) {
      try {
        decoded.push({ ...record, message: decode(record) });
      } catch (reason) {
        undecodable.push({ record, reason });
      }
    }

    let deadLettered = false;
    let handled = decoded.length;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!deadLettered) {
          await deadLetter(undecodable);
          deadLettered = true;
        }
        if (decoded.length > 0) handled = await handleWithHeartbeats(decoded, attempt, payload);
        break;
      } catch (error) {
        health.consecutiveFailures++;
        health.lastError = describeError(error);
        const retryInMs = backoffDelayMs(attempt, backoff);
        logger.error(
          {
            err: error,
            topic,
            partition,
            firstOffset: batch.firstOffset(),
            lastOffset: batch.lastOffset(),
            attempt,
            retryInMs,
          },
          'Batch handler failed; nothing committed, the same records will be retried',
        );
        // On stop (or a seek) the records stay uncommitted and are delivered again to whoever owns
        // the partition next; they are never skipped.
        if (!(await waitBeforeRetry(retryInMs, payload))) return;
      }
    }

    const firstUnhandled = decoded[handled];
    if (firstUnhandled === undefined) await commitBatch(batch, payload);
    else await commitUpTo(firstUnhandled.offset, batch, payload);
    health.consecutiveFailures = 0;
    health.batchesHandled++;
    health.recordsHandled += handled;
    health.lastBatchAt = new Date().toISOString();
    const lag = Math.max(0, Number(batch.offsetLag()));
    health.lag[`${topic}:${partition}`] = lag;
    options.onBatchHandled?.({
      topic,
      partition,
      records: handled,
      deadLettered: undecodable.length,
      durationMs: Date.now() - started,
      lag,
    });
    if (payload.isRunning() && !payload.isStale()) await payload.heartbeat();
    await paceNextFetch(payload);
  }

  /**
   * Holds the fetcher until fetchIntervalMs after its fetch started. kafkajs fetches again once every
   * batch of a fetch was handled, so only the first batch of a fetch waits; the others find the
   * interval over.
   */
  async function paceNextFetch(payload: EachBatchPayload): Promise<void> {
    const waitMs = fetchStartedAt + fetchIntervalMs - Date.now();
    if (waitMs <= 0 || !payload.isRunning() || payload.isStale()) return;
    await sleep(Math.min(waitMs, fetchIntervalMs));
  }

  async function handleWithHeartbeats(
    records: DecodedRecord<T>[],
    attempt: number,
    payload: EachBatchPayload,
  ): Promise<number> {
    // kafkajs only heartbeats between batches; a long handler would otherwise be evicted from the group.
    // A failed heartbeat (usually a rebalance) is not fatal here: if this member lost the partition,
    // the commit after the handler is refused, and the records go to the partition's new owner.
    const timer = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => {
        logger.warn(
          { err: error, topic: payload.batch.topic, partition: payload.batch.partition },
          'Heartbeat during a batch failed',
        );
      });
    }, heartbeatIntervalMs);
    try {
      const result = await options.handleBatch(records, {
        topic: payload.batch.topic,
        partition: payload.batch.partition,
        attempt,
        heartbeat: () => payload.heartbeat(),
        isRunning: () => payload.isRunning(),
        logger,
      });
      if (result === undefined) return records.length;
      if (!Number.isInteger(result.handled) || result.handled < 0 || result.handled > records.length) {
        throw new TypeError(`handleBatch returned handled: ${result.handled} for ${records.length} records`);
      }
      return result.handled;
    } finally {
      clearInterval(timer);
    }
  }

  /** Waits, heartbeating; false when the consumer is stopping or the partition was seeked meanwhile. */
  async function waitBeforeRetry(delayMs: number, payload: EachBatchPayload): Promise<boolean> {
    const until = Date.now() + delayMs;
    while (Date.now() < until) {
      if (!payload.isRunning() || payload.isStale()) return false;
      await sleep(Math.min(STOP_CHECK_MS, until - Date.now()));
      await payload.heartbeat();
    }
    return payload.isRunning() && !payload.isStale();
  }

  /** Commits the records before `next` (a handler stopped early); the rest are fetched again. */
  async function commitUpTo(next: string, batch: Batch, payload: EachBatchPayload): Promise<void> {
    if (BigInt(next) <= BigInt(batch.firstOffset() ?? next)) return; // nothing of this batch was handled
    await payload.commitOffsetsIfNecessary({
      topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
    });
    payload.resolveOffset((BigInt(next) - 1n).toString());
  }

  async function commitBatch(batch: Batch, payload: EachBatchPayload): Promise<void> {
    // lastOffset() also covers transaction markers after the last record, so the committed offset
    // reaches the end of the log once everything was handled.
    const lastOffset = batch.lastOffset();
    const next = (BigInt(lastOffset) + 1n).toString();
    if (commitIntervalMs > 0) {
      uncommitted.set(`${batch.topic}:${batch.partition}`, {
        topic: batch.topic,
        partition: batch.partition,
        offset: next,
      });
      payload.resolveOffset(lastOffset);
      // Stopping: committed now, before the group is left. Otherwise within the interval.
      if (stopping !== undefined) await commitHandled(payload);
      else commitTimer ??= setTimeout(() => void commitHandled(), commitIntervalMs);
      return;
    }
    await payload.commitOffsetsIfNecessary({
      topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
    });
    // Only now may the fetch position move on: had the commit failed, the batch is fetched again.
    payload.resolveOffset(lastOffset);
  }

  /**
   * Commits every offset handled so far (commitIntervalMs); a failure leaves them to a later commit.
   * From inside a batch, through its payload: once stop() began, kafkajs' own commitOffsets skips
   * commits without a word, the batch's payload still commits.
   */
  function commitHandled(payload?: EachBatchPayload): Promise<void> {
    clearTimeout(commitTimer);
    commitTimer = undefined;
    commitChain = commitChain.then(async () => {
      if (uncommitted.size === 0) return;
      const offsets = [...uncommitted.values()];
      const committing = generation;
      uncommitted.clear();
      try {
        if (payload === undefined) await consumer.commitOffsets(offsets);
        else {
          const topics = [...new Set(offsets.map((entry) => entry.topic))].map((topic) => ({
            topic,
            partitions: offsets
              .filter((entry) => entry.topic === topic)
              .map(({ partition, offset }) => ({ partition, offset })),
          }));
          await payload.commitOffsetsIfNecessary({ topics });
        }
      } catch (error) {
        // Handled all the same. Kept for the next commit unless the group moved on meanwhile (then the
        // partitions' owners handle those records again); newer offsets handled meanwhile win.
        if (committing === generation) {
          for (const entry of offsets) {
            const key = `${entry.topic}:${entry.partition}`;
            if (!uncommitted.has(key)) uncommitted.set(key, entry);
          }
          if (stopping === undefined)
            commitTimer ??= setTimeout(() => void commitHandled(), commitIntervalMs);
        }
        logger.warn({ err: error, offsets }, 'Committing handled offsets failed; kept for the next commit');
      }
    });
    return commitChain;
  }

  async function startConsuming(): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      eachBatch: handleFetchedBatch,
    });
  }

  try {
    await startConsuming();
  } catch (error) {
    await consumer.disconnect().catch((disconnectError: unknown) => {
      logger.warn({ err: disconnectError }, 'Kafka consumer did not disconnect cleanly after a failed start');
    });
    if (ownsDlqProducer) await dlqProducer?.stop();
    throw new KafkaError(
      'KAFKA_CONSUMER_CRASHED',
      `Kafka consumer ${options.groupId} could not start: ${describeError(error)}`,
      { canRetry: true, cause: error },
    );
  }
  logger.info({ topics: options.topics }, 'Kafka consumer running');

  return {
    stop(): Promise<void> {
      stopping ??= (async () => {
        clearTimeout(restartTimer);
        if (health.state === 'running') health.state = 'stopping';
        try {
          // What was handled is committed while this member still owns its partitions; a batch still
          // in hand commits itself when it ends (stopping is set).
          await commitHandled();
          await consumer.disconnect();
        } finally {
          if (ownsDlqProducer) await dlqProducer?.stop();
          health.state = 'stopped';
          health.assignment = [];
          health.lag = {};
          logger.info({ batchesHandled: health.batchesHandled }, 'Kafka consumer stopped');
        }
      })();
      return stopping;
    },
    isRunning: () => health.state === 'running',
    health: () => ({
      ...health,
      topics: [...health.topics],
      assignment: [...health.assignment],
      lag: { ...health.lag },
    }),
  };
}
