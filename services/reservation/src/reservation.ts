// Composition root of the reservation service: consumes item-commands, decides each item's commands
// in one SQL transaction under the item's row lock, publishes the outbox to item-events, and only
// then lets the runner commit the Kafka offsets. A crash anywhere repeats work, never changes an outcome.
import {
  decodeRecordAs,
  encode,
  schemasOnTopic,
  Topics,
  type ItemCommand,
  type ItemEvent,
} from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  consumerReadiness,
  producerReady,
  runBatchConsumer,
  type BatchConsumer,
} from '@buy-now/kafka';
import {
  createConsumerMetrics,
  createMetrics,
  probe,
  startOpsServer,
  type Logger,
  type OpsServer,
} from '@buy-now/observability';
import { sqlDatabaseOf } from '@buy-now/config';
import { migrateDatabase } from '@buy-now/sql-schema';
import { openReservationStore } from './adapters/sql/index.js';
import type { ReservationConfig } from './config.js';
import {
  decideItemCommands,
  decisionKeysOf,
  groupCommandsByItem,
  toDecisionToPersist,
  type OutboxRecord,
  type OutboxRow,
  type ReservationStore,
} from './domain/index.js';

export interface RunningReservation {
  store: ReservationStore;
  consumer: BatchConsumer;
  /** host:port of GET /metrics, /healthz, /readyz. */
  opsAddress: string;
  /** Publishes every unpublished outbox row now (oldest first). */
  publishOutbox(): Promise<number>;
  stop(): Promise<void>;
}

// An unpublished outbox row older than this is an orphan the sweeper publishes.
const ORPHAN_AGE_MS = 10_000;

export async function startReservation(
  config: ReservationConfig,
  logger: Logger,
): Promise<RunningReservation> {
  const log = logger.child({});
  const metrics = createMetrics('reservation');
  const itemCommandsTopic = `${config.TOPIC_PREFIX}${Topics.itemCommands}`;
  const itemEventsTopic = `${config.TOPIC_PREFIX}${Topics.itemEvents}`;

  // PostgreSQL or SQL Server, as DATABASE_URL says. Migrations run on start, serialised across
  // instances by a lock of the database (an advisory lock, an application lock).
  const database = sqlDatabaseOf(config);
  await migrateDatabase(database, {
    onConnectionError: (error) => log.warn({ err: error }, 'migration connection failed'),
  });
  const store = openReservationStore(config, log);

  const kafka = createKafkaClient({
    brokers: [...config.KAFKA_BROKERS],
    clientId: 'reservation',
    logger: log,
  });
  const producer = createDurableProducer(kafka, { logger: log, lingerMs: config.KAFKA_LINGER_MS });
  await producer.connect();

  const decided = metrics.counter('commands_decided_total', 'Commands decided, by outcome', ['outcome']);
  const txSeconds = metrics.histogram(
    'item_transaction_seconds',
    'One item transaction',
    [],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  );

  const encodeEvent = (event: ItemEvent): OutboxRecord => {
    const record = encode(event.name, event.value);
    return { topic: itemEventsTopic, key: event.value.itemId, value: record.value, headers: record.headers };
  };

  const publishRows = async (rows: readonly OutboxRow[]): Promise<void> => {
    if (rows.length === 0) return;
    // Sends are queued in this order and the producer keeps it: an item's events reach the topic in
    // version order.
    await Promise.all(
      rows.map((row) =>
        producer.send({ topic: row.topic, key: row.key, value: row.value, headers: row.headers }),
      ),
    );
    await store.markPublished(rows.map((row) => row.id));
  };

  // Orphans: rows committed but never published (a crash, or a failed publish whose batch another
  // instance then took over). Rows younger than `minAgeMs` are left to the batch that wrote them, so
  // several instances do not publish each other's rows twice. One sweep at a time, oldest row first.
  let sweeping: Promise<number> = Promise.resolve(0);
  const publishOutbox = (minAgeMs = 0): Promise<number> => {
    const run = async (): Promise<number> => {
      let total = 0;
      for (;;) {
        const cutoff = Date.now() - minAgeMs;
        const rows = (await store.unpublishedOutbox(5_000)).filter((row) => row.createdAt <= cutoff);
        await publishRows(rows);
        total += rows.length;
        if (rows.length < 5_000) return total;
      }
    };
    sweeping = sweeping.catch(() => 0).then(run);
    return sweeping;
  };

  /** Decides one item's commands in one transaction; returns the outbox rows to publish, in order. */
  const decideItem = async (itemId: string, commands: ItemCommand[]): Promise<OutboxRow[]> => {
    const started = process.hrtime.bigint();
    const persisted = await store.decideForItem(itemId, decisionKeysOf(commands), (context) =>
      toDecisionToPersist(decideItemCommands({ ...context, now: Date.now() }, commands), encodeEvent),
    );
    txSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    const decision = persisted.decision.itemDecision;
    for (const purchase of decision.purchases) {
      decided.inc({ outcome: purchase.status });
      // One line per purchase at debug: with LOG_LEVEL=debug a purchaseId can be followed from the
      // gateway's admission through this decision to the views.
      log.debug(
        {
          purchaseId: purchase.purchaseId,
          itemId,
          buyerId: purchase.buyerId,
          status: purchase.status,
          reason: purchase.reason ?? undefined,
          itemVersion: purchase.itemVersion,
        },
        'purchase decided',
      );
    }
    for (const ignored of decision.ignored) {
      decided.inc({ outcome: 'ignored' });
      if (ignored.reason !== 'PURCHASE_ALREADY_DECIDED' && ignored.reason !== 'COMMAND_ALREADY_PROCESSED') {
        log.warn(
          { itemId, command: ignored.name, id: ignored.id, reason: ignored.reason },
          'command ignored',
        );
      }
    }
    // The item's rows left unpublished by an earlier failure come first, then this decision's.
    return persisted.outbox;
  };

  // Items of one batch are independent rows: their transactions may run side by side.
  const runLimited = async <T>(items: T[], limit: number, work: (item: T) => Promise<void>) => {
    let next = 0;
    const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    });
    await Promise.all(lanes);
  };

  await publishOutbox(); // rows a previous run committed but did not publish go first

  const allowed = schemasOnTopic[Topics.itemCommands];
  const groupId = `${config.TOPIC_PREFIX}reservation`;
  const consumer = await runBatchConsumer<ItemCommand>(kafka, {
    groupId,
    topics: [itemCommandsTopic],
    fromBeginning: true,
    logger: log,
    producerForDlq: producer,
    partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    fetchIntervalMs: config.KAFKA_FETCH_INTERVAL_MS,
    commitIntervalMs: config.KAFKA_COMMIT_INTERVAL_MS,
    heartbeatIntervalMs: 1_000,
    onBatchHandled: createConsumerMetrics(metrics)(groupId),
    decode: (record) => {
      const decoded = decodeRecordAs(allowed, record);
      return { name: decoded.name, value: decoded.value } as ItemCommand;
    },
    handleBatch: async (records, ctx) => {
      const commands = records.map((r) => r.message);
      const toPublish: OutboxRow[] = [];
      let handled = commands.length;
      if (config.DECIDE_MODE === 'single') {
        for (const [index, command] of commands.entries()) {
          toPublish.push(...(await decideItem(command.value.itemId, [command])));
          // Stopping: what was decided is published and committed; the rest is the next owner's.
          if (!ctx.isRunning()) {
            handled = index + 1;
            break;
          }
        }
      } else {
        const groups = [...groupCommandsByItem(commands)];
        await runLimited(groups, Math.max(1, config.DB_POOL_SIZE - 1), async ([itemId, itemCommands]) => {
          toPublish.push(...(await decideItem(itemId, itemCommands)));
        });
      }
      // Only this batch's rows: other partitions' rows belong to their own batches (or instances).
      await publishRows(toPublish);
      log.debug({ partition: ctx.partition, commands: handled }, 'batch decided and published');
      return { handled };
    },
  });

  const sweeper = setInterval(() => {
    publishOutbox(ORPHAN_AGE_MS).catch((error: unknown) =>
      log.warn({ err: error }, 'outbox publish failed; will retry'),
    );
  }, config.OUTBOX_SWEEP_MS);
  sweeper.unref();

  let ops: OpsServer | undefined;
  ops = await startOpsServer({
    metrics,
    logger: log,
    host: config.OPS_HOST,
    port: config.OPS_PORT,
    readiness: async () => [
      await probe('sql', () => store.ping()),
      await probe('kafka', () => producerReady(producer)),
      consumerReadiness('item-commands-consumer', consumer),
    ],
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('reservation stopping: finishing the batch in hand');
      clearInterval(sweeper);
      await consumer.stop(); // the batch in hand finishes, is published and committed
      await publishOutbox().catch((error: unknown) =>
        log.warn({ err: error }, 'outbox left for the next start'),
      );
      await producer.stop();
      await store.close();
      await ops?.close();
      ops = undefined;
      log.info('reservation stopped');
    })());

  return { store, consumer, opsAddress: ops.address, publishOutbox, stop };
}
