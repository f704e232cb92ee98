// A whole buy-now system for one integration suite: its own topics, database and Redis keys, the gateway
// in this process, and the reservation service and the stream processor as child processes (so a test
// can kill either with SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { expect } from 'vitest';
import { decode, Topics, topicCatalogue, type ItemEvent, type StockView } from '@buy-now/contracts';
import {
  createKafkaClient,
  deleteGroups,
  deleteTopics,
  ensureTopics,
  fetchTopicOffsets,
  runBatchConsumer,
  type ConsumedRecord,
  type KafkaClient,
  type PartitionOffsets,
} from '@buy-now/kafka';
import { signBuyerToken } from '@buy-now/buyer-auth';
import { createLogger, type Logger } from '@buy-now/observability';
import { closePostgresPool, createPostgresPool } from '@buy-now/sql-schema';
import { createTestDatabase, getTestServers, uniqueName, waitFor, type TestDatabase } from '@buy-now/testkit';
import { loadGatewayConfig, type GatewayConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const RESERVATION_MAIN = fileURLToPath(new URL('../../../reservation/dist/main.js', import.meta.url));
const PROCESSOR_MAIN = fileURLToPath(new URL('../../../stream-processor/dist/main.js', import.meta.url));
export const ADMIN_TOKEN = 'integration-admin-token-0123456789';
export const BUYER_TOKEN_SECRET = 'integration-buyer-token-secret-0123456789';
/**
 * Every suite sends its requests from 127.0.0.1, thousands of them for a flash sale, and some buyers
 * retry many times: the suites raise both buy-now limits far above what they send. The rate-limit suite
 * sets its own.
 */
export const RAISED_RATE_LIMITS = { RATE_LIMIT_IP_MAX: '1000000000', RATE_LIMIT_BUYER_MAX: '1000000000' };

/** A buyer token for this buyer, signed with the suites' secret. */
export function buyerToken(buyerId: string, options: { ttlSeconds?: number; now?: number } = {}): string {
  return signBuyerToken({ secret: BUYER_TOKEN_SECRET, buyerId, ...options });
}

/** The Authorization header of a buyer. */
export function asBuyer(buyerId: string): { authorization: string } {
  return { authorization: `Bearer ${buyerToken(buyerId)}` };
}
const PARTITIONS = 3;

// ---- HTTP ---------------------------------------------------------------------------------------------

/** The fields any JSON answer of the gateway may carry; absent ones are undefined. */
export interface AnswerBody {
  /** Admin writes: the command published. */
  commandId?: string;
  purchaseId?: string;
  itemId?: string;
  buyerId?: string;
  quantity?: number;
  status?: string;
  reason?: string;
  statusUrl?: string;
  available?: number;
  sold?: number;
  listed?: number;
  version?: number;
  /** A refusal at the gate: the item version it had applied. */
  itemVersion?: number;
  perBuyerLimit?: number;
  error?: { code: string; message: string };
}

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON body; {} when the body is not JSON. */
  body: AnswerBody;
  text: string;
}

/** The one error shape of every refusal: {error: {code, message}}, whatever the message says. */
export function errorShape(code: string): unknown {
  return { error: { code, message: expect.any(String) as unknown } };
}

export interface RequestOptions {
  /** Sent as JSON with content-type application/json. */
  json?: unknown;
  /** Sent as is (content-type application/json unless headers say otherwise). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Answer> {
  const body = options.rawBody ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
  const headers: Record<string, string> = {
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...options.headers,
  };
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: AnswerBody = {};
  if ((response.headers.get('content-type') ?? '').includes('application/json') && text.length > 0) {
    parsed = JSON.parse(text) as AnswerBody;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

export interface BuyNowRequest {
  itemId: string;
  buyerId: string;
  quantity?: number;
  /** Default: a fresh key. */
  idempotencyKey?: string;
  /** e.g. 'wait=5'. */
  prefer?: string;
  /** Overrides the body sent (to send a bad one). */
  json?: unknown;
  /** Default: a token of buyerId; null sends no Authorization header. */
  token?: string | null;
}

export interface BuyNowAnswer extends Answer {
  request: BuyNowRequest & { idempotencyKey: string };
}

// ---- child processes: the reservation service and the stream processor ----------------------------

export interface ServiceChild {
  readonly pid: number;
  /** True until the process exited. */
  isRunning(): boolean;
  /** Sends the signal and resolves once the process exited. */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** The last lines it printed, for failure messages. */
  output(): string;
  /** Every line it printed (up to the last 20,000). */
  lines(): readonly string[];
}

export type ReservationChild = ServiceChild;

interface ChildSpec {
  name: string;
  main: string;
  /** The log line that says it is consuming. */
  ready: string;
  env: Record<string, string>;
}

const RESERVATION_READY = 'reservation consuming item-commands';
const PROCESSOR_READY = 'stream-processor consuming item-events';

async function startChild(spec: ChildSpec): Promise<ServiceChild> {
  const child: ChildProcess = spawn(process.execPath, [spec.main], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const everyLine: string[] = [];
  let running = true;
  let signalConsuming: () => void = () => undefined;
  const consuming = new Promise<void>((resolve) => {
    signalConsuming = resolve;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running = false;
      resolve();
    });
  });
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      if (line.includes(spec.ready)) signalConsuming();
      lines.push(line.length > 600 ? `${line.slice(0, 600)}…` : line);
      if (lines.length > 40) lines.shift();
      everyLine.push(line);
      if (everyLine.length > 20_000) everyLine.shift();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const handle: ServiceChild = {
    pid: child.pid ?? -1,
    isRunning: () => running,
    async stop(signal) {
      if (!running) return;
      child.kill(signal);
      const gaveUp = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 20_000).unref());
      if ((await Promise.race([exited.then(() => 'exited' as const), gaveUp])) === 'late') {
        child.kill('SIGKILL');
        await exited;
      }
    },
    output: () => lines.join('\n'),
    lines: () => everyLine,
  };
  const started = await Promise.race([
    consuming.then(() => 'consuming' as const),
    exited.then(() => 'exited' as const),
    new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 60_000).unref()),
  ]);
  if (started !== 'consuming') {
    await handle.stop('SIGKILL');
    throw new Error(`the ${spec.name} did not start (${started}); its output:\n${handle.output()}`);
  }
  return handle;
}

// ---- the system -----------------------------------------------------------------------------------------

export interface SystemOptions {
  /** Extra gateway settings, e.g. { RECONCILE_AFTER_MS: '1000' }. */
  gatewayEnv?: Record<string, string>;
  /** Extra settings of the reservation and stream processor children, e.g. { LOG_LEVEL: 'debug' }. */
  childEnv?: Record<string, string>;
  /** The gateway's logger; default silent. */
  gatewayLogger?: Logger;
  /**
   * The broker of the whole system (gateway, children, the test's own client) instead of the shared one,
   * e.g. a private broker the test stops and starts.
   */
  kafkaBrokers?: string[];
}

export interface TestSystem {
  baseUrl: string;
  topicPrefix: string;
  redisPrefix: string;
  topics: { itemCommands: string; itemEvents: string; stockViews: string };
  reservationGroupId: string;
  processorGroupId: string;
  config: GatewayConfig;
  kafka: KafkaClient;
  /** A Redis connection of the test's own (the gateway has its own). */
  redis: Redis;
  /** The system's own database. */
  pool: pg.Pool;
  database: TestDatabase;
  gateway: RunningGateway;
  reservation: ServiceChild;
  /** The stream processor: item-events → stock views (Redis read model, stock-views topic). */
  processor: ServiceChild;
  logger: Logger;
  /** Starts the reservation child again (after stopReservation). */
  startReservation(): Promise<ServiceChild>;
  stopReservation(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the stream processor child again (after stopProcessor). */
  startProcessor(): Promise<ServiceChild>;
  stopProcessor(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops everything and deletes the system's topics, database and Redis keys. */
  stop(): Promise<void>;
}

export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const servers = await getTestServers();
  const kafkaBrokers = options.kafkaBrokers ?? servers.kafkaBrokers;
  const logger = createLogger({ service: 'gateway-int-test', level: 'silent' });
  const topicPrefix = `${uniqueName('t')}.`;
  const redisPrefix = `${uniqueName('gw')}:`;
  const topics = {
    itemCommands: `${topicPrefix}${Topics.itemCommands}`,
    itemEvents: `${topicPrefix}${Topics.itemEvents}`,
    stockViews: `${topicPrefix}${Topics.stockViews}`,
  };
  const allTopics = topicCatalogue.map((spec) => `${topicPrefix}${spec.name}`);
  const kafka = createKafkaClient({ brokers: kafkaBrokers, clientId: 'gateway-int-test', logger });
  await ensureTopics(
    kafka,
    topicCatalogue.map((spec) => ({
      name: `${topicPrefix}${spec.name}`,
      // Fewer partitions than in production keep start-up fast; dead-letter topics keep their one.
      partitions: Math.min(spec.partitions, PARTITIONS),
      configs: spec.configs,
    })),
  );
  const database = await createTestDatabase(servers.databaseUrl);
  const pool = createPostgresPool({
    connectionString: database.url,
    max: 4,
    onIdleError: (error) => logger.warn({ err: error }, 'idle PostgreSQL connection of the test failed'),
  });
  const redis = new Redis(servers.redisUrl, { maxRetriesPerRequest: 2 });

  const reservationChild: ChildSpec = {
    name: 'reservation service',
    main: RESERVATION_MAIN,
    ready: RESERVATION_READY,
    env: {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      DATABASE_URL: database.url,
      TOPIC_PREFIX: topicPrefix,
      ...options.childEnv,
    },
  };
  const processorChild: ChildSpec = {
    name: 'stream processor',
    main: PROCESSOR_MAIN,
    ready: PROCESSOR_READY,
    env: {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      REDIS_URL: servers.redisUrl,
      DATABASE_URL: database.url,
      TOPIC_PREFIX: topicPrefix,
      REDIS_KEY_PREFIX: redisPrefix,
      // The broker's minimum: a killed processor's partitions move on after 6 s, not 30.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      ...options.childEnv,
    },
  };
  const config = loadGatewayConfig({
    KAFKA_BROKERS: kafkaBrokers.join(','),
    REDIS_URL: servers.redisUrl,
    DATABASE_URL: database.url,
    ADMIN_TOKEN,
    BUYER_TOKEN_SECRET,
    ...RAISED_RATE_LIMITS,
    REDIS_KEY_PREFIX: redisPrefix,
    TOPIC_PREFIX: topicPrefix,
    GATEWAY_ID: `gw-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'silent',
    ...options.gatewayEnv,
  });
  const [startedReservation, startedProcessor, startedGateway] = await Promise.allSettled([
    startChild(reservationChild),
    startChild(processorChild),
    startGateway({ ...config, PORT: 0, HOST: '127.0.0.1' }, options.gatewayLogger ?? logger),
  ]);
  if (
    startedReservation.status === 'rejected' ||
    startedProcessor.status === 'rejected' ||
    startedGateway.status === 'rejected'
  ) {
    // Leave nothing behind: a half-started system would hold the database and the consumer groups.
    if (startedReservation.status === 'fulfilled') await startedReservation.value.stop('SIGKILL');
    if (startedProcessor.status === 'fulfilled') await startedProcessor.value.stop('SIGKILL');
    if (startedGateway.status === 'fulfilled') await startedGateway.value.stop();
    await closePostgresPool(pool);
    await database.drop();
    await deleteKeysByPrefix(redis, redisPrefix);
    await redis.quit();
    await deleteTopics(kafka, allTopics);
    const failed = [startedReservation, startedProcessor, startedGateway].find(
      (started): started is PromiseRejectedResult => started.status === 'rejected',
    );
    throw failed?.reason;
  }
  const reservation = startedReservation.value;
  const processor = startedProcessor.value;
  const gateway = startedGateway.value;

  const system: TestSystem = {
    baseUrl: `http://${gateway.address}`,
    topicPrefix,
    redisPrefix,
    topics,
    reservationGroupId: `${topicPrefix}reservation`,
    processorGroupId: `${topicPrefix}stream-processor`,
    config,
    kafka,
    redis,
    pool,
    database,
    gateway,
    reservation,
    processor,
    logger,
    async startReservation() {
      if (system.reservation.isRunning()) throw new Error('the reservation service is already running');
      system.reservation = await startChild(reservationChild);
      return system.reservation;
    },
    stopReservation: (signal) => system.reservation.stop(signal),
    async startProcessor() {
      if (system.processor.isRunning()) throw new Error('the stream processor is already running');
      system.processor = await startChild(processorChild);
      return system.processor;
    },
    stopProcessor: (signal) => system.processor.stop(signal),
    async stop() {
      const failures: unknown[] = [];
      const attempt = async (step: () => Promise<unknown>) => {
        try {
          await step();
        } catch (error) {
          failures.push(error);
        }
      };
      await attempt(() => gateway.stop());
      await attempt(() => system.reservation.stop('SIGTERM'));
      await attempt(() => system.processor.stop('SIGTERM'));
      await attempt(() => closePostgresPool(pool));
      await attempt(() => database.drop());
      await attempt(() => deleteKeysByPrefix(redis, redisPrefix));
      await attempt(() => redis.quit());
      await attempt(() => deleteTopics(kafka, allTopics));
      await attempt(() =>
        deleteGroups(kafka, [
          `${topicPrefix}reservation`,
          `${topicPrefix}gateway-follower`,
          `${topicPrefix}stream-processor`,
        ]),
      );
      if (failures.length > 0) throw new AggregateError(failures, 'tearing the test system down failed');
    },
  };
  return system;
}

// ---- items and purchases ------------------------------------------------------------------------------

export interface ListingOptions {
  stock: number;
  perBuyerLimit?: number;
  itemId?: string;
  title?: string;
}

/** Lists an item through the admin API and waits until the gate sells it and GET /items shows it; returns its id. */
export async function listItem(system: TestSystem, options: ListingOptions): Promise<string> {
  const itemId = options.itemId ?? `item-${randomUUID().slice(0, 12)}`;
  const answer = await request(system.baseUrl, 'POST', '/admin/items', {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    json: {
      itemId,
      title: options.title ?? 'Limited sneaker',
      priceMinor: 12_900,
      currency: 'EUR',
      stock: options.stock,
      perBuyerLimit: options.perBuyerLimit ?? 1,
    },
  });
  if (answer.status !== 201 && answer.status !== 202) {
    throw new Error(`listing ${itemId} answered ${answer.status}: ${answer.text}`);
  }
  await waitFor(
    `item ${itemId} on sale with ${options.stock} units`,
    async () => ((await availableAtGate(system, itemId)) === options.stock ? true : undefined),
    { timeoutMs: 30_000 },
  );
  await waitForItem(system, itemId, 1);
  return itemId;
}

export function buyNow(system: TestSystem, req: BuyNowRequest): Promise<BuyNowAnswer> {
  const idempotencyKey = req.idempotencyKey ?? `key-${randomUUID()}`;
  const token = req.token === undefined ? buyerToken(req.buyerId) : req.token;
  return request(system.baseUrl, 'POST', `/items/${req.itemId}/buy-now`, {
    headers: {
      'idempotency-key': idempotencyKey,
      ...(req.prefer ? { prefer: req.prefer } : {}),
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    json: req.json ?? {
      buyerId: req.buyerId,
      ...(req.quantity === undefined ? {} : { quantity: req.quantity }),
    },
  }).then((answer) => ({ ...answer, request: { ...req, idempotencyKey } }));
}

/** Sends every request at once and returns the answers in request order. */
export function buyAllAtOnce(system: TestSystem, requests: BuyNowRequest[]): Promise<BuyNowAnswer[]> {
  return Promise.all(requests.map((req) => buyNow(system, req)));
}

/** Answers by status code and (for a rejection or an error) its reason or code, e.g. {'202': 100, '409 SOLD_OUT': 1900}. */
export function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const detail = answer.body.reason ?? answer.body.error?.code;
    const key =
      answer.status === 202 || detail === undefined ? String(answer.status) : `${answer.status} ${detail}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export function purchaseIdsOf(answers: Answer[]): string[] {
  return answers.map((answer) => {
    if (!answer.body.purchaseId) throw new Error(`answer ${answer.status} has no purchaseId: ${answer.text}`);
    return answer.body.purchaseId;
  });
}

async function inLanes<T, R>(
  items: readonly T[],
  lanes: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

/** Waits until GET /purchases/:id of every id says confirmed or rejected; returns the final bodies by id. */
export async function waitUntilDecided(
  system: TestSystem,
  purchaseIds: readonly string[],
  timeoutMs = 90_000,
): Promise<Map<string, AnswerBody>> {
  const decided = new Map<string, AnswerBody>();
  let pending = [...purchaseIds];
  let lastPending: AnswerBody | undefined;
  await waitFor(
    `${purchaseIds.length} purchases decided`,
    async () => {
      const answers = await inLanes(pending, 32, (id) => request(system.baseUrl, 'GET', `/purchases/${id}`));
      const stillPending: string[] = [];
      answers.forEach((answer, index) => {
        const id = pending[index] as string;
        if (
          answer.status === 200 &&
          (answer.body.status === 'confirmed' || answer.body.status === 'rejected')
        ) {
          decided.set(id, answer.body);
        } else {
          stillPending.push(id);
          lastPending = answer.status === 200 ? answer.body : { error: answer.body.error };
        }
      });
      pending = stillPending;
      return pending.length === 0 ? true : undefined;
    },
    {
      timeoutMs,
      intervalMs: 250,
      describe: () => ({
        pending: pending.length,
        example: lastPending,
        reservation: system.reservation.output(),
      }),
    },
  );
  return decided;
}

/**
 * Waits until GET /items/:id shows at least this version (the stream processor folded the events up to
 * it into the read model); returns that body.
 */
export async function waitForItem(
  system: TestSystem,
  itemId: string,
  version: number,
  timeoutMs = 30_000,
): Promise<AnswerBody> {
  let last: unknown;
  return waitFor(
    `GET /items/${itemId} at version ${version}`,
    async () => {
      const answer = await request(system.baseUrl, 'GET', `/items/${itemId}`);
      last = answer.status === 200 ? answer.body : answer.status;
      return answer.status === 200 && (answer.body.version ?? 0) >= version ? answer.body : undefined;
    },
    { timeoutMs, intervalMs: 50, describe: () => ({ last, processor: system.processor.output() }) },
  );
}

export async function getItem(system: TestSystem, itemId: string): Promise<AnswerBody> {
  const answer = await request(system.baseUrl, 'GET', `/items/${itemId}`);
  if (answer.status !== 200)
    throw new Error(`GET /items/${itemId} answered ${answer.status}: ${answer.text}`);
  return answer.body;
}

// ---- Redis ----------------------------------------------------------------------------------------------

/** Units on sale in the gate's own hash, read straight from Redis; null when the gate lacks the item. */
export async function availableAtGate(system: TestSystem, itemId: string): Promise<number | null> {
  const value = await system.redis.hget(`${system.redisPrefix}{item:${itemId}}:gate`, 'available');
  return value === null ? null : Number(value);
}

/**
 * Deletes every key under the prefix in one command, as a Redis that lost its data would: a deletion
 * spread over many commands would let a rebuild start in the middle and then be half deleted again.
 */
export async function deleteKeysByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  const found = new Set<string>();
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) found.add(key);
  } while (cursor !== '0');
  return found.size === 0 ? 0 : redis.del(...found);
}

// ---- SQL --------------------------------------------------------------------------------------------------

export async function sql<R extends pg.QueryResultRow>(
  system: TestSystem,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  return (await system.pool.query<R>(text, values)).rows;
}

export interface ItemRow {
  listed: number;
  sold: number;
  remaining: number;
  version: number;
}

export async function itemRow(system: TestSystem, itemId: string): Promise<ItemRow | undefined> {
  const rows = await sql<{ listed: number; sold: number; remaining: number; version: string }>(
    system,
    'SELECT listed, sold, remaining, version FROM items WHERE item_id = $1',
    [itemId],
  );
  const row = rows[0];
  return (
    row && { listed: row.listed, sold: row.sold, remaining: row.remaining, version: Number(row.version) }
  );
}

export interface PurchaseRowView {
  purchaseId: string;
  buyerId: string;
  quantity: number;
  status: string;
  reason: string | null;
}

export async function purchaseRows(system: TestSystem, itemId: string): Promise<PurchaseRowView[]> {
  const rows = await sql<{
    purchase_id: string;
    buyer_id: string;
    quantity: number;
    status: string;
    reason: string | null;
  }>(
    system,
    'SELECT purchase_id, buyer_id, quantity, status, reason FROM purchases WHERE item_id = $1 ORDER BY purchase_id',
    [itemId],
  );
  return rows.map((row) => ({
    purchaseId: row.purchase_id,
    buyerId: row.buyer_id,
    quantity: row.quantity,
    status: row.status,
    reason: row.reason,
  }));
}

/** The item's versions in the SQL event store, in order. */
export async function storedVersions(system: TestSystem, itemId: string): Promise<number[]> {
  const rows = await sql<{ version: string }>(
    system,
    'SELECT version FROM item_events WHERE item_id = $1 ORDER BY version',
    [itemId],
  );
  return rows.map((row) => Number(row.version));
}

export function oneToN(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

// ---- Kafka -------------------------------------------------------------------------------------------------

export interface ItemEventRecord {
  partition: number;
  offset: bigint;
  event: ItemEvent;
}

export function sumOfEndOffsets(offsets: readonly PartitionOffsets[]): bigint {
  return offsets.reduce((sum, p) => sum + BigInt(p.high), 0n);
}

export interface TopicRecord {
  partition: number;
  offset: bigint;
  key: string | null;
  headers: ConsumedRecord['headers'];
  value: Buffer | null;
}

/**
 * Reads a topic of the system from the beginning to its current end with a fresh group; returns the
 * records in (partition, offset) order.
 */
export async function readTopicRecords(system: TestSystem, topic: string): Promise<TopicRecord[]> {
  const ends = await fetchTopicOffsets(system.kafka, topic);
  const target = new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
  );
  const records: TopicRecord[] = [];
  const reached = new Map<number, bigint>();
  if (target.size === 0) return records;
  const groupId = `${system.topicPrefix}reader-${randomUUID().slice(0, 8)}`;
  const consumer = await runBatchConsumer(system.kafka, {
    groupId,
    topics: [topic],
    fromBeginning: true,
    logger: system.logger,
    handleBatch: (batch) => {
      for (const record of batch) {
        const offset = BigInt(record.offset);
        records.push({
          partition: record.partition,
          offset,
          key: record.key === null ? null : record.key.toString('utf8'),
          headers: record.headers,
          value: record.value,
        });
        reached.set(record.partition, offset + 1n);
      }
      return Promise.resolve();
    },
  });
  try {
    await waitFor(
      `${topic} read to its end`,
      () =>
        [...target].every(([partition, high]) => (reached.get(partition) ?? 0n) >= high) ? true : undefined,
      {
        timeoutMs: 60_000,
        describe: () => ({ reached: [...reached].map(String), target: [...target].map(String) }),
      },
    );
  } finally {
    await consumer.stop();
    await deleteGroups(system.kafka, [groupId]);
  }
  // Only what was there when we started: a later record belongs to a later read.
  return records
    .filter((r) => r.offset < (target.get(r.partition) ?? 0n))
    .sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

/** Reads the system's item-events topic to its current end, decoding every record through the contracts. */
export async function readItemEvents(system: TestSystem): Promise<ItemEventRecord[]> {
  const undecodable: string[] = [];
  const records: ItemEventRecord[] = [];
  for (const record of await readTopicRecords(system, system.topics.itemEvents)) {
    try {
      const decoded = decode(record.headers, record.value);
      records.push({
        partition: record.partition,
        offset: record.offset,
        event: { name: decoded.name, value: decoded.value } as ItemEvent,
      });
    } catch (error) {
      undecodable.push(`${record.partition}@${record.offset}: ${String(error)}`);
    }
  }
  if (undecodable.length > 0)
    throw new Error(`item-events holds undecodable records: ${undecodable.join('; ')}`);
  return records;
}

/** The latest StockView per item on the system's stock-views topic, decoded through the contracts. */
export async function readLatestStockViews(system: TestSystem): Promise<Map<string, StockView>> {
  const latest = new Map<string, StockView>();
  for (const record of await readTopicRecords(system, system.topics.stockViews)) {
    const decoded = decode(record.headers, record.value);
    if (decoded.name !== 'StockView') throw new Error(`stock-views holds a ${decoded.name}`);
    if (record.key !== decoded.value.itemId)
      throw new Error(`stock-views key ${record.key} holds ${decoded.value.itemId}`);
    latest.set(decoded.value.itemId, decoded.value);
  }
  return latest;
}

export function eventsOfItem(records: readonly ItemEventRecord[], itemId: string): ItemEvent[] {
  return records.map((r) => r.event).filter((event) => event.value.itemId === itemId);
}
