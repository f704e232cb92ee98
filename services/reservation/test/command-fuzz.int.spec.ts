// Property-based fuzzing of the reservation service's consumer of item-commands, on the real broker and a
// database of its own. Poison records (random bytes, truncated Avro, trailing bytes, another topic's
// schema, lying, missing or wrong headers, a key that is not the itemId, values the contract refuses,
// values near the broker's size limit) must each reach item-commands.dlq with the contract's reason and
// the record intact, change no SQL row and publish no event; a valid command sent after them is still
// decided (the consumer did not crash and the partition is not stuck). Commands that are valid but make
// no sense (a negative quantity, an item never listed) are decided, not dead-lettered: a purchase the
// gateway accepted must end confirmed or rejected, never in a dead-letter topic.
// A fixed seed makes every run try the same cases; FUZZ_SEED and FUZZ_RUNS change them for one run.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type pg from 'pg';
import {
  encode,
  schemasOnTopic,
  Topics,
  type ItemCommand,
  type NamedRecord,
  type RecordOf,
} from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  deleteGroups,
  deleteTopics,
  DLQ_HEADERS,
  ensureTopics,
  fetchCommittedOffsets,
  fetchTopicOffsets,
  headerAsString,
  runBatchConsumer,
  type ConsumedRecord,
  type DurableProducer,
  type KafkaClient,
} from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { closePostgresPool, createPostgresPool } from '@buy-now/sql-schema';
import {
  createTestDatabase,
  fuzzSettings,
  getTestServers,
  oversizedRecord,
  poisonRecords,
  uniqueName,
  waitFor,
  type PoisonRecord,
  type TestDatabase,
} from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReservationConfig } from '../src/config.js';
import { startReservation, type RunningReservation } from '../src/reservation.js';

const fuzz = fuzzSettings();
const TIMEOUT_MS = 300_000;
const ITEM = 'fuzz-item-1';
const STOCK = 5;
/** The reservation service's producer (its dead-letter producer too) takes records up to 900 KiB. */
const DLQ_PRODUCER_MAX_BYTES = 900 * 1024;
const allowed = schemasOnTopic[Topics.itemCommands];
const logger = createLogger({ service: 'reservation-fuzz-test', level: 'silent' });

const prefix = `${uniqueName('rz')}.`;
const topics = {
  commands: `${prefix}${Topics.itemCommands}`,
  dlq: `${prefix}${Topics.itemCommands}.dlq`,
  events: `${prefix}${Topics.itemEvents}`,
};

let kafka: KafkaClient;
let producer: DurableProducer;
let database: TestDatabase;
let pool: pg.Pool;
let reservation: RunningReservation;

/** Poison records sent, by their offset on item-commands (one partition: every record in one order). */
const sentPoison = new Map<string, PoisonRecord>();
/** Valid AdjustStock +1 commands sent after poison, by commandId. */
const sentinels: string[] = [];
/** Purchases the semantically invalid commands must have left, by purchaseId. */
const rejected = new Map<string, string>();
let ignoredCommands: string[] = [];
let listingCommandId = '';

const sum = (offsets: { high: string }[]) => offsets.reduce((n, p) => n + Number(p.high), 0);

beforeAll(async () => {
  const servers = await getTestServers();
  kafka = createKafkaClient({ brokers: servers.kafkaBrokers, clientId: 'reservation-fuzz-test', logger });
  // One partition each: the valid command sent after the poison records sits behind them.
  await ensureTopics(kafka, [
    { name: topics.commands, partitions: 1 },
    { name: topics.dlq, partitions: 1 },
    { name: topics.events, partitions: 1 },
  ]);
  database = await createTestDatabase(servers.databaseUrl);
  pool = createPostgresPool({
    connectionString: database.url,
    max: 2,
    onIdleError: (error) => logger.warn({ err: error }, 'idle PostgreSQL connection of the test failed'),
  });
  // Big enough for a record near the broker's limit (the services' producers stop at 900 KiB).
  producer = createDurableProducer(kafka, { logger, maxBatchBytes: 1_040_000 });
  reservation = await startReservation(
    loadReservationConfig({
      KAFKA_BROKERS: servers.kafkaBrokers.join(','),
      DATABASE_URL: database.url,
      TOPIC_PREFIX: prefix,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'silent',
    }),
    logger,
  );
  listingCommandId = `list-${randomUUID()}`;
  await send(
    command({
      name: 'ListItem',
      value: {
        commandId: listingCommandId,
        itemId: ITEM,
        title: 'Fuzzed sneaker',
        priceMinor: 100,
        currency: 'EUR',
        stock: STOCK,
        perBuyerLimit: 2,
        startsAt: null,
        requestedAt: Date.now(),
      },
    }),
  );
  await waitUntilProcessed(listingCommandId);
}, TIMEOUT_MS);

afterAll(async () => {
  await reservation?.stop();
  await producer?.stop();
  if (pool) await closePostgresPool(pool);
  await database?.drop();
  await deleteGroups(kafka, [`${prefix}reservation`]).catch(() => undefined);
  await deleteTopics(kafka, Object.values(topics));
}, TIMEOUT_MS);

function command(record: ItemCommand) {
  return { topic: topics.commands, ...encode(record.name, record.value) };
}

async function send(record: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }) {
  return producer.send({
    topic: topics.commands,
    key: record.key,
    value: record.value,
    headers: record.headers,
  });
}

async function waitUntilProcessed(commandId: string): Promise<void> {
  await waitFor(
    `command ${commandId} decided`,
    async () => {
      const { rows } = await pool.query('SELECT 1 FROM processed_commands WHERE command_id = $1', [
        commandId,
      ]);
      return rows.length === 1 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 25, describe: () => reservation.consumer.health() },
  );
}

/** A valid command behind the poison: decided means the consumer runs and the partition moves. */
async function sendSentinel(): Promise<void> {
  const commandId = `sentinel-${randomUUID()}`;
  sentinels.push(commandId);
  await send(
    command({ name: 'AdjustStock', value: { commandId, itemId: ITEM, delta: 1, requestedAt: Date.now() } }),
  );
  await waitUntilProcessed(commandId);
  // The sentinel's item may commit before other items of the same batch (one transaction per item,
  // side by side): only the group's committed offset says the whole batch, nonsense included, is done.
  await waitFor(
    'the reservation to commit every item-command',
    async () => {
      const [ends, committed] = await Promise.all([
        fetchTopicOffsets(kafka, topics.commands),
        fetchCommittedOffsets(kafka, `${prefix}reservation`, topics.commands),
      ]);
      return ends.every(({ partition, high }) =>
        committed.some((c) => c.partition === partition && c.offset === high),
      )
        ? true
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 25, describe: () => reservation.consumer.health() },
  );
}

/** SQL and item-events hold the listing, the sentinels and the decided nonsense, and nothing else. */
async function expectOnlyExpectedChanges(): Promise<void> {
  const n = sentinels.length;
  const item = await pool.query('SELECT listed, sold, remaining, version FROM items');
  expect(item.rows).toEqual([{ listed: STOCK + n, sold: 0, remaining: STOCK + n, version: String(1 + n) }]);
  const events = await pool.query<{ event_type: string }>(
    'SELECT event_type FROM item_events ORDER BY item_id, version',
  );
  expect(events.rows.map((r) => r.event_type)).toEqual([
    'ItemListed',
    ...sentinels.map(() => 'StockAdjusted'),
  ]);
  const purchases = await pool.query<{ purchase_id: string; status: string; reason: string }>(
    'SELECT purchase_id, status, reason FROM purchases ORDER BY purchase_id',
  );
  expect(purchases.rows).toEqual(
    [...rejected]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([purchaseId, reason]) => ({ purchase_id: purchaseId, status: 'rejected', reason })),
  );
  const processed = await pool.query<{ command_id: string }>('SELECT command_id FROM processed_commands');
  expect(processed.rows.map((r) => r.command_id).sort()).toEqual(
    [listingCommandId, ...sentinels, ...ignoredCommands].sort(),
  );
  // One event per decision: the listing, each sentinel, each rejected purchase.
  await waitFor(
    'every event published',
    async () =>
      sum(await fetchTopicOffsets(kafka, topics.events)) === 1 + n + rejected.size ? true : undefined,
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  expect(sum(await fetchTopicOffsets(kafka, topics.events))).toBe(1 + n + rejected.size);
}

async function dlqEnd(): Promise<number> {
  return sum(await fetchTopicOffsets(kafka, topics.dlq));
}

/** Sends the poison records then a sentinel; the dead-letter topic grows by exactly the poison. */
async function poisonThenSentinel(poison: readonly PoisonRecord[]): Promise<void> {
  const before = await dlqEnd();
  for (const record of poison) {
    const { offset } = await send(record);
    sentPoison.set(offset, record);
  }
  await sendSentinel();
  expect(await dlqEnd()).toBe(before + poison.length);
  await expectOnlyExpectedChanges();
}

async function readDeadLetters(): Promise<ConsumedRecord[]> {
  const end = await dlqEnd();
  const records: ConsumedRecord[] = [];
  const groupId = `${prefix}dlq-reader-${randomUUID()}`;
  const consumer = await runBatchConsumer(kafka, {
    groupId,
    topics: [topics.dlq],
    logger,
    handleBatch: (batch) => {
      records.push(...batch);
      return Promise.resolve();
    },
  });
  try {
    await waitFor('the dead-letter topic read to its end', () => (records.length >= end ? true : undefined), {
      timeoutMs: 60_000,
    });
  } finally {
    await consumer.stop();
    await deleteGroups(kafka, [groupId]);
  }
  return records;
}

// ---- generators ------------------------------------------------------------------------------------------

const id = fc.stringMatching(/^[a-z0-9-]{1,24}$/);
const at = fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 });
const listing = fc.record({
  commandId: id,
  itemId: fc.constant(ITEM),
  title: fc.string({ minLength: 1, maxLength: 40 }),
  priceMinor: fc.integer({ min: 0, max: 1_000_000 }),
  currency: fc.constantFrom('EUR', 'USD', 'PLN'),
  stock: fc.integer({ min: 0, max: 1000 }),
  perBuyerLimit: fc.integer({ min: 1, max: 10 }),
  startsAt: fc.option(at, { nil: null }),
  requestedAt: at,
});
const adjust = fc.record({
  commandId: id,
  itemId: fc.constant(ITEM),
  delta: fc.integer({ min: -100, max: 100 }).filter((d) => d !== 0),
  requestedAt: at,
});
const buy = fc.record({
  purchaseId: id,
  itemId: fc.constant(ITEM),
  buyerId: id,
  quantity: fc.integer({ min: 1, max: 5 }),
  idempotencyKey: id,
  admittedAt: at,
  admissionSeq: fc.integer({ min: 0, max: 1_000_000 }),
  gatewayId: id,
});
const validCommand: fc.Arbitrary<NamedRecord<ItemCommand['name']>> = fc.oneof(
  listing.map((value) => ({ name: 'ListItem' as const, value })),
  adjust.map((value) => ({ name: 'AdjustStock' as const, value })),
  buy.map((value) => ({ name: 'BuyRequested' as const, value })),
);

/** Well-typed commands the contract refuses: one field breaks a rule. */
const invalidCommand: fc.Arbitrary<NamedRecord<ItemCommand['name']>> = fc.oneof(
  fc
    .tuple(
      listing,
      fc.constantFrom<[keyof RecordOf['ListItem'], unknown]>(
        ['stock', -1],
        ['stock', -1_000_000],
        ['priceMinor', -5],
        ['perBuyerLimit', 0],
        ['currency', 'eur'],
        ['currency', 'EURO'],
        ['title', ''],
        ['commandId', ''],
        ['itemId', '*'],
      ),
    )
    .map(([value, [field, bad]]) => ({ name: 'ListItem' as const, value: { ...value, [field]: bad } })),
  fc
    .tuple(
      adjust,
      fc.constantFrom<[keyof RecordOf['AdjustStock'], unknown]>(['commandId', ''], ['itemId', '']),
    )
    .map(([value, [field, bad]]) => ({ name: 'AdjustStock' as const, value: { ...value, [field]: bad } })),
  fc
    .tuple(
      buy,
      fc.constantFrom<[keyof RecordOf['BuyRequested'], unknown]>(
        ['purchaseId', ''],
        ['buyerId', ''],
        ['idempotencyKey', ''],
        ['itemId', '*'],
      ),
    )
    .map(([value, [field, bad]]) => ({ name: 'BuyRequested' as const, value: { ...value, [field]: bad } })),
);

const foreignRecord: fc.Arbitrary<NamedRecord> = fc.oneof(
  fc
    .record({
      commandId: id,
      version: fc.constant(2),
      delta: fc.constant(1),
      remaining: fc.constant(6),
      occurredAt: at,
    })
    .map((v) => ({ name: 'StockAdjusted' as const, value: { ...v, itemId: ITEM } })),
  fc.record({ version: fc.integer({ min: 1, max: 9 }), occurredAt: at }).map((v) => ({
    name: 'OutOfStock' as const,
    value: { ...v, itemId: ITEM },
  })),
  fc.record({ windowStart: at, orders: fc.nat(100) }).map((v) => ({
    name: 'SalesMetrics' as const,
    value: {
      itemId: ITEM,
      windowStart: v.windowStart,
      windowEnd: v.windowStart + 1000,
      orders: v.orders,
      units: v.orders,
      totalOrders: v.orders,
      totalUnits: v.orders,
      timeToSellOutMs: null,
    },
  })),
);

const poison = poisonRecords({
  allowed,
  valid: validCommand,
  foreign: foreignRecord,
  invalid: invalidCommand,
});

describe('item-commands fuzzing: poison records → item-commands.dlq, nothing changed, the consumer goes on', () => {
  it(
    'dead-letters every poison record with its reason and decides the valid command behind them',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(poison, { minLength: 1, maxLength: 6 }), poisonThenSentinel),
        { seed: fuzz.seed, numRuns: fuzz.runs(60) },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'dead-letters records near the broker size limit, even those too big for the dead-letter producer to copy',
    async () => {
      for (const [i, bytes] of [800_000, 1_000_000].entries()) {
        await poisonThenSentinel([
          oversizedRecord(
            allowed,
            { name: 'AdjustStock', value: { commandId: 'big', itemId: ITEM, delta: 1, requestedAt: 1 } },
            bytes,
            i + 1,
          ),
        ]);
      }
    },
    TIMEOUT_MS,
  );

  it(
    'decides commands that are valid but make no sense, instead of dead-lettering them',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.integer({ min: -1000, max: 0 }).map((quantity) => ({ kind: 'quantity' as const, quantity })),
              id.map((other) => ({ kind: 'unknown-item' as const, itemId: `zz-${other}` })),
              id.map((other) => ({ kind: 'adjust-unknown' as const, itemId: `zz-${other}` })),
            ),
            { minLength: 1, maxLength: 3 },
          ),
          async (nonsense) => {
            const before = await dlqEnd();
            for (const n of nonsense) {
              const purchaseId = `p-${randomUUID()}`;
              const base = {
                purchaseId,
                buyerId: 'fuzz-buyer',
                idempotencyKey: `k-${purchaseId}`,
                admittedAt: Date.now(),
                admissionSeq: 1,
                gatewayId: 'fuzz',
              };
              if (n.kind === 'quantity') {
                rejected.set(purchaseId, 'INVALID_QUANTITY');
                await send(
                  command({ name: 'BuyRequested', value: { ...base, itemId: ITEM, quantity: n.quantity } }),
                );
              } else if (n.kind === 'unknown-item') {
                rejected.set(purchaseId, 'UNKNOWN_ITEM');
                await send(
                  command({ name: 'BuyRequested', value: { ...base, itemId: n.itemId, quantity: 1 } }),
                );
              } else {
                const commandId = `adjust-${randomUUID()}`;
                ignoredCommands = [...ignoredCommands, commandId];
                await send(
                  command({
                    name: 'AdjustStock',
                    value: { commandId, itemId: n.itemId, delta: 5, requestedAt: Date.now() },
                  }),
                );
              }
            }
            await sendSentinel();
            expect(await dlqEnd()).toBe(before);
            await expectOnlyExpectedChanges();
          },
        ),
        { seed: fuzz.seed, numRuns: fuzz.runs(15) },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'kept each dead letter intact: key, value and headers, plus the reason and where it came from',
    async () => {
      const letters = await readDeadLetters();
      expect(letters).toHaveLength(sentPoison.size);
      for (const letter of letters) {
        const sourceOffset = headerAsString(letter.headers[DLQ_HEADERS.sourceOffset]) ?? '';
        const original = sentPoison.get(sourceOffset);
        expect(original, `dead letter from offset ${sourceOffset}`).toBeDefined();
        if (original === undefined) continue;
        expect(headerAsString(letter.headers[DLQ_HEADERS.reason]), original.kind).toBe(original.reason);
        expect(headerAsString(letter.headers[DLQ_HEADERS.sourceTopic])).toBe(topics.commands);
        // An empty key and no key are one thing to the dead-letter topic's readers.
        const keyOf = (key: Buffer | null) => (key === null || key.length === 0 ? null : Buffer.from(key));
        expect(keyOf(letter.key), original.kind).toEqual(keyOf(original.key));
        // A value too big to copy next to the dead-letter headers is left out, and its size said.
        const omitted = headerAsString(letter.headers[DLQ_HEADERS.valueOmitted]);
        if ((original.value?.length ?? 0) > DLQ_PRODUCER_MAX_BYTES) {
          expect([omitted, letter.value]).toEqual([String(original.value?.length), null]);
        } else {
          expect(omitted).toBeUndefined();
          expect(letter.value === null ? null : Buffer.from(letter.value)).toEqual(original.value);
        }
        for (const [name, value] of Object.entries(original.headers)) {
          expect(headerAsString(letter.headers[name]), `${original.kind}: header ${name}`).toBe(value);
        }
      }
      expect(reservation.consumer.health()).toMatchObject({ state: 'running', consecutiveFailures: 0 });
    },
    TIMEOUT_MS,
  );
});
