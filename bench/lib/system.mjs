// One isolated buy-now system per scenario: its own topics (TOPIC_PREFIX), database, Redis keys
// (REDIS_KEY_PREFIX) and consumer groups, next to anything else on the same servers; the services run
// as child processes. stop() removes every trace of it.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { Redis } from 'ioredis';
import { topicCatalogue } from '@buy-now/contracts';
import { createKafkaClient, deleteTopics, ensureTopics } from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { closePostgresPool, createPostgresPool } from '@buy-now/sql-schema';
import { createTestDatabase } from '@buy-now/testkit';
import { BENCH_BUYER_TOKEN_SECRET, BENCH_RATE_LIMITS } from './buyer-tokens.mjs';
import { summariseProfile } from './profile.mjs';
import { startService } from './services.mjs';

// Broker hiccups surface as thrown errors; kafkajs' own retry chatter would drown the progress lines.
const quietLogger = createLogger({ service: 'bench', level: 'fatal' });
const running = new Set();

/** What a system's clean-up could not remove (reported with the results; the next run sweeps it). */
export const cleanupProblems = [];

/** Every system still up, so an interrupted run can still clean up after itself. */
export async function stopAllSystems() {
  await Promise.allSettled([...running].map((system) => system.stop()));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A kafkajs admin for what @buy-now/kafka does not offer (listing and describing groups). */
export async function withKafkaAdmin(brokers, work) {
  const kafka = new kafkajs.Kafka({ clientId: 'bench-admin', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes every consumer group whose id starts with the prefix. A group whose member has not left yet (a
 * killed process, or a broker that restarted) is not empty until its session times out: retried for 15 s.
 */
export async function deleteGroupsByPrefix(brokers, prefix, { boundMs = 15_000 } = {}) {
  const deadline = Date.now() + boundMs;
  await withKafkaAdmin(brokers, async (admin) => {
    for (;;) {
      const { groups } = await admin.listGroups();
      const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
      if (ours.length === 0) return;
      try {
        await admin.deleteGroups(ours);
        return;
      } catch (error) {
        const left = (error.groups ?? []).filter(
          (g) => g.errorCode !== 0 && g.error?.type !== 'GROUP_ID_NOT_FOUND',
        );
        if (error.groups && left.length === 0) return;
        if (Date.now() > deadline) {
          const detail = left.map((g) => `${g.groupId}: ${g.error?.type ?? g.errorCode}`).join(', ');
          throw new Error(`consumer groups not deleted (${detail || error.message})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  });
}

export async function deleteRedisKeys(redis, prefix) {
  let cursor = '0';
  let deleted = 0;
  const pattern = `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/**
 * @param {object} options
 * @param {string} options.name short scenario name, part of every name the system creates
 * @param {{kafkaBrokers: string[], redisUrl: string, databaseUrl: string}} options.servers
 * @param {string[]} [options.topics] catalogue topics to create (default: all)
 * @param {number} [options.partitions] partitions of the keyed topics (default: the catalogue's)
 * @param {string} [options.profileDir] where each service writes its CPU profile (node --cpu-prof), if set
 */
export async function createSystem({ name, servers, topics, partitions, profileDir }) {
  const stamp = `${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const topicPrefix = `bench-${name}-${stamp}.`;
  const redisPrefix = `bench-${name}-${stamp}:`;
  const adminToken = randomBytes(24).toString('hex');
  const kafka = createKafkaClient({ brokers: servers.kafkaBrokers, clientId: 'bench', logger: quietLogger });
  const specs = topicCatalogue
    .filter((spec) => !topics || topics.includes(spec.name))
    .map((spec) => ({
      name: `${topicPrefix}${spec.name}`,
      partitions: spec.name.endsWith('.dlq') || partitions === undefined ? spec.partitions : partitions,
      configs: spec.configs,
    }));
  const services = [];
  let database;
  let redis;
  let pool;
  const profiled = new Map(); // service label → profile file
  const profileArgs = (label) => {
    if (!profileDir) return [];
    mkdirSync(profileDir, { recursive: true });
    const file = `${label}-${name}.cpuprofile`;
    profiled.set(label, `${profileDir}${file}`);
    return ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${file}`];
  };

  const system = {
    name,
    topicPrefix,
    redisPrefix,
    adminToken,
    kafka,
    servers,
    topic: (base) => `${topicPrefix}${base}`,
    get databaseUrl() {
      return database.url;
    },
    get pool() {
      return pool;
    },
    get redis() {
      return redis;
    },
    services,
    gateway: null,
    /** pid → name of every process of this system, and of the benchmark itself (with its load generator). */
    namedPids() {
      return new Map([
        [process.pid, 'benchmark + load generator'],
        ...services.map((service) => [service.pid, service.name]),
      ]);
    },

    async startReservation(env = {}, label = 'reservation') {
      const service = await startService({
        kind: 'reservation',
        name: label,
        nodeArgs: profileArgs(label),
        env: {
          KAFKA_BROKERS: servers.kafkaBrokers.join(','),
          DATABASE_URL: database.url,
          TOPIC_PREFIX: topicPrefix,
          ...env,
        },
      });
      services.push(service);
      return service;
    },

    async startStreamProcessor(env = {}) {
      const service = await startService({
        kind: 'stream-processor',
        nodeArgs: profileArgs('stream-processor'),
        env: {
          KAFKA_BROKERS: servers.kafkaBrokers.join(','),
          REDIS_URL: servers.redisUrl,
          DATABASE_URL: database.url,
          TOPIC_PREFIX: topicPrefix,
          REDIS_KEY_PREFIX: redisPrefix,
          ...env,
        },
      });
      services.push(service);
      return service;
    },

    async startGateway(env = {}) {
      const port = await freePort();
      const nodeArgs = profileArgs('gateway');
      const service = await startService({
        kind: 'gateway',
        nodeArgs,
        env: {
          KAFKA_BROKERS: servers.kafkaBrokers.join(','),
          REDIS_URL: servers.redisUrl,
          DATABASE_URL: database.url,
          TOPIC_PREFIX: topicPrefix,
          REDIS_KEY_PREFIX: redisPrefix,
          ADMIN_TOKEN: adminToken,
          BUYER_TOKEN_SECRET: BENCH_BUYER_TOKEN_SECRET,
          ...BENCH_RATE_LIMITS,
          GATEWAY_ID: `bench-${stamp}`,
          HOST: '127.0.0.1',
          PORT: String(port),
          ...env,
        },
      });
      services.push(service);
      system.gateway = { port, service };
      return system.gateway;
    },

    /** Lists an item through the admin API and resolves once the gate sells it. */
    async listItem({ itemId, stock, perBuyerLimit = 1, title = 'Benchmark item' }) {
      const port = system.gateway.port;
      const response = await fetch(`http://127.0.0.1:${port}/admin/items`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ itemId, title, priceMinor: 1_000, currency: 'EUR', stock, perBuyerLimit }),
      });
      if (response.status !== 201 && response.status !== 202) {
        throw new Error(`listing ${itemId} answered ${response.status}: ${await response.text()}`);
      }
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const view = await fetch(`http://127.0.0.1:${port}/items/${itemId}`);
        if (view.status === 200 && (await view.json()).available === stock) return itemId;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`item ${itemId} was not on sale within 30 s`);
    },

    stop() {
      stopping ??= stopEverything();
      return stopping;
    },

    /** After stop(): where each profiled service spent its CPU inside the windows (monotonic µs). */
    async profiles(windows) {
      await system.stop();
      const summaries = {};
      for (const [label, file] of profiled) {
        try {
          summaries[label] = summariseProfile(file, { windows, top: 10 });
        } catch (error) {
          summaries[label] = { file, error: error instanceof Error ? error.message : String(error) };
        }
      }
      return summaries;
    },
  };

  let stopping;
  async function stopEverything() {
    running.delete(system);
    const failures = [];
    // Each step is tried three times: the broker may be restarting (other suites on this machine do that).
    const attempt = async (what, step) => {
      for (let tries = 1; ; tries++) {
        try {
          await step();
          return;
        } catch (error) {
          if (tries >= 3) {
            failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 2_000));
        }
      }
    };
    // The gateway first (it stops taking requests), then the consumers.
    for (const service of [...services].sort((a, b) =>
      a.name === 'gateway' ? -1 : b.name === 'gateway' ? 1 : 0,
    )) {
      await attempt(`stopping ${service.name}`, () => service.stop());
    }
    await attempt('closing the pool', () => pool && closePostgresPool(pool));
    await attempt('dropping the database', () => database?.drop());
    await attempt('deleting Redis keys', () => (redis ? deleteRedisKeys(redis, redisPrefix) : undefined));
    await attempt('closing Redis', () => redis?.quit());
    await attempt('deleting topics', () =>
      deleteTopics(
        kafka,
        specs.map((spec) => spec.name),
      ),
    );
    await attempt('deleting consumer groups', () => deleteGroupsByPrefix(servers.kafkaBrokers, topicPrefix));
    // Never thrown: it would hide the error the scenario failed with. Reported with the results, and the
    // next run's sweep (bench/lib/leftovers.mjs) removes what is left.
    cleanupProblems.push(...failures.map((failure) => `${name}: ${failure}`));
  }

  running.add(system);
  try {
    await ensureTopics(kafka, specs);
    database = await createTestDatabase(servers.databaseUrl, 'bench');
    pool = createPostgresPool({
      connectionString: database.url,
      max: 4,
      onIdleError: (error) => cleanupProblems.push(`idle PostgreSQL connection failed: ${error.message}`),
    });
    redis = new Redis(servers.redisUrl, { maxRetriesPerRequest: 2 });
  } catch (error) {
    await system.stop().catch(() => undefined);
    throw error;
  }
  return system;
}
