// Where integration tests find their real servers: the environment first (infra/ on this kind of
// machine), then containers when a Docker engine answers, else a message saying how to start infra.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { readTestkitEnv } from './config.js';

export interface TestServers {
  kafkaBrokers: string[];
  redisUrl: string;
  databaseUrl: string;
  source: 'environment' | 'testcontainers';
  stop(): Promise<void>;
}

const KAFKA_IMAGE = 'apache/kafka:4.4.0';
const POSTGRES_IMAGE = 'postgres:17-alpine';
const REDIS_IMAGE = 'redis:7.4-alpine';

let shared: Promise<TestServers> | undefined;

/** One set of servers per test process, started on first use. */
export function getTestServers(): Promise<TestServers> {
  shared ??= resolveServers();
  return shared;
}

async function resolveServers(): Promise<TestServers> {
  const env = readTestkitEnv();
  if (env.kafkaBrokers && env.redisUrl && env.databaseUrl) {
    return {
      kafkaBrokers: env.kafkaBrokers.split(',').map((b) => b.trim()),
      redisUrl: env.redisUrl,
      databaseUrl: env.databaseUrl,
      source: 'environment',
      stop: () => Promise.resolve(),
    };
  }
  if (await dockerEngineAnswers()) return startContainers();
  const missing = Object.entries({
    KAFKA_BROKERS: env.kafkaBrokers,
    REDIS_URL: env.redisUrl,
    DATABASE_URL: env.databaseUrl,
  })
    .filter(([, v]) => !v)
    .map(([k]) => k);
  throw new Error(
    `integration tests need real servers, but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set ` +
      'and no Docker engine answers. Start them with `npm run infra:up` and run the tests through `npm test` ' +
      '(or export KAFKA_BROKERS=127.0.0.1:9092 REDIS_URL=redis://127.0.0.1:6379 ' +
      'DATABASE_URL=postgres://postgres@127.0.0.1:5432/buy_now).',
  );
}

function dockerEngineAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }, (error, stdout) =>
      resolve(!error && stdout.trim().length > 0),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function startContainers(): Promise<TestServers> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { RedisContainer } = await import('@testcontainers/redis');

  // The broker must advertise the address clients use, so its host port is chosen up front.
  const kafkaPort = await freePort();
  const [kafka, postgres, redis] = await Promise.all([
    new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new PostgreSqlContainer(POSTGRES_IMAGE)
      .withDatabase('buy_now')
      .withUsername('postgres')
      .withPassword('postgres')
      .start(),
    new RedisContainer(REDIS_IMAGE).start(),
  ]);
  return {
    kafkaBrokers: [`127.0.0.1:${kafkaPort}`],
    redisUrl: redis.getConnectionUrl(),
    databaseUrl: postgres.getConnectionUri(),
    source: 'testcontainers',
    stop: async () => {
      await Promise.all([kafka.stop(), postgres.stop(), redis.stop()]);
    },
  };
}
