// Brings the read model back from the compacted stock-views topic after Redis lost its data (DESIGN,
// Recovery: "the read model from the compacted topics"). A marker key, `${prefix}views-epoch`, is set
// once the read model is whole; a Redis that lost its data has lost the marker too. Without it, the
// topic is read from its first offset to the end offsets captured at the start, the latest view of each
// item is written with the usual versioned write (a newer view written meanwhile wins), and only then
// is the marker set. No event is folded while the marker is missing: an event for an item whose view
// is gone could not be folded (no listing to start from) and its change would be lost.
import { randomUUID } from 'node:crypto';
import { decodeRecordAs, schemasOnTopic, Topics, type StockView } from '@buy-now/contracts';
import type { KafkaClient } from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';
import type { StockViewStore } from '@buy-now/read-model';
import type { Redis } from 'ioredis';
import { replayTopic } from './adapters/kafka/topic-replay.js';

export interface ViewsRestorer {
  readonly markerKey: string;
  /** True when the marker is missing: the read model must be restored before anything is folded. */
  isLost(): Promise<boolean>;
  /** Restores when the marker is missing (one pass at a time); the items written, or null if not lost. */
  restoreIfLost(): Promise<number | null>;
}

export interface ViewsRestorerOptions {
  redis: Redis;
  kafka: KafkaClient;
  views: StockViewStore;
  /** The stock-views topic, with its prefix. */
  topic: string;
  /** Prefix of the throwaway consumer group (the TOPIC_PREFIX). */
  groupPrefix: string;
  redisKeyPrefix: string;
  logger: Logger;
  /** Default 120 s. */
  timeoutMs?: number;
}

const WRITE_CHUNK = 500;

export function viewsEpochKey(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}views-epoch`;
}

export function createViewsRestorer(options: ViewsRestorerOptions): ViewsRestorer {
  const { redis, views, logger } = options;
  const markerKey = viewsEpochKey(options.redisKeyPrefix);
  const allowed = schemasOnTopic[Topics.stockViews];
  let running: Promise<number | null> | undefined;

  const isLost = async () => (await redis.exists(markerKey)) === 0;

  const restore = async (): Promise<number | null> => {
    if (!(await isLost())) return null;
    const started = Date.now();
    const latest = new Map<string, StockView>();
    let undecodable = 0;
    const replay = await replayTopic<StockView | null>(options.kafka, {
      topic: options.topic,
      groupId: `${options.groupPrefix}views-restore-${randomUUID()}`,
      logger,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      decode: (record) => {
        if (record.value === null) return null;
        try {
          return decodeRecordAs(allowed, record).value;
        } catch {
          undecodable++;
          return null;
        }
      },
      onRecords: (records) => {
        for (const { message: view } of records) {
          if (view === null) continue;
          const seen = latest.get(view.itemId);
          if (seen === undefined || view.version > seen.version) latest.set(view.itemId, view);
        }
      },
    });
    const all = [...latest.values()];
    let written = 0;
    for (let i = 0; i < all.length; i += WRITE_CHUNK) {
      written += (await views.applyMany(all.slice(i, i + WRITE_CHUNK))).filter(Boolean).length;
    }
    await redis.set(markerKey, new Date().toISOString());
    const report = {
      items: all.length,
      written,
      records: replay.records,
      undecodable,
      tookMs: Date.now() - started,
    };
    if (all.length > 0) logger.warn(report, 'read model restored from stock-views (Redis had lost it)');
    else logger.info(report, 'read model marked whole (stock-views had nothing to restore)');
    return written;
  };

  return {
    markerKey,
    isLost,
    restoreIfLost() {
      running ??= restore().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
