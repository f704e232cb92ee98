// Follows sales-metrics for this instance's dashboards, like the stock-views follower: a consumer group of
// its own per instance (each must see every window) starting at the end of the topic, deleted on stop.
// It keeps the last windows in memory so a dashboard opened mid-sale draws the last minute at once.
// Undecodable records are logged and skipped (every instance would dead-letter the same record).
import { decodeAs, schemasOnTopic, Topics, type SalesMetrics } from '@buy-now/contracts';
import { deleteGroups, runBatchConsumer, type BatchConsumer, type KafkaClient } from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';

export interface SalesMetricsFollowerDeps {
  client: KafkaClient;
  /** Unique per instance, e.g. `${TOPIC_PREFIX}gateway-metrics-${gatewayId}`; deleted on stop. */
  groupId: string;
  /** sales-metrics, possibly with a prefix. */
  topic: string;
  logger: Logger;
  sessionTimeoutMs?: number;
  /** See the batch consumer's fetchIntervalMs. */
  fetchIntervalMs?: number;
  /** See the batch consumer's commitIntervalMs. */
  commitIntervalMs?: number;
  /** Windows kept per series (item or '*'). Default 120. */
  keepPerSeries?: number;
  /** The windows of a batch; must not block (it fans out to sockets). */
  onMetrics: (records: SalesMetrics[]) => void;
}

export interface SalesMetricsFollower {
  consumer: BatchConsumer;
  /** The windows kept, oldest first within each series. */
  recent(): SalesMetrics[];
  stop(): Promise<void>;
}

export async function startSalesMetricsFollower(
  deps: SalesMetricsFollowerDeps,
): Promise<SalesMetricsFollower> {
  const allowed = schemasOnTopic[Topics.salesMetrics];
  const keep = deps.keepPerSeries ?? 120;
  const series = new Map<string, Map<number, SalesMetrics>>();
  const remember = (record: SalesMetrics) => {
    let windows = series.get(record.itemId);
    if (windows === undefined) series.set(record.itemId, (windows = new Map<number, SalesMetrics>()));
    windows.set(record.windowStart, record);
    if (windows.size > keep) {
      const oldest = Math.min(...windows.keys());
      windows.delete(oldest);
    }
  };
  const consumer = await runBatchConsumer(deps.client, {
    groupId: deps.groupId,
    topics: [deps.topic],
    fromBeginning: false,
    logger: deps.logger,
    ...(deps.sessionTimeoutMs ? { sessionTimeoutMs: deps.sessionTimeoutMs } : {}),
    ...(deps.fetchIntervalMs ? { fetchIntervalMs: deps.fetchIntervalMs } : {}),
    ...(deps.commitIntervalMs ? { commitIntervalMs: deps.commitIntervalMs } : {}),
    handleBatch: (records) => {
      const windows: SalesMetrics[] = [];
      for (const record of records) {
        if (record.value === null) continue;
        try {
          windows.push(decodeAs(allowed, record.headers, record.value).value);
        } catch (error) {
          deps.logger.warn(
            { err: error, partition: record.partition, offset: record.offset },
            'sales-metrics record undecodable; skipped',
          );
        }
      }
      for (const window of windows) remember(window);
      if (windows.length > 0) deps.onMetrics(windows);
      return Promise.resolve();
    },
  });
  return {
    consumer,
    recent: () =>
      [...series.values()].flatMap((windows) =>
        [...windows.values()].sort((a, b) => a.windowStart - b.windowStart),
      ),
    async stop() {
      await consumer.stop();
      await deleteGroups(deps.client, [deps.groupId]).catch((error: unknown) =>
        deps.logger.warn({ err: error, groupId: deps.groupId }, 'sales-metrics group not deleted'),
      );
    },
  };
}
