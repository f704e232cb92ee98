// Topic names, their settings and which schemas travel on each: the one place a service learns them.
import { ContractError } from './errors.js';
import type { ItemCommandName, ItemEventName, SchemaName } from './records.js';

export const Topics = {
  itemCommands: 'item-commands',
  itemEvents: 'item-events',
  stockViews: 'stock-views',
  salesMetrics: 'sales-metrics',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];
export type DlqTopicName = `${TopicName}.dlq`;

/** The dead-letter topic beside a consumed topic, for records that cannot be decoded or validated. */
export function dlqTopicOf<T extends TopicName>(topic: T): `${T}.dlq` {
  return `${topic}.dlq`;
}

/**
 * The record key of everything on these topics: the itemId as UTF-8 bytes. One key per item puts all of an
 * item's records on one partition, which is what orders listing, restocks and purchases of that item, and
 * what lets stock-views compact to the last view per item. SalesMetrics for all items use the key '*'.
 */
export function keyOf(itemId: string): Buffer {
  if (itemId.length === 0) {
    throw new ContractError('CONTRACT_INVALID_RECORD', 'a record key needs a non-empty itemId', {
      fields: ['itemId'],
    });
  }
  return Buffer.from(itemId, 'utf8');
}

export interface TopicSpec {
  name: string;
  partitions: number;
  configs: Record<string, string>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

// The keyed topics share one partition count so an item lands on the same partition number in each (the
// default partitioner hashes the key modulo the count): a processor can keep per-partition state.
const KEYED_PARTITIONS = 12;

const dlqConfigs = {
  'cleanup.policy': 'delete',
  // Long enough to investigate a poison record and replay it once the cause is fixed.
  'retention.ms': String(30 * DAY_MS),
};

const primaryTopics: readonly TopicSpec[] = [
  {
    name: Topics.itemCommands,
    partitions: KEYED_PARTITIONS,
    // A command matters until it is decided; a week covers any consumer outage we would survive.
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
  },
  {
    name: Topics.itemEvents,
    partitions: KEYED_PARTITIONS,
    // Kept forever: every view is rebuilt by replaying this topic from offset 0.
    configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1', 'retention.bytes': '-1' },
  },
  {
    name: Topics.stockViews,
    partitions: KEYED_PARTITIONS,
    configs: {
      'cleanup.policy': 'compact',
      // Compact eagerly and roll segments every minute (only closed segments are compacted), so a demo
      // shows one view per item within minutes; a busy production cluster may raise both.
      'min.cleanable.dirty.ratio': '0.01',
      'segment.ms': String(60 * 1000),
    },
  },
  {
    name: Topics.salesMetrics,
    partitions: 3,
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
  },
];

/**
 * Every topic with its partitions and configs, DLQs included. Replication factor and min.insync.replicas
 * are left to the cluster (1 on a single dev broker, 3 and 2 on a real cluster).
 */
export const topicCatalogue: readonly TopicSpec[] = Object.freeze([
  ...primaryTopics,
  ...primaryTopics.map((topic) => ({
    name: dlqTopicOf(topic.name as TopicName),
    partitions: 1,
    configs: { ...dlqConfigs },
  })),
]);

/** Which schemas may appear on each topic; anything else on it is a contract violation. */
export const schemasOnTopic = {
  [Topics.itemCommands]: ['ListItem', 'AdjustStock', 'BuyRequested'],
  [Topics.itemEvents]: ['ItemListed', 'StockAdjusted', 'ItemBought', 'PurchaseRejected', 'OutOfStock'],
  [Topics.stockViews]: ['StockView'],
  [Topics.salesMetrics]: ['SalesMetrics'],
} as const satisfies {
  readonly 'item-commands': readonly ItemCommandName[];
  readonly 'item-events': readonly ItemEventName[];
  readonly 'stock-views': readonly SchemaName[];
  readonly 'sales-metrics': readonly SchemaName[];
};

const topicBySchema = new Map<SchemaName, TopicName>(
  (Object.entries(schemasOnTopic) as [TopicName, readonly SchemaName[]][]).flatMap(([topic, names]) =>
    names.map((name): [SchemaName, TopicName] => [name, topic]),
  ),
);

/** The topic a record of this schema is written to. */
export function topicOf(name: SchemaName): TopicName {
  const topic = topicBySchema.get(name);
  if (topic === undefined) {
    throw new ContractError('CONTRACT_UNKNOWN_SCHEMA', `no topic carries schema ${String(name)}`);
  }
  return topic;
}
