// Kappa reprocessing of the stock views: replay item-events from offset 0 into fresh views (in memory),
// up to the end offsets captured at the start, and compare them with the live read model. With `apply`,
// replace the live views: move the processor's group back to the earliest offsets, then delete the
// read-model keys, so the processor (started again afterwards) folds every view anew from offset 0.
import { randomUUID } from 'node:crypto';
import { decodeRecordAs, schemasOnTopic, Topics, type ItemEvent, type StockView } from '@buy-now/contracts';
import {
  createKafkaClient,
  fetchCommittedOffsets,
  resetGroupOffsets,
  type KafkaClient,
  type PartitionOffsets,
} from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';
import { createStockViewStore, type StockViewStore } from '@buy-now/read-model';
import { Redis } from 'ioredis';
import { replayTopic } from './adapters/kafka/topic-replay.js';
import { namesOf, type StreamProcessorConfig } from './config.js';
import { StreamProcessorError } from './domain/errors.js';
import { evolveStockView } from './domain/stock-view.js';
import { stockViewDifferences, type ViewDifference } from './domain/view-differences.js';

export interface RebuildOptions {
  apply: boolean;
  timeoutMs?: number;
}

/** Exit codes of `views:rebuild`. */
export const RebuildExit = { identical: 0, different: 1, failed: 2 } as const;

export async function rebuildViews(
  config: StreamProcessorConfig,
  options: RebuildOptions,
  print: (line: string) => void,
  logger: Logger,
): Promise<number> {
  const names = namesOf(config);
  const client = createKafkaClient({ brokers: [...config.KAFKA_BROKERS], clientId: 'views-rebuild', logger });
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    const views = createStockViewStore({ redis, prefix: config.REDIS_KEY_PREFIX });
    const replayed = await replayViews(
      client,
      names.itemEventsTopic,
      config.TOPIC_PREFIX,
      print,
      logger,
      options,
    );
    const verdict = await compareWithLive(client, names, views, replayed, print);
    if (!options.apply) return verdict;
    return await replaceLiveViews(client, names, views, config.REDIS_KEY_PREFIX, replayed.views.size, print);
  } finally {
    redis.disconnect();
  }
}

interface Replayed {
  views: Map<string, StockView>;
  endOffsets: PartitionOffsets[];
}

async function replayViews(
  client: KafkaClient,
  topic: string,
  topicPrefix: string,
  print: (line: string) => void,
  logger: Logger,
  options: RebuildOptions,
): Promise<Replayed> {
  const views = new Map<string, StockView>();
  const allowed = schemasOnTopic[Topics.itemEvents];
  let undecodable = 0;
  let lastReport = 0;
  print(`replaying ${topic} from offset 0 into fresh views`);
  const replay = await replayTopic<ItemEvent | null>(client, {
    topic,
    groupId: `${topicPrefix}views-rebuild-${randomUUID()}`,
    logger,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    decode: (record) => {
      try {
        const decoded = decodeRecordAs(allowed, record);
        return { name: decoded.name, value: decoded.value } as ItemEvent;
      } catch {
        return null;
      }
    },
    onRecords: (records) => {
      for (const { message: event } of records) {
        if (event === null) {
          undecodable++;
          continue;
        }
        const itemId = event.value.itemId;
        const next = evolveStockView(views.get(itemId) ?? null, event);
        if (next !== null) views.set(itemId, next);
      }
    },
    onProgress: (read, total) => {
      if (read - lastReport >= 10_000 || read === total) {
        lastReport = read;
        print(`  ${read} of ${total} events`);
      }
    },
  });
  const ends = replay.endOffsets.map(({ partition, high }) => `${partition}:${high}`).join(' ');
  print(`replayed ${replay.records} events into ${views.size} views (end offsets ${ends})`);
  if (undecodable > 0) print(`skipped ${undecodable} undecodable events (they are in ${topic}.dlq too)`);
  return { views, endOffsets: replay.endOffsets };
}

async function compareWithLive(
  client: KafkaClient,
  names: ReturnType<typeof namesOf>,
  live: StockViewStore,
  replayed: Replayed,
  print: (line: string) => void,
): Promise<number> {
  const lag = await processorLag(client, names.groupId, names.itemEventsTopic, replayed.endOffsets);
  if (lag > 0) {
    print(
      `note: the stream processor is ${lag} events behind the replayed end; its views may still catch up`,
    );
  }
  const unreadable = new Map<string, string>();
  const onInvalid = (itemId: string, error: Error) => unreadable.set(itemId, error.message);
  const liveViews = new Map((await live.list({ onInvalid })).map((view) => [view.itemId, view]));
  for (const [itemId, view] of await live.getMany([...replayed.views.keys()], { onInvalid })) {
    liveViews.set(itemId, view);
  }

  const itemIds = [...new Set([...replayed.views.keys(), ...liveViews.keys(), ...unreadable.keys()])].sort();
  const differences: ViewDifference[] = [];
  let newer = 0;
  for (const itemId of itemIds) {
    const reason = unreadable.get(itemId);
    if (reason !== undefined) {
      const expected = replayed.views.get(itemId);
      differences.push({
        itemId,
        subject: 'view',
        field: 'view',
        expected: expected === undefined ? '(none)' : `version ${expected.version}`,
        actual: `(unreadable: ${reason})`,
      });
      continue;
    }
    const expected = replayed.views.get(itemId) ?? null;
    const actual = liveViews.get(itemId) ?? null;
    // Events after the captured end offsets are not in the replay: a newer live view is not a fault.
    if (expected !== null && actual !== null && actual.version > expected.version) {
      newer++;
      continue;
    }
    differences.push(...stockViewDifferences(itemId, expected, actual));
  }
  for (const d of differences) print(`item ${d.itemId}: ${d.field} replayed=${d.expected} live=${d.actual}`);
  if (newer > 0) print(`skipped ${newer} items whose live view is newer than the replay`);
  const differing = new Set(differences.map((d) => d.itemId)).size;
  if (differing === 0) {
    print(`identical: ${itemIds.length - newer} items`);
    return RebuildExit.identical;
  }
  print(`different: ${differing} of ${itemIds.length - newer} items (${differences.length} fields)`);
  return RebuildExit.different;
}

async function processorLag(
  client: KafkaClient,
  groupId: string,
  topic: string,
  endOffsets: PartitionOffsets[],
): Promise<number> {
  const committed = new Map(
    (await fetchCommittedOffsets(client, groupId, topic)).map(({ partition, offset }) => [partition, offset]),
  );
  return endOffsets.reduce((lag, { partition, low, high }) => {
    const at = committed.get(partition) ?? '-1';
    const position = at === '-1' ? BigInt(low) : BigInt(at);
    return lag + Math.max(0, Number(BigInt(high) - position));
  }, 0);
}

async function replaceLiveViews(
  client: KafkaClient,
  names: ReturnType<typeof namesOf>,
  live: StockViewStore,
  redisKeyPrefix: string,
  items: number,
  print: (line: string) => void,
): Promise<number> {
  // Offsets first: it fails while the processor runs, before anything was deleted. Deleting first
  // would let a running processor fold new events onto missing views (it cannot start mid-stream).
  print(`resetting consumer group ${names.groupId} on ${names.itemEventsTopic} to the earliest offsets`);
  try {
    await resetGroupOffsets(client, names.groupId, names.itemEventsTopic, 'earliest');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('no running instances')) {
      throw new StreamProcessorError(
        'PROCESSOR_STILL_RUNNING',
        `stop every stream-processor instance first (group ${names.groupId} has members)`,
        { cause: error },
      );
    }
    throw error;
  }
  const deleted = await live.deleteAll();
  print(`deleted ${deleted} read-model keys under ${JSON.stringify(redisKeyPrefix)}`);
  print(
    `done: start the stream processor; it folds ${items} items again from offset 0, ` +
      'writes them to the read model and republishes them to stock-views (sales totals are not recounted)',
  );
  return RebuildExit.identical;
}
