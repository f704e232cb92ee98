// Property-based fuzzing of the stream processor's consumer of item-events, on the real broker and Redis.
// Poison records (random bytes, truncated Avro, trailing bytes, another topic's schema, lying, missing or
// wrong headers, a key that is not the itemId, values the contract refuses, values near the broker's
// size limit) must each reach item-events.dlq with the contract's reason, change no view (Redis read
// model, stock-views), and the valid event sent after them must still be folded: the consumer did not
// crash and the partition is not stuck. A fixed seed; FUZZ_SEED and FUZZ_RUNS change the cases.
import fc from 'fast-check';
import { schemasOnTopic, Topics, type ItemEvent, type NamedRecord, type RecordOf } from '@buy-now/contracts';
import {
  createDurableProducer,
  DLQ_HEADERS,
  fetchTopicOffsets,
  headerAsString,
  type ConsumedRecord,
  type DurableProducer,
} from '@buy-now/kafka';
import { fuzzSettings, oversizedRecord, poisonRecords, waitFor, type PoisonRecord } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTopic } from '../src/adapters/kafka/topic-replay.js';
import type { RunningStreamProcessor } from '../src/stream-processor.js';
import { startTestSystem, type TestSystem } from './support/system.js';

const fuzz = fuzzSettings();
const TIMEOUT_MS = 300_000;
const ITEM = 'fuzz-item-1';
const STOCK = 5;
const DLQ_PRODUCER_MAX_BYTES = 900 * 1024;
const allowed = schemasOnTopic[Topics.itemEvents];

let system: TestSystem;
let processor: RunningStreamProcessor;
let producer: DurableProducer;
let version = 1;
let baselineKeys: string[];
const sentPoison = new Map<string, PoisonRecord>();

const sum = (offsets: { high: string }[]) => offsets.reduce((n, p) => n + Number(p.high), 0);
const dlqTopic = () => `${system.names.itemEventsTopic}.dlq`;
const dlqEnd = async () => sum(await fetchTopicOffsets(system.kafka, dlqTopic()));
const viewsEnd = async () => sum(await fetchTopicOffsets(system.kafka, system.names.stockViewsTopic));

async function redisKeys(): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await system.redis.scan(
      cursor,
      'MATCH',
      `${system.config.REDIS_KEY_PREFIX}*`,
      'COUNT',
      1000,
    );
    cursor = next;
    for (const key of found) keys.add(key);
  } while (cursor !== '0');
  return [...keys].sort();
}

beforeAll(async () => {
  // One partition: the valid event sent after the poison records sits behind them.
  system = await startTestSystem({ LOG_LEVEL: 'silent' }, { partitions: 1 });
  processor = await system.startProcessor();
  producer = createDurableProducer(system.kafka, { logger: system.logger, maxBatchBytes: 1_040_000 });
  const at = Date.now();
  await system.produce([
    {
      name: 'ItemListed',
      value: {
        commandId: 'list-1',
        itemId: ITEM,
        version: 1,
        title: 'Fuzzed sneaker',
        priceMinor: 100,
        currency: 'EUR',
        stock: STOCK,
        perBuyerLimit: 2,
        startsAt: null,
        occurredAt: at,
      },
    },
  ]);
  await system.waitUntilCaughtUp();
  baselineKeys = await redisKeys();
}, TIMEOUT_MS);

afterAll(async () => {
  await producer?.stop();
  await processor?.stop();
  await system?.stop();
}, TIMEOUT_MS);

/** The next version of the item: one more unit on sale. */
async function sendSentinel(): Promise<void> {
  version++;
  await system.produce([
    {
      name: 'StockAdjusted',
      value: {
        commandId: `sentinel-${version}`,
        itemId: ITEM,
        version,
        delta: 1,
        remaining: STOCK + version - 1,
        occurredAt: Date.now(),
      },
    },
  ]);
  await waitFor(
    `the view of ${ITEM} at version ${version}`,
    async () => ((await system.views.getMany([ITEM])).get(ITEM)?.version === version ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 25, describe: () => processor.consumer.health() },
  );
}

/** The views hold the listing and the sentinels, and nothing else. */
async function expectOnlyTheSentinels(): Promise<void> {
  const views = await system.views.list();
  expect(views.map((v) => [v.itemId, v.version, v.listed, v.available, v.sold])).toEqual([
    [ITEM, version, STOCK + version - 1, STOCK + version - 1, 0],
  ]);
  // Sales state (windows of the item and of all items) may come and go; nothing of another item.
  const allowedKeys = new Set([
    ...baselineKeys,
    `${system.config.REDIS_KEY_PREFIX}sales:{item:${ITEM}}`,
    `${system.config.REDIS_KEY_PREFIX}sales:{item:*}`,
    `${system.config.REDIS_KEY_PREFIX}sales-due`,
  ]);
  expect((await redisKeys()).filter((key) => !allowedKeys.has(key))).toEqual([]);
  // One stock view per version.
  await waitFor('every view published', async () => ((await viewsEnd()) === version ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
}

async function poisonThenSentinel(poison: readonly PoisonRecord[]): Promise<void> {
  const before = await dlqEnd();
  for (const record of poison) {
    const { offset } = await producer.send({
      topic: system.names.itemEventsTopic,
      key: record.key,
      value: record.value,
      headers: record.headers,
    });
    sentPoison.set(offset, record);
  }
  await sendSentinel();
  expect(await dlqEnd()).toBe(before + poison.length);
  await expectOnlyTheSentinels();
}

// ---- generators ------------------------------------------------------------------------------------------

const id = fc.stringMatching(/^[a-z0-9-]{1,24}$/);
const at = fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 });
const v = fc.integer({ min: 2, max: 1_000 });
const bought = fc.record({
  itemId: fc.constant(ITEM),
  version: v,
  purchaseId: id,
  buyerId: id,
  quantity: fc.integer({ min: 1, max: 5 }),
  remaining: fc.nat(100),
  priceMinor: fc.nat(10_000),
  currency: fc.constantFrom('EUR', 'USD'),
  admittedAt: at,
  admissionSeq: fc.nat(1_000_000),
  occurredAt: at,
});
const adjusted = fc.record({
  commandId: id,
  itemId: fc.constant(ITEM),
  version: v,
  delta: fc.integer({ min: -10, max: 10 }),
  remaining: fc.nat(100),
  occurredAt: at,
});
const validEvent: fc.Arbitrary<NamedRecord<ItemEvent['name']>> = fc.oneof(
  bought.map((value) => ({ name: 'ItemBought' as const, value })),
  adjusted.map((value) => ({ name: 'StockAdjusted' as const, value })),
  fc
    .record({ itemId: fc.constant(ITEM), version: v, occurredAt: at })
    .map((value) => ({ name: 'OutOfStock' as const, value })),
);

/** Well-typed events the contract refuses: one field breaks a rule. */
const invalidEvent: fc.Arbitrary<NamedRecord<ItemEvent['name']>> = fc.oneof(
  fc
    .tuple(
      bought,
      fc.constantFrom<[keyof RecordOf['ItemBought'], unknown]>(
        ['quantity', 0],
        ['quantity', -3],
        ['remaining', -1],
        ['version', 0],
        ['currency', 'eur'],
        ['purchaseId', ''],
        ['itemId', '*'],
      ),
    )
    .map(([value, [field, bad]]) => ({ name: 'ItemBought' as const, value: { ...value, [field]: bad } })),
  fc
    .tuple(
      adjusted,
      fc.constantFrom<[keyof RecordOf['StockAdjusted'], unknown]>(
        ['remaining', -1],
        ['version', -2],
        ['commandId', ''],
      ),
    )
    .map(([value, [field, bad]]) => ({ name: 'StockAdjusted' as const, value: { ...value, [field]: bad } })),
);

const foreignRecord: fc.Arbitrary<NamedRecord> = fc.oneof(
  fc.record({ commandId: id, delta: fc.integer({ min: 1, max: 9 }), requestedAt: at }).map((value) => ({
    name: 'AdjustStock' as const,
    value: { ...value, itemId: ITEM },
  })),
  fc.record({ version: v, available: fc.nat(10), updatedAt: at }).map((value) => ({
    name: 'StockView' as const,
    value: {
      itemId: ITEM,
      version: value.version,
      title: 'Forged',
      priceMinor: 1,
      currency: 'EUR',
      perBuyerLimit: 1,
      listed: 99,
      available: value.available,
      sold: 0,
      status: 'LIVE' as const,
      startsAt: null,
      lastSaleAt: null,
      soldOutAt: null,
      updatedAt: value.updatedAt,
    },
  })),
);

const poison = poisonRecords({ allowed, valid: validEvent, foreign: foreignRecord, invalid: invalidEvent });

describe('item-events fuzzing: poison records → item-events.dlq, no view changed, the processor goes on', () => {
  it(
    'dead-letters every poison record with its reason and folds the valid event behind them',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(poison, { minLength: 1, maxLength: 6 }), poisonThenSentinel),
        {
          seed: fuzz.seed,
          numRuns: fuzz.runs(50),
        },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'dead-letters records near the broker size limit, even those too big to copy whole',
    async () => {
      const valid = { name: 'OutOfStock' as const, value: { itemId: ITEM, version: 999, occurredAt: 1 } };
      for (const [i, bytes] of [800_000, 1_000_000].entries()) {
        await poisonThenSentinel([oversizedRecord(allowed, valid, bytes, i + 7)]);
      }
    },
    TIMEOUT_MS,
  );

  it(
    'kept each dead letter intact, with the reason and where it came from',
    async () => {
      const letters: ConsumedRecord[] = [];
      await replayTopic(system.kafka, {
        topic: dlqTopic(),
        groupId: `${system.names.groupId}-dlq-reader`,
        logger: system.logger,
        timeoutMs: 60_000,
        decode: () => null,
        onRecords: (records) => {
          letters.push(...records);
        },
      });
      expect(letters).toHaveLength(sentPoison.size);
      for (const letter of letters) {
        const original = sentPoison.get(headerAsString(letter.headers[DLQ_HEADERS.sourceOffset]) ?? '');
        expect(original).toBeDefined();
        if (original === undefined) continue;
        expect(headerAsString(letter.headers[DLQ_HEADERS.reason]), original.kind).toBe(original.reason);
        const omitted = headerAsString(letter.headers[DLQ_HEADERS.valueOmitted]);
        if ((original.value?.length ?? 0) > DLQ_PRODUCER_MAX_BYTES) {
          expect([omitted, letter.value]).toEqual([String(original.value?.length), null]);
        } else {
          expect(omitted).toBeUndefined();
          expect(letter.value === null ? null : Buffer.from(letter.value)).toEqual(original.value);
        }
      }
      expect(processor.consumer.health()).toMatchObject({ state: 'running', consecutiveFailures: 0 });
    },
    TIMEOUT_MS,
  );
});
