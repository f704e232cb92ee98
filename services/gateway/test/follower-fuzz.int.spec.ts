// Property-based fuzzing of the gateway's two consumers, on the real broker and Redis: the item-events
// follower (keeps the Redis gate in step) must dead-letter every poison record with the contract's
// reason and leave the gate as it was; the stock-views follower (feeds WebSocket clients) skips poison
// by design (every instance would dead-letter the same record; the read model still has the view) and
// must hand none of it to the clients. Either way the valid record behind the poison still gets through:
// no crash, no stuck partition. A fixed seed; FUZZ_SEED and FUZZ_RUNS change the cases.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  encode,
  schemasOnTopic,
  Topics,
  type ItemEvent,
  type NamedRecord,
  type RecordOf,
  type StockView,
} from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  deleteGroups,
  deleteTopics,
  ensureTopics,
  fetchTopicOffsets,
  type BatchConsumer,
  type DurableProducer,
  type KafkaClient,
} from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import {
  fuzzSettings,
  getTestServers,
  poisonRecords,
  uniqueName,
  waitFor,
  type PoisonRecord,
} from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventFollower } from '../src/adapters/kafka/event-follower.js';
import { startStockViewFollower, type StockViewFollower } from '../src/adapters/kafka/stock-view-follower.js';
import { createOutcomeBus, type OutcomeBus } from '../src/adapters/redis/outcome-bus.js';
import { createRedisPurchaseGate } from '../src/adapters/redis/redis-purchase-gate.js';

const fuzz = fuzzSettings();
const ITEM = 'fuzz-item-1';
const STOCK = 5;
const logger = createLogger({ service: 'gateway-follower-fuzz-test', level: 'silent' });
const prefix = `${uniqueName('gf')}.`;
const redisPrefix = `${uniqueName('gf')}:`;
const topics = {
  events: `${prefix}${Topics.itemEvents}`,
  eventsDlq: `${prefix}${Topics.itemEvents}.dlq`,
  views: `${prefix}${Topics.stockViews}`,
  viewsDlq: `${prefix}${Topics.stockViews}.dlq`,
};
const groups = { follower: `${prefix}gateway-follower`, live: `${prefix}gateway-ws` };

let kafka: KafkaClient;
let producer: DurableProducer;
let redis: Redis;
let subscriber: Redis;
let bus: OutcomeBus;
let follower: BatchConsumer;
let live: StockViewFollower;
const pushed: StockView[] = [];
let version = 1;
let viewVersion = 0;

const sum = (offsets: { high: string }[]) => offsets.reduce((n, p) => n + Number(p.high), 0);
const endOf = async (topic: string) => sum(await fetchTopicOffsets(kafka, topic));
const gateKey = `${redisPrefix}{item:${ITEM}}:gate`;

async function redisState(): Promise<Record<string, unknown>> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) keys.add(key);
  } while (cursor !== '0');
  const state: Record<string, unknown> = {};
  for (const key of [...keys].sort()) {
    const type = await redis.type(key);
    state[key] = type === 'hash' ? await redis.hgetall(key) : type === 'string' ? await redis.get(key) : type;
  }
  return state;
}

beforeAll(async () => {
  const servers = await getTestServers();
  kafka = createKafkaClient({ brokers: servers.kafkaBrokers, clientId: 'gateway-follower-fuzz', logger });
  // One partition each: the valid record sent after the poison records sits behind them.
  await ensureTopics(
    kafka,
    Object.values(topics).map((name) => ({ name, partitions: 1 })),
  );
  producer = createDurableProducer(kafka, { logger });
  redis = new Redis(servers.redisUrl);
  subscriber = redis.duplicate();
  bus = createOutcomeBus({ publisher: redis, subscriber, channel: `${redisPrefix}purchase-outcomes` });
  await bus.start();
  const gate = createRedisPurchaseGate({ redis, keyPrefix: redisPrefix });
  follower = await startEventFollower({
    client: kafka,
    groupId: groups.follower,
    topic: topics.events,
    gate,
    bus,
    logger,
  });
  live = await startStockViewFollower({
    client: kafka,
    groupId: groups.live,
    topic: topics.views,
    logger,
    onViews: (views) => pushed.push(...views),
  });
  await live.joined;
  await send(topics.events, {
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
      occurredAt: Date.now(),
    },
  });
  await waitFor('the gate to sell the item', async () =>
    (await redis.hget(gateKey, 'available')) === String(STOCK) ? true : undefined,
  );
}, 120_000);

afterAll(async () => {
  await follower?.stop();
  await live?.stop();
  await producer?.stop();
  await bus?.stop();
  subscriber?.disconnect();
  const state = redis ? Object.keys(await redisState()) : [];
  if (state.length > 0) await redis.del(...state);
  await redis?.quit();
  await deleteGroups(kafka, [groups.follower]).catch(() => undefined);
  await deleteTopics(kafka, Object.values(topics));
}, 120_000);

function send(topic: string, record: NamedRecord) {
  return producer.send({ topic, ...encode(record.name, record.value) });
}

function sendRaw(topic: string, record: PoisonRecord) {
  return producer.send({ topic, key: record.key, value: record.value, headers: record.headers });
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
const validEvent: fc.Arbitrary<NamedRecord<ItemEvent['name']>> = fc.oneof(
  bought.map((value) => ({ name: 'ItemBought' as const, value })),
  fc
    .record({
      commandId: id,
      itemId: fc.constant(ITEM),
      version: v,
      delta: fc.integer({ min: 1, max: 9 }),
      remaining: fc.nat(100),
      occurredAt: at,
    })
    .map((value) => ({ name: 'StockAdjusted' as const, value })),
);
const invalidEvent: fc.Arbitrary<NamedRecord<ItemEvent['name']>> = fc
  .tuple(
    bought,
    fc.constantFrom<[keyof RecordOf['ItemBought'], unknown]>(
      ['quantity', 0],
      ['remaining', -1],
      ['version', 0],
      ['buyerId', ''],
      ['itemId', '*'],
    ),
  )
  .map(([value, [field, bad]]) => ({ name: 'ItemBought' as const, value: { ...value, [field]: bad } }));

const viewOf = (versionOfView: number, available: number): StockView => ({
  itemId: ITEM,
  version: versionOfView,
  title: 'Fuzzed sneaker',
  priceMinor: 100,
  currency: 'EUR',
  perBuyerLimit: 2,
  listed: STOCK,
  available,
  sold: STOCK - available,
  status: available === 0 ? 'SOLD_OUT' : 'LIVE',
  startsAt: null,
  lastSaleAt: null,
  soldOutAt: null,
  updatedAt: 1,
});
const validView: fc.Arbitrary<NamedRecord<'StockView'>> = fc
  .tuple(v, fc.nat(STOCK))
  .map(([n, available]) => ({ name: 'StockView' as const, value: viewOf(n, available) }));
const invalidView: fc.Arbitrary<NamedRecord<'StockView'>> = fc
  .tuple(
    validView,
    fc.constantFrom<[keyof StockView, unknown]>(['version', 0], ['itemId', ''], ['currency', 'eu']),
  )
  .map(([record, [field, bad]]) => ({
    name: 'StockView' as const,
    value: { ...record.value, [field]: bad },
  }));
const adjustCommand: fc.Arbitrary<NamedRecord> = fc
  .record({ commandId: id, delta: fc.integer({ min: 1, max: 9 }), requestedAt: at })
  .map((value) => ({ name: 'AdjustStock' as const, value: { ...value, itemId: ITEM } }));

const eventPoison = poisonRecords({
  allowed: schemasOnTopic[Topics.itemEvents],
  valid: validEvent,
  foreign: fc.oneof(adjustCommand, validView),
  invalid: invalidEvent,
});
const viewPoison = poisonRecords({
  allowed: schemasOnTopic[Topics.stockViews],
  valid: validView,
  foreign: fc.oneof(adjustCommand, validEvent),
  invalid: invalidView,
});

describe('gateway consumers fuzzing', () => {
  it('item-events follower: every poison record dead-lettered with its reason, the gate untouched, the event behind them applied', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(eventPoison, { minLength: 1, maxLength: 6 }), async (poison) => {
        const before = { dlq: await endOf(topics.eventsDlq), gate: await redisState() };
        for (const record of poison) await sendRaw(topics.events, record);
        version++;
        await send(topics.events, {
          name: 'StockAdjusted',
          value: {
            commandId: `sentinel-${randomUUID()}`,
            itemId: ITEM,
            version,
            delta: 1,
            remaining: STOCK + version - 1,
            occurredAt: Date.now(),
          },
        });
        await waitFor(
          `the gate at version ${version}`,
          async () => ((await redis.hget(gateKey, 'version')) === String(version) ? true : undefined),
          { timeoutMs: 60_000, intervalMs: 25, describe: () => follower.health() },
        );
        expect(await endOf(topics.eventsDlq)).toBe(before.dlq + poison.length);
        // The sentinel changed the gate's version and availability, nothing else.
        const gate = before.gate[gateKey] as Record<string, string>;
        expect(await redisState()).toEqual({
          ...before.gate,
          [gateKey]: { ...gate, version: String(version), available: String(Number(gate['available']) + 1) },
        });
      }),
      { seed: fuzz.seed, numRuns: fuzz.runs(40) },
    );
    expect(follower.health()).toMatchObject({ state: 'running', consecutiveFailures: 0 });
  }, 300_000);

  it('stock-views follower: poison never reaches a client, nothing is dead-lettered, the view behind it is pushed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(viewPoison, { minLength: 1, maxLength: 6 }), async (poison) => {
        const seen = pushed.length;
        for (const record of poison) await sendRaw(topics.views, record);
        viewVersion += 1_000;
        await send(topics.views, { name: 'StockView', value: viewOf(viewVersion, 3) });
        await waitFor(
          `view ${viewVersion} pushed`,
          () => (pushed.some((view) => view.version === viewVersion) ? true : undefined),
          { timeoutMs: 60_000, intervalMs: 25, describe: () => live.consumer.health() },
        );
        expect(pushed.slice(seen)).toEqual([viewOf(viewVersion, 3)]);
      }),
      { seed: fuzz.seed, numRuns: fuzz.runs(30) },
    );
    expect(await endOf(topics.viewsDlq)).toBe(0);
    expect(live.consumer.health()).toMatchObject({ state: 'running', consecutiveFailures: 0 });
  }, 300_000);
});
