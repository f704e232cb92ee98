// Composition root of the stream processor: consumes item-events and keeps every view folded from it
// up to date. Per batch: read the views of the batch's items, fold the events in order, publish each
// changed view to stock-views, write it to the Redis read model, count the sales, and only then let the
// runner commit the offsets. A crash anywhere repeats work; versions make the repeat change nothing.
import {
  ALL_ITEMS,
  decodeRecordAs,
  encode,
  schemasOnTopic,
  type ViewSource,
  Topics,
  type ItemEvent,
  type SalesMetrics,
  type StockView,
} from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  consumerReadiness,
  producerReady,
  runBatchConsumer,
  type BatchConsumer,
  type DecodedRecord,
  type DurableProducer,
} from '@buy-now/kafka';
import {
  createConsumerMetrics,
  createMetrics,
  probe,
  startOpsServer,
  type Logger,
  type OpsServer,
} from '@buy-now/observability';
import { createStockViewStore, type StockViewStore } from '@buy-now/read-model';
import { Redis } from 'ioredis';
import { stockViewRecord } from './adapters/kafka/view-records.js';
import { createSalesStateStore } from './adapters/redis/sales-state-store.js';
import { namesOf, type StreamProcessorConfig } from './config.js';
import { salesFactOf, type SalesFact } from './domain/sales-metrics.js';
import { foldStockViews } from './domain/stock-view.js';
import { StreamProcessorError } from './domain/errors.js';
import { createSalesMetricsRecorder, type SalesMetricsRecorder } from './sales-metrics-recorder.js';
import { createViewsRestorer } from './views-restore.js';

export interface RunningStreamProcessor {
  consumer: BatchConsumer;
  views: StockViewStore;
  sales: SalesMetricsRecorder;
  /** host:port of GET /metrics, /healthz, /readyz. */
  opsAddress: string;
  /** Finishes the batch in hand (committed), flushes the producer, closes connections. */
  stop(): Promise<void>;
}

/** Items of one batch folded or counted at the same time. */
const ITEMS_CONCURRENTLY = 16;

export async function startStreamProcessor(
  config: StreamProcessorConfig,
  logger: Logger,
): Promise<RunningStreamProcessor> {
  const log = logger.child({});
  const names = namesOf(config);
  const metrics = createMetrics('stream-processor');
  const eventsFolded = metrics.counter('events_folded_total', 'item-events folded into the views', ['event']);
  const viewsPublished = metrics.counter('views_published_total', 'Changed stock views published');

  const redis = new Redis(config.REDIS_URL, {
    // Fail a command fast: the runner retries the whole batch with backoff, which is what we want.
    maxRetriesPerRequest: 2,
    connectTimeout: 2_000,
    lazyConnect: true,
    // A batch's reads and writes, issued in one tick, go out in one write instead of one system call each.
    enableAutoPipelining: true,
  });
  redis.on('error', (error: unknown) => log.warn({ err: error }, 'Redis connection error'));
  await redis.connect();

  const views = createStockViewStore({ redis, prefix: config.REDIS_KEY_PREFIX });
  const kafka = createKafkaClient({
    brokers: [...config.KAFKA_BROKERS],
    clientId: 'stream-processor',
    logger: log,
  });
  const producer = createDurableProducer(kafka, { logger: log, lingerMs: config.KAFKA_LINGER_MS });
  const abandon = async (error: unknown): Promise<never> => {
    await producer.stop().catch(() => undefined);
    redis.disconnect();
    throw error;
  };
  await producer.connect().catch(abandon);

  const sales = createSalesMetricsRecorder({
    store: createSalesStateStore({ redis, prefix: config.REDIS_KEY_PREFIX }),
    publish: (records) => publishSalesMetrics(producer, names.salesMetricsTopic, records),
    windowMs: config.METRICS_WINDOW_MS,
    graceMs: config.METRICS_GRACE_MS,
    clock: () => Date.now(),
    logger: log,
  });

  const restorer = createViewsRestorer({
    redis,
    kafka,
    views,
    topic: names.stockViewsTopic,
    sourceTopic: names.itemEventsTopic,
    publish: async (positioned) => {
      await Promise.all(
        positioned.map(({ view, source }) =>
          producer.send(stockViewRecord(names.stockViewsTopic, view, source)),
        ),
      );
    },
    groupPrefix: config.TOPIC_PREFIX,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    logger: log,
    timeoutMs: 60_000,
  });
  const restoreIfLost = () =>
    restorer
      .restoreIfLost()
      .catch((error: unknown) => log.warn({ err: error }, 'restoring the read model failed; will retry'));

  const readOptions = {
    // Folded as if absent: that item waits for a rebuild, the rest of the partition carries on.
    onInvalid: (itemId: string, error: Error) =>
      log.error({ itemId, err: error }, 'stored view unreadable; rebuild the views'),
  };

  /** One partition's batch, in offset order. */
  const foldBatch = async (records: DecodedRecord<ItemEvent>[]): Promise<number> => {
    const events = records.map((record) => record.message);
    const itemIds = [...new Set(events.map((event) => event.value.itemId))];
    // The marker is asked first on the same connection, so views read after a present marker were there
    // (unless Redis lost them in between: checked after the fold).
    const [lost, read] = await Promise.all([restorer.isLost(), views.getMany(itemIds, readOptions)]);
    let stored = read;
    if (lost) {
      await restorer.restoreIfLost();
      stored = await views.getMany(itemIds, readOptions);
    }
    const fold = foldStockViews(stored, events);
    if (fold.anomalies.some((a) => a.kind === 'no-listing') && (await restorer.isLost())) {
      // Redis lost its data between the marker and the views: fold again once they are restored.
      throw new StreamProcessorError('VIEWS_LOST', 'the read model was lost while this batch was folded');
    }
    for (const anomaly of fold.anomalies) log.warn(anomaly, 'item event does not follow its view');
    for (const event of events) {
      eventsFolded.inc({ event: event.name });
      if (event.name === 'ItemBought' || event.name === 'PurchaseRejected') {
        log.debug(
          { purchaseId: event.value.purchaseId, itemId: event.value.itemId, event: event.name },
          'purchase folded into the views',
        );
      }
    }
    const changed = [...fold.changed].map((itemId) => fold.views.get(itemId) as StockView);
    // Each view names the last event of its item folded in this batch: where a restore refolds from.
    const reached = new Map<string, ViewSource>();
    for (const record of records) {
      reached.set(record.message.value.itemId, {
        partition: record.partition,
        offset: BigInt(record.offset),
      });
    }
    // stock-views first: had Redis been written first, a crash in between would leave a view that the
    // redelivered events no longer change, and so would never be published.
    await Promise.all(
      changed.map((view) =>
        producer.send(stockViewRecord(names.stockViewsTopic, view, reached.get(view.itemId) as ViewSource)),
      ),
    );
    await views.applyMany(changed);
    viewsPublished.inc(changed.length);

    const factsBySeries = new Map<string, SalesFact[]>();
    const addFact = (series: string, fact: SalesFact) => {
      const facts = factsBySeries.get(series);
      if (facts === undefined) factsBySeries.set(series, [fact]);
      else facts.push(fact);
    };
    for (const event of events) {
      const fact = salesFactOf(event);
      if (fact === null) continue;
      addFact(fact.itemId, fact);
      if (fact.kind === 'bought') addFact(ALL_ITEMS, fact);
    }
    await inParallel([...factsBySeries], ITEMS_CONCURRENTLY, ([series, facts]) =>
      sales.record(series, facts),
    );
    return changed.length;
  };

  await restoreIfLost();

  const allowed = schemasOnTopic[Topics.itemEvents];
  const consumer = await runBatchConsumer<ItemEvent>(kafka, {
    groupId: names.groupId,
    topics: [names.itemEventsTopic],
    fromBeginning: true,
    logger: log,
    producerForDlq: producer,
    partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    fetchIntervalMs: config.KAFKA_FETCH_INTERVAL_MS,
    commitIntervalMs: config.KAFKA_COMMIT_INTERVAL_MS,
    heartbeatIntervalMs: Math.min(3_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 3)),
    onBatchHandled: createConsumerMetrics(metrics)(names.groupId),
    decode: (record) => {
      const decoded = decodeRecordAs(allowed, record);
      return { name: decoded.name, value: decoded.value } as ItemEvent;
    },
    handleBatch: async (records, ctx) => {
      const changed = await foldBatch(records);
      log.debug({ partition: ctx.partition, events: records.length, changed }, 'batch folded');
    },
  }).catch(abandon);

  // Windows of series that went quiet close on the wall clock; one pass at a time.
  let ticking: Promise<unknown> = Promise.resolve();
  const timer = setInterval(
    () => {
      ticking = ticking
        .then(() => sales.closeDueWindows())
        .catch((error: unknown) => log.warn({ err: error }, 'closing sales windows failed; will retry'));
    },
    Math.max(50, Math.min(250, config.METRICS_GRACE_MS)),
  );
  timer.unref();
  // Redis may lose its data at any time; every instance checks each second (versioned writes make two
  // restores at once harmless).
  let restoring: Promise<unknown> | undefined;
  const restoreTimer = setInterval(() => {
    restoring ??= restoreIfLost().finally(() => {
      restoring = undefined;
    });
  }, 1_000);
  restoreTimer.unref();

  let ops: OpsServer | undefined;
  ops = await startOpsServer({
    metrics,
    logger: log,
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    readiness: async () => [
      await probe('redis', () => redis.ping()),
      await probe('kafka', () => producerReady(producer)),
      consumerReadiness('item-events-consumer', consumer),
    ],
  }).catch(async (error: unknown) => {
    await consumer.stop();
    return abandon(error);
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('stream-processor stopping: finishing the batch in hand');
      clearInterval(timer);
      clearInterval(restoreTimer);
      await ticking;
      await restoring;
      await consumer.stop();
      await producer.stop();
      await redis.quit().catch(() => redis.disconnect());
      await ops?.close();
      ops = undefined;
      log.info('stream-processor stopped');
    })());

  return { consumer, views, sales, opsAddress: ops.address, stop };
}

async function publishSalesMetrics(
  producer: DurableProducer,
  topic: string,
  records: readonly SalesMetrics[],
): Promise<void> {
  await Promise.all(records.map((record) => producer.send({ topic, ...encode('SalesMetrics', record) })));
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}
