// Follows the compacted stock-views topic for this instance's WebSocket clients. Every gateway instance
// has a consumer group of its own (each must see every view) starting at the end of the topic: what came
// before is read from the read model when a client subscribes. Undecodable records are logged and
// skipped, not dead-lettered: every instance would dead-letter the same record, and the read model still
// has the view.
import { decodeRecordAs, schemasOnTopic, Topics, type StockView } from '@buy-now/contracts';
import { deleteGroups, runBatchConsumer, type BatchConsumer, type KafkaClient } from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';

export interface StockViewFollowerDeps {
  client: KafkaClient;
  /** Unique per instance, e.g. `${TOPIC_PREFIX}gateway-ws-${gatewayId}`; deleted on stop. */
  groupId: string;
  /** stock-views, possibly with a prefix. */
  topic: string;
  logger: Logger;
  sessionTimeoutMs?: number;
  /** See the batch consumer's fetchIntervalMs. */
  fetchIntervalMs?: number;
  /** See the batch consumer's commitIntervalMs. */
  commitIntervalMs?: number;
  /** The newest view of each item in a batch; must not block (it fans out to sockets). */
  onViews: (views: StockView[]) => void;
}

export interface StockViewFollower {
  consumer: BatchConsumer;
  /** Resolves once the group was joined, so every view published from then on will be seen. */
  joined: Promise<void>;
  /** Leaves and deletes the group: nothing would ever resume it. */
  stop(): Promise<void>;
}

export async function startStockViewFollower(deps: StockViewFollowerDeps): Promise<StockViewFollower> {
  const allowed = schemasOnTopic[Topics.stockViews];
  const consumer = await runBatchConsumer(deps.client, {
    groupId: deps.groupId,
    topics: [deps.topic],
    fromBeginning: false,
    logger: deps.logger,
    ...(deps.sessionTimeoutMs ? { sessionTimeoutMs: deps.sessionTimeoutMs } : {}),
    ...(deps.fetchIntervalMs ? { fetchIntervalMs: deps.fetchIntervalMs } : {}),
    ...(deps.commitIntervalMs ? { commitIntervalMs: deps.commitIntervalMs } : {}),
    handleBatch: (records) => {
      const newest = new Map<string, StockView>();
      for (const record of records) {
        if (record.value === null) continue; // a tombstone: nothing to show
        let view: StockView;
        try {
          view = decodeRecordAs(allowed, record).value;
        } catch (error) {
          deps.logger.warn(
            { err: error, partition: record.partition, offset: record.offset },
            'stock view undecodable; skipped (the read model still has the item)',
          );
          continue;
        }
        const seen = newest.get(view.itemId);
        if (seen === undefined || view.version > seen.version) newest.set(view.itemId, view);
      }
      if (newest.size > 0) deps.onViews([...newest.values()]);
      return Promise.resolve();
    },
  });

  let stopped = false;
  const joined = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (stopped || consumer.health().assignment.length > 0) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
  });

  return {
    consumer,
    joined,
    async stop() {
      stopped = true;
      await consumer.stop();
      await deleteGroups(deps.client, [deps.groupId]).catch((error: unknown) =>
        deps.logger.warn({ err: error, groupId: deps.groupId }, 'WebSocket stock-views group not deleted'),
      );
    },
  };
}
