// Brings the read model back from the compacted stock-views topic after Redis lost its data (DESIGN,
// Recovery: "the read model from the compacted topics"). A marker key, `${prefix}views-epoch`, is set
// once the read model is whole; a Redis that lost its data has lost the marker too. Without it:
// 1. stock-views is read from its first offset to the end offsets captured at the start, keeping the
//    highest version of each item;
// 2. item-events is refolded into those views from the oldest position they name (their view-source
//    header). Compaction keeps the last write per key, not the highest version: an instance that lost its
//    partition may publish an older view after the new owner's newer one, and once compacted that older
//    view is all the topic holds. The refold brings it up to date from its own position, and the views
//    it changed are published again, so the topic heals too. A view without the header (written before
//    it existed) makes the refold start at item-events' first offset: the cost of a rebuild, but right;
// 3. the views are written with the usual versioned write (a newer view written meanwhile wins), and
//    only then is the marker set.
// No event is folded while the marker is missing: an event for an item whose view is gone could not be
// folded (no listing to start from) and its change would be lost.
import { randomUUID } from 'node:crypto';
import {
  decodeRecordAs,
  HeaderNames,
  headerText,
  parseViewSource,
  schemasOnTopic,
  Topics,
  type ItemEvent,
  type StockView,
  type ViewSource,
} from '@buy-now/contracts';
import type { KafkaClient } from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';
import type { StockViewStore } from '@buy-now/read-model';
import type { Redis } from 'ioredis';
import { replayTopic } from './adapters/kafka/topic-replay.js';
import { evolveStockView } from './domain/stock-view.js';

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
  /** The item-events topic the views are folded from, with its prefix. */
  sourceTopic: string;
  /** Publishes to stock-views the views the refold changed, each with the position it reached. */
  publish: (views: readonly { view: StockView; source: ViewSource }[]) => Promise<void>;
  /** Prefix of the throwaway consumer group (the TOPIC_PREFIX). */
  groupPrefix: string;
  redisKeyPrefix: string;
  logger: Logger;
  /** Default 120 s. */
  timeoutMs?: number;
}

/** A view and the item-events position it was folded up to (unknown for a view without the header). */
export interface PositionedView {
  view: StockView;
  source: ViewSource | undefined;
}

const WRITE_CHUNK = 500;

/**
 * Where the refold starts on each item-events partition: right after the oldest position any view
 * names there. Undefined (every partition from its first offset) when a view names no position.
 */
export function refoldStart(views: Iterable<PositionedView>): Map<number, bigint> | undefined {
  const from = new Map<number, bigint>();
  for (const { source } of views) {
    if (source === undefined) return undefined;
    const next = source.offset + 1n;
    const seen = from.get(source.partition);
    if (seen === undefined || next < seen) from.set(source.partition, next);
  }
  return from;
}

const isLater = (a: ViewSource | undefined, b: ViewSource | undefined) =>
  a !== undefined && (b === undefined || (a.partition === b.partition && a.offset > b.offset));

export function viewsEpochKey(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}views-epoch`;
}

export function createViewsRestorer(options: ViewsRestorerOptions): ViewsRestorer {
  const { redis, views, logger } = options;
  const markerKey = viewsEpochKey(options.redisKeyPrefix);
  const allowed = schemasOnTopic[Topics.stockViews];
  const eventSchemas = schemasOnTopic[Topics.itemEvents];
  let running: Promise<number | null> | undefined;

  const isLost = async () => (await redis.exists(markerKey)) === 0;

  const restore = async (): Promise<number | null> => {
    if (!(await isLost())) return null;
    const started = Date.now();
    const latest = new Map<string, PositionedView>();
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
        for (const record of records) {
          const view = record.message;
          if (view === null) continue;
          const source = parseViewSource(headerText(record.headers, HeaderNames.viewSource));
          const seen = latest.get(view.itemId);
          if (
            seen === undefined ||
            view.version > seen.view.version ||
            (view.version === seen.view.version && isLater(source, seen.source))
          ) {
            latest.set(view.itemId, { view, source });
          }
        }
      },
    });

    const refold = await refoldSince(latest);
    // Every view the refold changed names the event that changed it.
    const changed = [...refold.changed].map(
      (itemId) => latest.get(itemId) as PositionedView & { source: ViewSource },
    );
    // stock-views first, as the live fold does: the topic must never lag the read model.
    for (let i = 0; i < changed.length; i += WRITE_CHUNK) {
      await options.publish(changed.slice(i, i + WRITE_CHUNK));
    }
    const all = [...latest.values()].map(({ view }) => view);
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
      refoldedFrom:
        refold.from === undefined
          ? 'first offsets'
          : Object.fromEntries([...refold.from].map(([partition, offset]) => [partition, String(offset)])),
      eventsRefolded: refold.events,
      viewsBroughtUpToDate: changed.length,
      tookMs: Date.now() - started,
    };
    if (all.length > 0) logger.warn(report, 'read model restored from stock-views (Redis had lost it)');
    else logger.info(report, 'read model marked whole (stock-views had nothing to restore)');
    return written;
  };

  /** Folds item-events into the restored views from the positions they name; updates them in place. */
  const refoldSince = async (latest: Map<string, PositionedView>) => {
    const from = refoldStart(latest.values());
    const changed = new Set<string>();
    let events = 0;
    await replayTopic<ItemEvent | null>(options.kafka, {
      topic: options.sourceTopic,
      groupId: `${options.groupPrefix}views-refold-${randomUUID()}`,
      logger,
      ...(from === undefined ? {} : { from }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      // A record that cannot be decoded was dead-lettered when it was first read: nothing to fold.
      decode: (record) => {
        try {
          const decoded = decodeRecordAs(eventSchemas, record);
          return { name: decoded.name, value: decoded.value } as ItemEvent;
        } catch {
          return null;
        }
      },
      onRecords: (records) => {
        for (const record of records) {
          const event = record.message;
          if (event === null) continue;
          events++;
          const { itemId } = event.value;
          const seen = latest.get(itemId);
          const before = seen?.view ?? null;
          const after = evolveStockView(before, event);
          const source = { partition: record.partition, offset: BigInt(record.offset) };
          if (after === null) continue;
          latest.set(itemId, { view: after, source });
          if (after !== before) changed.add(itemId);
        }
      },
    });
    return { from, changed, events };
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
