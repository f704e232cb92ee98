// One fault-injection run: private servers, the services as supervised children (two gateways), a sale
// with restocks under a seeded fault schedule, a bounded quiesce, then the history check.
import { mkdirSync } from 'node:fs';
import { Topics } from '@buy-now/contracts';
import type { Logger } from '@buy-now/observability';
import { Redis } from 'ioredis';
import { closePostgresPool, createPostgresPool } from '@buy-now/sql-schema';
import type pg from 'pg';
import {
  CHAOS_BUYER_TOKEN_SECRET,
  createAdminClient,
  runBuyers,
  type AdminCall,
  type BuyAttempt,
  type Gateway,
  type ItemPlan,
} from './buyers.js';
import {
  injectFaults,
  planFaults,
  type FaultPlanOptions,
  type InjectedFault,
  type ServiceName,
} from './faults.js';
import { checkHistory, type Verdict } from './invariants.js';
import {
  askPurchaseStatuses,
  groupLag,
  readAdmissions,
  readItemEvents,
  readLatestStockViews,
  readReadModel,
  readSqlItems,
  readSqlPurchases,
  unpublishedOutboxRows,
} from './observe.js';
import { freePorts, startPrivateServers, type PrivateServers } from './private-servers.js';
import { createRandom } from './random.js';
import { superviseService, type SupervisedService } from './services.js';

export interface RunSize extends FaultPlanOptions {
  name: string;
  items: ItemPlan[];
  buyers: number;
  concurrency: number;
  /** ms between restocks (each of a random item). */
  restockEveryMs: number;
  quiesceTimeoutMs: number;
}

export const sizes: Record<'ci' | 'full', RunSize> = {
  ci: {
    name: 'ci',
    loadMs: 75_000,
    kills: 12,
    kafkaRestarts: 1,
    redisFlushes: 1,
    postgresRestarts: 1,
    produceAnswerLosses: 2,
    items: [
      { itemId: 'chaos-a', stock: 300, perBuyerLimit: 1 },
      { itemId: 'chaos-b', stock: 200, perBuyerLimit: 3 },
      { itemId: 'chaos-c', stock: 120, perBuyerLimit: 2 },
      { itemId: 'chaos-d', stock: 60, perBuyerLimit: 1 },
    ],
    buyers: 600,
    concurrency: 16,
    restockEveryMs: 4_000,
    quiesceTimeoutMs: 120_000,
  },
  full: {
    name: 'full',
    loadMs: 240_000,
    kills: 32,
    kafkaRestarts: 3,
    redisFlushes: 3,
    postgresRestarts: 3,
    produceAnswerLosses: 4,
    items: [
      { itemId: 'chaos-a', stock: 600, perBuyerLimit: 1 },
      { itemId: 'chaos-b', stock: 400, perBuyerLimit: 3 },
      { itemId: 'chaos-c', stock: 300, perBuyerLimit: 2 },
      { itemId: 'chaos-d', stock: 100, perBuyerLimit: 1 },
      { itemId: 'chaos-e', stock: 50, perBuyerLimit: 5 },
    ],
    buyers: 2_000,
    concurrency: 24,
    restockEveryMs: 3_000,
    quiesceTimeoutMs: 240_000,
  },
};

export interface RunResult {
  seed: number;
  size: string;
  /** gateway-a's clock ran this far ahead, gateway-b's this far behind. */
  clockSkewMs: number;
  startedAt: string;
  loadMs: number;
  faults: InjectedFault[];
  attempts: BuyAttempt[];
  adminCalls: AdminCall[];
  /** How each service process ended, and how many times it was started. */
  processes: Record<string, { starts: number; exits: number }>;
  quiesced: boolean;
  quiesceMs: number;
  sql: { confirmed: number; rejected: number; rejectedByReason: Record<string, number> };
  verdict: Verdict;
  logDir: string;
}

export const ADMIN_TOKEN = 'chaos-admin-token-0123456789abcdef';
const REDIS_KEY_PREFIX = 'bn:';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Stops of every system started and not yet stopped: run on Ctrl-C so nothing outlives the run. */
export const pendingStops = new Set<() => Promise<void>>();

export interface System {
  servers: PrivateServers;
  services: Map<ServiceName, SupervisedService>;
  gateways: Gateway[];
  pool: pg.Pool;
  redis: Redis;
  stop(): Promise<void>;
}

/** Private servers, migrations, and the four service processes, all ready; service logs go to logDir. */
export async function startSystem(
  logger: Logger,
  print: (line: string) => void,
  logDir: string,
  options: { clockSkewMs?: number } = {},
): Promise<System> {
  const servers = await startPrivateServers(logger);
  const services = new Map<ServiceName, SupervisedService>();
  let pool: pg.Pool | undefined;
  let redis: Redis | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all([...services.values()].map((s) => s.shutdown().catch(() => undefined)));
      if (pool) await closePostgresPool(pool).catch(() => undefined);
      redis?.disconnect();
      await servers.stop();
      pendingStops.delete(stop);
    })());
  pendingStops.add(stop);
  try {
    print(
      `servers: Kafka ${servers.kafkaBrokers}, ${servers.redisUrl}, ${servers.databaseUrl} (run folder ${servers.dir})`,
    );
    mkdirSync(logDir, { recursive: true });
    const common = {
      KAFKA_BROKERS: servers.kafkaBrokers,
      REDIS_URL: servers.redisUrl,
      DATABASE_URL: servers.databaseUrl,
      REDIS_KEY_PREFIX,
      LOG_LEVEL: 'info',
      // The broker's minimum: a killed process's partitions move on after 6 s.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };
    const gatewayPorts = await freePorts(2);
    const gateways: Gateway[] = gatewayPorts.map((port, i) => ({
      name: i === 0 ? 'gateway-a' : 'gateway-b',
      baseUrl: `http://127.0.0.1:${port}`,
    }));
    const onEvent = (line: string) => print(`  ${line}`);
    gateways.forEach((gateway, i) =>
      services.set(
        gateway.name as ServiceName,
        superviseService({
          name: gateway.name,
          kind: 'gateway',
          logDir,
          onEvent,
          env: {
            ...common,
            HOST: '127.0.0.1',
            PORT: String(gatewayPorts[i]),
            GATEWAY_ID: gateway.name,
            // The two gateways' clocks disagree by twice this: ahead on one, behind on the other.
            ...(options.clockSkewMs
              ? {
                  NODE_ENV: 'test',
                  CLOCK_SKEW_MS: String(i === 0 ? options.clockSkewMs : -options.clockSkewMs),
                }
              : {}),
            ADMIN_TOKEN,
            BUYER_TOKEN_SECRET: CHAOS_BUYER_TOKEN_SECRET,
            DEMO_MODE: 'false',
            // The run checks the invariants under faults, not the rate limits (their own suite does):
            // every buyer here shares 127.0.0.1, so both buy-now limits are raised out of the way.
            RATE_LIMIT_IP_MAX: '1000000000',
            RATE_LIMIT_BUYER_MAX: '1000000000',
            // Stuck admissions of a killed gateway go back on sale within ~4 s instead of 20.
            RECONCILE_AFTER_MS: '3000',
            RECONCILE_INTERVAL_MS: '500',
          },
        }),
      ),
    );
    services.set(
      'reservation',
      superviseService({
        name: 'reservation',
        kind: 'reservation',
        logDir,
        onEvent,
        env: { ...common, OUTBOX_SWEEP_MS: '500' },
      }),
    );
    services.set(
      'stream-processor',
      superviseService({ name: 'stream-processor', kind: 'stream-processor', logDir, onEvent, env: common }),
    );
    // The reservation service applies the migrations; the gateways read the schema at start.
    await services.get('reservation')?.ready();
    await Promise.all([...services.values()].map((s) => s.ready()));
    // PostgreSQL restarts are part of the run: an idle connection they end is expected.
    pool = createPostgresPool({
      connectionString: servers.databaseUrl,
      max: 4,
      onIdleError: () => undefined,
    });
    redis = new Redis(servers.redisUrl, { maxRetriesPerRequest: 3 });
    redis.on('error', () => undefined);
    return { servers, services, gateways, pool, redis, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits (bounded, with progress lines) until nothing is left in flight; true when it got there. */
export async function quiesce(
  system: System,
  accepted: readonly string[],
  timeoutMs: number,
  print: (line: string) => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let lastPrint = 0;
  for (;;) {
    let state: Record<string, number | string>;
    try {
      await Promise.all([...system.services.values()].map((s) => s.ready()));
      const [purchases, outbox, commandsLag, eventsLag, items, views] = await Promise.all([
        readSqlPurchases(system.pool),
        unpublishedOutboxRows(system.pool),
        groupLag(system.servers.kafka, 'reservation', Topics.itemCommands),
        groupLag(system.servers.kafka, 'stream-processor', Topics.itemEvents),
        readSqlItems(system.pool),
        readReadModel(system.redis, REDIS_KEY_PREFIX),
      ]);
      const decided = new Set(purchases.map((p) => p.purchaseId));
      const undecided = accepted.filter((id) => !decided.has(id)).length;
      const viewsBehind = items.filter((item) => views.get(item.itemId)?.version !== item.version).length;
      state = { undecided, outbox, commandsLag, eventsLag, viewsBehind };
      if (undecided + outbox + commandsLag + eventsLag + viewsBehind === 0) {
        print(`quiesced: ${JSON.stringify(state)}`);
        return true;
      }
    } catch (error) {
      state = { error: error instanceof Error ? error.message : String(error) };
    }
    if (Date.now() > deadline) {
      print(`not quiesced after ${timeoutMs / 1000} s: ${JSON.stringify(state)}`);
      return false;
    }
    if (Date.now() - lastPrint > 5_000) {
      print(`waiting for the system to quiesce: ${JSON.stringify(state)}`);
      lastPrint = Date.now();
    }
    await sleep(1_000);
  }
}

export async function runChaos(
  size: RunSize,
  seed: number,
  logger: Logger,
  print: (line: string) => void,
  logDir: string,
): Promise<RunResult> {
  const random = createRandom(seed);
  const plan = planFaults(random, size);
  const clockSkewMs = random.int(1_000, 5_000);
  print(
    `chaos run: size ${size.name}, seed ${seed}, ${plan.length} faults over ${size.loadMs / 1000} s of load, gateway clocks ${clockSkewMs} ms ahead and behind`,
  );
  const startedAt = new Date().toISOString();
  const system = await startSystem(logger, print, logDir, { clockSkewMs });
  print(`service logs in ${logDir}`);
  try {
    const admin = createAdminClient(system.gateways, ADMIN_TOKEN, random);
    for (const item of size.items) await admin.list(item);
    print(`listed ${size.items.length} items; sale starts`);

    const loadStartedAt = Date.now();
    const stopLoad = new AbortController();
    const restocks = (async () => {
      while (!stopLoad.signal.aborted) {
        await sleep(size.restockEveryMs);
        if (stopLoad.signal.aborted) break;
        const item = random.pick(size.items);
        // Mostly restocks; now and then a withdrawal of unsold units.
        const delta = random.chance(0.15) ? -random.int(1, 20) : random.int(10, 60);
        await admin.restock(item.itemId, delta);
      }
    })();
    const faultsDone = injectFaults(
      plan,
      {
        kill: async (name, downMs) => {
          const service = system.services.get(name);
          // A kill always meets a running process: one still down from the last kill is waited for.
          await service?.ready();
          await service?.kill(downMs);
        },
        restartKafka: () => system.servers.restartKafka(),
        loseProduceAnswers: (ms) => system.servers.loseProduceAnswers(ms),
        flushRedis: () => system.servers.flushRedis(),
        restartPostgres: () => system.servers.restartPostgres(),
      },
      loadStartedAt,
      (fault) =>
        print(
          `  t+${((fault.startedAt - loadStartedAt) / 1000).toFixed(1)}s ${fault.kind}` +
            `${fault.downMs ? ` (down ${fault.downMs} ms)` : ''}, took ${fault.endedAt - fault.startedAt} ms` +
            `${fault.error ? ` FAILED: ${fault.error}` : ''}`,
        ),
    );
    const progress = setInterval(
      () => print(`  t+${Math.round((Date.now() - loadStartedAt) / 1000)}s sale running`),
      15_000,
    );
    const attempts = await runBuyers({
      gateways: system.gateways,
      items: size.items,
      buyers: size.buyers,
      concurrency: size.concurrency,
      durationMs: size.loadMs,
      random,
      signal: stopLoad.signal,
    });
    clearInterval(progress);
    const faults = await faultsDone; // the last one may outlast the load
    stopLoad.abort();
    await restocks;
    const loadMs = Date.now() - loadStartedAt;
    const accepted = [
      ...new Set(attempts.filter((a) => a.status === 202 && a.purchaseId).map((a) => a.purchaseId as string)),
    ];
    print(`load over: ${attempts.length} requests, ${accepted.length} accepted purchases; quiescing`);

    const quiesceStarted = Date.now();
    const quiesced = await quiesce(system, accepted, size.quiesceTimeoutMs, print);
    const quiesceMs = Date.now() - quiesceStarted;

    const kafka = system.servers.kafka;
    const [sqlItems, sqlPurchases, itemEvents, admissions, latestStockViews, readModel, statusAnswers] =
      await Promise.all([
        readSqlItems(system.pool),
        readSqlPurchases(system.pool),
        readItemEvents(kafka),
        readAdmissions(kafka),
        readLatestStockViews(kafka),
        readReadModel(system.redis, REDIS_KEY_PREFIX),
        askPurchaseStatuses(system.gateways[0] as Gateway, accepted),
      ]);
    const verdict = checkHistory({
      attempts,
      faults,
      sqlItems,
      sqlPurchases,
      itemEvents,
      ...admissions,
      statusAnswers,
      readModel,
      latestStockViews,
    });
    const rejectedByReason: Record<string, number> = {};
    for (const p of sqlPurchases) {
      if (p.status === 'rejected')
        rejectedByReason[p.reason ?? '?'] = (rejectedByReason[p.reason ?? '?'] ?? 0) + 1;
    }
    const processes: RunResult['processes'] = {};
    for (const [name, service] of system.services) {
      processes[name] = { starts: service.startsCount(), exits: service.exits().length };
    }
    return {
      seed,
      size: size.name,
      clockSkewMs,
      startedAt,
      loadMs,
      faults,
      attempts,
      adminCalls: [...admin.calls()],
      processes,
      quiesced,
      quiesceMs,
      sql: {
        confirmed: sqlPurchases.filter((p) => p.status === 'confirmed').length,
        rejected: sqlPurchases.filter((p) => p.status === 'rejected').length,
        rejectedByReason,
      },
      verdict,
      logDir,
    };
  } finally {
    print('stopping the services and the private servers');
    await system.stop();
  }
}
