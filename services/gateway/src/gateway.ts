// Composition root: builds the gateway's adapters from its config, starts its background work, and
// stops everything in the order that loses nothing.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { Topics } from '@buy-now/contracts';
import {
  createDurableProducer,
  createKafkaClient,
  fetchConsumerGroupLag,
  producerReady,
  type BatchConsumer,
} from '@buy-now/kafka';
import { createConsumerMetrics, createMetrics, type Logger } from '@buy-now/observability';
import { createStockViewStore } from '@buy-now/read-model';
import { buildGatewayApp } from './app.js';
import type { GatewayConfig } from './config.js';
import { createCommandPublisher } from './adapters/kafka/command-publisher.js';
import { startEventFollower } from './adapters/kafka/event-follower.js';
import {
  startSalesMetricsFollower,
  type SalesMetricsFollower,
} from './adapters/kafka/sales-metrics-follower.js';
import { startStockViewFollower, type StockViewFollower } from './adapters/kafka/stock-view-follower.js';
import { createAdminRequests } from './adapters/redis/admin-requests.js';
import { createOutcomeBus } from './adapters/redis/outcome-bus.js';
import { createBuyerGuard } from './adapters/http/buyer-guard.js';
import { createRateLimiter } from './adapters/redis/rate-limiter.js';
import { createReadModelCatalogue } from './adapters/redis/read-model-catalogue.js';
import { createRedisPurchaseGate } from './adapters/redis/redis-purchase-gate.js';
import { createGateRebuilder } from './adapters/sql/gate-rebuilder.js';
import { createPurchaseArchive } from './adapters/sql/purchase-archive.js';
import { openReservationReads } from './adapters/sql/reservation-reads.js';
import { createLiveHub } from './adapters/ws/live-hub.js';
import { finishStuckAdmissions } from './domain/finish-stuck-admissions.js';
import { createSoldOutMemo, withSoldOutMemo } from './domain/sold-out-memo.js';
import type { DependencyHealth } from './domain/ports.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface RunningGateway {
  app: FastifyInstance;
  /** host:port it listens on. */
  address: string;
  stop(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  const gatewayId = config.GATEWAY_ID ?? `${hostname()}-${process.pid}`;
  const log = logger.child({ gatewayId });
  const metrics = createMetrics('gateway');
  const skewMs = config.CLOCK_SKEW_MS;
  const clock = skewMs === 0 ? () => Date.now() : () => Date.now() + skewMs;
  if (skewMs !== 0) log.warn({ skewMs }, 'clock skewed on purpose (a fault of a test run)');

  const redis = new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    lazyConnect: true,
    // Every command issued in one tick goes out in one write: under load that is one system call for
    // many requests' gate and rate-limit calls instead of one each (the writes were a third of the
    // gateway's time in the flash sale). Order on the connection is kept.
    enableAutoPipelining: true,
  });
  // Pub/sub has no use for it (and a subscribed connection takes no other commands).
  const subscriber = redis.duplicate({ enableAutoPipelining: false });
  // ioredis reconnects by itself; without a listener each failure would go to the console, unstructured.
  redis.on('error', (error: unknown) => log.warn({ err: error }, 'Redis connection error'));
  subscriber.on('error', (error: unknown) => log.warn({ err: error }, 'Redis subscriber connection error'));
  await Promise.all([redis.connect(), subscriber.connect()]);
  // The reservation's tables, read through the one module that knows both dialects.
  const reads = openReservationReads(config, log);

  const kafka = createKafkaClient({
    brokers: [...config.KAFKA_BROKERS],
    clientId: `gateway-${gatewayId}`,
    logger: log,
  });
  const producerBatches = metrics.histogram(
    'produce_batch_records',
    'Records per produce request',
    [],
    [1, 10, 50, 100, 250, 500, 1000],
  );
  const produceSeconds = metrics.histogram('produce_duration_seconds', 'Produce request latency (acks=all)', [
    'outcome',
  ]);
  const producer = createDurableProducer(kafka, {
    logger: log,
    lingerMs: config.KAFKA_LINGER_MS,
    onBatch: (outcome) => {
      producerBatches.observe(outcome.records);
      produceSeconds.observe({ outcome: outcome.error ? 'failed' : 'ok' }, outcome.durationMs / 1000);
    },
  });

  const soldOut = createSoldOutMemo({ clock: () => Date.now(), ttlMs: config.SOLD_OUT_MEMO_MS });
  const refusedLocally = metrics.counter(
    'sold_out_refused_locally_total',
    'Buy-now requests refused SOLD_OUT from what the gate last said, without a gate round trip',
  );
  const gate = withSoldOutMemo(createRedisPurchaseGate({ redis, keyPrefix: config.REDIS_KEY_PREFIX }), {
    memo: soldOut,
    // The bus exists before anything can reopen an item (the rebuild and the follower start after it).
    announceReopened: (itemId) => bus.announceReopened(itemId),
    onRefusedLocally: () => refusedLocally.inc(),
    onLearnFailed: (itemId, error) =>
      log.debug({ itemId, err: error }, 'sold-out item not remembered: its buyers could not be read'),
  });
  // The stream processor's read model, under the same key prefix.
  const items = createReadModelCatalogue({
    views: createStockViewStore({ redis, prefix: config.REDIS_KEY_PREFIX }),
    clock,
    logger: log,
  });
  const archive = createPurchaseArchive(reads);
  const buyerGuard = createBuyerGuard({
    secret: config.BUYER_TOKEN_SECRET,
    limiter: createRateLimiter({ redis, keyPrefix: config.REDIS_KEY_PREFIX }),
    clock,
    limits: {
      buyNowPerIp: { max: config.RATE_LIMIT_IP_MAX, windowMs: config.RATE_LIMIT_IP_WINDOW_SECONDS * 1000 },
      buyNowPerBuyer: {
        max: config.RATE_LIMIT_BUYER_MAX,
        windowMs: config.RATE_LIMIT_BUYER_WINDOW_SECONDS * 1000,
      },
      tokenIssuePerIp: {
        max: config.RATE_LIMIT_TOKEN_ISSUE_MAX,
        windowMs: config.RATE_LIMIT_TOKEN_ISSUE_WINDOW_SECONDS * 1000,
      },
    },
  });
  if (config.DEMO_MODE) log.warn('DEMO_MODE: anyone may get a buyer token and the seed API trusts its body');
  const bus = createOutcomeBus({
    publisher: redis,
    subscriber,
    channel: `${config.REDIS_KEY_PREFIX}purchase-outcomes`,
  });
  bus.onReopened((itemIds) => {
    for (const itemId of itemIds) soldOut.reopen(itemId);
  });
  await bus.start();
  const rebuilder = createGateRebuilder({ reads, gate, logger: log });
  await rebuilder.rebuildIfLost();

  const followerGroup = `${config.TOPIC_PREFIX}gateway-follower`;
  let follower: BatchConsumer | undefined;
  follower = await startEventFollower({
    client: kafka,
    groupId: followerGroup,
    topic: `${config.TOPIC_PREFIX}${Topics.itemEvents}`,
    gate,
    bus,
    logger: log,
    producerForDlq: producer,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    fetchIntervalMs: config.KAFKA_FETCH_INTERVAL_MS,
    commitIntervalMs: config.KAFKA_COMMIT_INTERVAL_MS,
    onBatchHandled: createConsumerMetrics(metrics)(followerGroup),
  });

  let metricsFollower: SalesMetricsFollower | undefined;
  const hub = createLiveHub({
    catalogue: items,
    recentMetrics: () => metricsFollower?.recent() ?? [],
    findPurchase: async (purchaseId) =>
      (await gate.getPurchase(purchaseId)) ?? (await archive.findPurchase(purchaseId)),
    decisions: bus,
    clock,
    logger: log,
    metrics,
    limits: {
      maxConnections: config.WS_MAX_CONNECTIONS,
      maxSubscriptions: config.WS_MAX_SUBSCRIPTIONS,
      maxWatches: config.WS_MAX_WATCHES,
      heartbeatMs: config.WS_HEARTBEAT_MS,
      maxBadMessages: 10,
      send: {
        softLimitBytes: config.WS_SOFT_BUFFER_BYTES,
        hardLimitBytes: config.WS_HARD_BUFFER_BYTES,
        flushIntervalMs: 100,
        closeGraceMs: 5_000,
      },
    },
  });
  let liveFollower: StockViewFollower | undefined;
  liveFollower = await startStockViewFollower({
    client: kafka,
    groupId: `${config.TOPIC_PREFIX}gateway-ws-${gatewayId}`,
    topic: `${config.TOPIC_PREFIX}${Topics.stockViews}`,
    logger: log,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    fetchIntervalMs: config.KAFKA_FETCH_INTERVAL_MS,
    commitIntervalMs: config.KAFKA_COMMIT_INTERVAL_MS,
    onViews: (views) => {
      for (const view of views) soldOut.observeView(view.itemId, view.version, view.available);
      hub.publish(views);
    },
  });
  // The group starts at the end of stock-views once it has joined: views published before that reach
  // clients through the read model. Listening waits for the join (bounded), and a late join resends
  // every subscriber its current views, so no change falls in between.
  const joined = liveFollower.joined.then(() => true);
  void joined
    .then(() => hub.resync())
    .catch((error: unknown) => log.warn({ err: error }, 'live views resync failed'));
  const joinedInTime = await Promise.race([joined, sleep(10_000).then(() => false)]);
  if (!joinedInTime) log.warn('stock-views group not joined yet; live views resync once it is');

  metricsFollower = await startSalesMetricsFollower({
    client: kafka,
    groupId: `${config.TOPIC_PREFIX}gateway-metrics-${gatewayId}`,
    topic: `${config.TOPIC_PREFIX}${Topics.salesMetrics}`,
    logger: log,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    fetchIntervalMs: config.KAFKA_FETCH_INTERVAL_MS,
    commitIntervalMs: config.KAFKA_COMMIT_INTERVAL_MS,
    onMetrics: (records) => hub.publishMetrics(records),
  });

  // Consumer lag for dashboards: polled only while some connection follows it.
  const lagGroups = [
    { group: 'reservation', groupId: `${config.TOPIC_PREFIX}reservation`, topic: Topics.itemCommands },
    {
      group: 'stream-processor',
      groupId: `${config.TOPIC_PREFIX}stream-processor`,
      topic: Topics.itemEvents,
    },
    {
      group: 'gateway-follower',
      groupId: `${config.TOPIC_PREFIX}gateway-follower`,
      topic: Topics.itemEvents,
    },
  ].map((g) => ({ ...g, topic: `${config.TOPIC_PREFIX}${g.topic}` }));
  let polling = false;
  const pollLag = () => {
    if (polling || hub.following('lag') === 0) return;
    polling = true;
    fetchConsumerGroupLag(kafka, lagGroups)
      .then((answers) =>
        hub.publishLag(
          answers.map((answer, i) => ({ ...answer, group: lagGroups[i]?.group ?? answer.groupId })),
          clock(),
        ),
      )
      .catch((error: unknown) => log.debug({ err: error }, 'consumer lag not read; will retry'))
      .finally(() => {
        polling = false;
      });
  };

  const commands = createCommandPublisher(producer, `${config.TOPIC_PREFIX}${Topics.itemCommands}`);
  const finishedAdmissions = metrics.counter(
    'reconciled_admissions_total',
    'Admitted purchases Kafka never acknowledged, published again by the reconciler',
  );
  let reconciling = false;
  const timers = [
    setInterval(() => {
      if (reconciling) return;
      reconciling = true;
      finishStuckAdmissions(
        {
          gate,
          commands,
          onFailed: (purchaseId, error) =>
            log.warn({ purchaseId, err: error }, 'stuck admission not published yet; will retry'),
        },
        config.RECONCILE_AFTER_MS,
      )
        .then((r) => {
          if (r.finished > 0) {
            finishedAdmissions.inc(r.finished);
            log.warn({ finished: r.finished }, 'published stuck admissions again');
          }
        })
        .catch((error: unknown) => log.warn({ err: error }, 'reconciler pass failed; will retry'))
        .finally(() => {
          reconciling = false;
        });
    }, config.RECONCILE_INTERVAL_MS),
    setInterval(() => {
      rebuilder
        .rebuildIfLost()
        .catch((error: unknown) => log.warn({ err: error }, 'gate rebuild failed; will retry'));
    }, 1_000),
    setInterval(pollLag, config.WS_LAG_INTERVAL_MS),
  ];
  for (const timer of timers) timer.unref();

  const health = {
    async check(): Promise<DependencyHealth[]> {
      const probe = async (name: string, run: () => Promise<unknown>): Promise<DependencyHealth> => {
        try {
          await run();
          return { name, ok: true };
        } catch (error) {
          // The reason stays in the log: an error text names hosts, ports and databases.
          log.warn({ err: error, dependency: name }, 'readiness check failed');
          return { name, ok: false, detail: 'unavailable (the gateway log says why)' };
        }
      };
      const followerHealth = follower?.health();
      const liveHealth = liveFollower?.consumer.health();
      return Promise.all([
        probe('redis', () => redis.ping()),
        probe('sql', () => reads.ping()),
        probe('kafka', () => producerReady(producer)),
        Promise.resolve<DependencyHealth>({
          name: 'item-events-follower',
          ok: followerHealth?.state === 'running',
          ...(followerHealth
            ? { detail: `${followerHealth.state}, ${followerHealth.recordsHandled} records` }
            : {}),
        }),
        Promise.resolve<DependencyHealth>({
          name: 'stock-views-follower',
          ok: liveHealth?.state === 'running',
          ...(liveHealth
            ? {
                detail: `${liveHealth.state}, ${liveHealth.recordsHandled} records, ${hub.connections()} clients`,
              }
            : {}),
        }),
      ]);
    },
  };

  const app = await buildGatewayApp(
    {
      gate,
      commands,
      adminRequests: createAdminRequests({ redis, keyPrefix: config.REDIS_KEY_PREFIX }),
      outcomes: bus,
      items,
      archive,
      health,
      metrics,
      clock,
      newId: randomUUID,
      gatewayId,
      adminToken: config.ADMIN_TOKEN,
      maxWaitSeconds: config.MAX_WAIT_SECONDS,
      listingWaitMs: 10_000,
      buyerGuard,
      ...(config.DEMO_MODE
        ? {
            demo: { tokenSecret: config.BUYER_TOKEN_SECRET, tokenTtlSeconds: config.BUYER_TOKEN_TTL_SECONDS },
          }
        : {}),
      onPublishFailed: (purchaseId, error) =>
        log.warn({ purchaseId, err: error }, 'publish failed; unit returned to sale'),
      onPublishUncertain: (purchaseId, error) =>
        log.warn({ purchaseId, err: error }, 'publish outcome unknown; the reconciler publishes it again'),
    },
    {
      logger: log,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      trustProxy: config.TRUST_PROXY,
      live: {
        hub,
        maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
        ...(config.WS_ALLOWED_ORIGINS ? { allowedOrigins: config.WS_ALLOWED_ORIGINS } : {}),
      },
    },
  );
  const address = await app.listen({ host: config.HOST, port: config.PORT, backlog: config.LISTEN_BACKLOG });
  log.info({ address }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('gateway stopping: no new requests, draining');
      for (const timer of timers) clearInterval(timer);
      bus.release(); // requests waiting for a decision (Prefer: wait) answer 202 pending now
      await app.close(); // stops accepting, closes live connections, waits for in-flight requests
      await producer.stop(); // flushes anything still queued
      await follower?.stop(); // finishes and commits the batch in hand
      follower = undefined;
      await liveFollower?.stop(); // and deletes this instance's group: nothing would resume it
      liveFollower = undefined;
      await metricsFollower?.stop();
      metricsFollower = undefined;
      await bus.stop();
      subscriber.disconnect();
      await redis.quit().catch(() => undefined);
      await reads.close();
      log.info('gateway stopped');
    })());
  return { app, address: address.replace(/^https?:\/\//, ''), stop };
}
