// The fault-injection run's own servers: a Kafka broker (testkit's private broker: infra/bin/kafka-start.sh
// on other ports with its own run folder), a Redis child process and a PostgreSQL cluster in a temporary
// folder. Restarting or flushing them harms nobody else; the machine's shared servers are never touched.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { topicCatalogue } from '@buy-now/contracts';
import { createKafkaClient, ensureTopics, waitForBroker, type KafkaClient } from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';
import { freePort, startPrivateKafka } from '@buy-now/testkit';
import { Redis } from 'ioredis';
import pg from 'pg';

export { freePort, freePorts } from '@buy-now/testkit';

const run = promisify(execFile);
/** Fewer partitions than production: rebalances after each kill settle sooner on a small machine. */
const PARTITIONS = 4;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface PrivateServers {
  dir: string;
  kafkaBrokers: string;
  redisUrl: string;
  databaseUrl: string;
  kafka: KafkaClient;
  restartKafka(): Promise<void>;
  /** The broker appends what producers send, but its answers to them are lost for `ms`. */
  loseProduceAnswers(ms: number): Promise<void>;
  flushRedis(): Promise<void>;
  restartPostgres(): Promise<void>;
  stop(): Promise<void>;
}

/** Everything started so far is stopped again if a later step fails. */
export async function startPrivateServers(logger: Logger): Promise<PrivateServers> {
  const dir = mkdtempSync(join(tmpdir(), 'buy-now-chaos-'));
  chmodSync(dir, 0o755); // the postgres user must reach its folder inside
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    stops.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Behind a fault proxy: the run can make the broker's produce answers go missing.
    const kafkaBroker = await startPrivateKafka({ faultProxy: true });
    stops.push(() => kafkaBroker.close());
    const redisServer = await startRedis(join(dir, 'redis'));
    stops.push(() => redisServer.stop());
    const postgres = await startPostgres(join(dir, 'pg'));
    stops.push(() => postgres.stop());
    const kafka = createKafkaClient({ brokers: [kafkaBroker.brokers], clientId: 'chaos', logger });
    await waitForBroker(kafka, { timeoutMs: 90_000 });
    await ensureTopics(
      kafka,
      topicCatalogue.map((spec) => ({
        name: spec.name,
        partitions: Math.min(spec.partitions, PARTITIONS),
        configs: { ...spec.configs },
      })),
      { timeoutMs: 60_000 },
    );
    return {
      dir,
      kafkaBrokers: kafkaBroker.brokers,
      redisUrl: redisServer.url,
      databaseUrl: postgres.url,
      kafka,
      restartKafka: () => kafkaBroker.restart(),
      loseProduceAnswers: async (ms: number) => {
        kafkaBroker.proxy?.dropProduceResponses(true);
        await new Promise((resolve) => setTimeout(resolve, ms));
        kafkaBroker.proxy?.dropProduceResponses(false);
      },
      flushRedis: () => redisServer.flushAll(),
      restartPostgres: () => postgres.restart(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---- Redis ----------------------------------------------------------------------------------------

async function startRedis(dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dataDir, stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  client.on('error', () => undefined); // refused until the server listens; each attempt says so
  for (let attempt = 0; ; attempt++) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error) {
      client.disconnect();
      if (attempt > 50) throw new Error(`redis-server on port ${port} did not answer`, { cause: error });
      await sleep(100);
    }
  }
  return {
    url,
    // The one command the harness may send: this server is the run's own.
    flushAll: async () => {
      await client.flushall();
    },
    async stop() {
      client.disconnect();
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
      child.kill('SIGKILL');
    },
  };
}

// ---- PostgreSQL -----------------------------------------------------------------------------------

function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', name)))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin', name);
  }
  return name; // on PATH elsewhere
}

async function startPostgres(dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  // initdb refuses to run as root: as root, run PostgreSQL's tools as the postgres OS user.
  const asRoot = process.getuid?.() === 0;
  let uid: number | undefined;
  let gid: number | undefined;
  if (asRoot) {
    uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dataDir, uid, gid);
  }
  const tool = async (name: string, args: string[]) => {
    const [command, commandArgs] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', postgresBin(name), ...args]]
      : [postgresBin(name), args];
    try {
      return await run(command, commandArgs, { cwd: dataDir, maxBuffer: 4 * 1024 * 1024 });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(
        `${name} failed (log: ${join(dataDir, 'server.log')}): ${output.stderr ?? ''}${output.stdout ?? ''}`,
      );
    }
  };
  const cluster = join(dataDir, 'cluster');
  await tool('initdb', ['-D', cluster, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  // fsync off: the faults kill processes, never the machine, so the OS keeps every write; commits stay
  // synchronous (a commit the server acknowledged is in its WAL).
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dataDir} -c fsync=off -c max_connections=200`;
  const start = () =>
    tool('pg_ctl', [
      '-D',
      cluster,
      '-l',
      join(dataDir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      options,
      'start',
    ]);
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/buy_now`;
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE buy_now');
  await admin.end();
  return {
    url,
    /** Like a crash: immediate shutdown (no checkpoint), then WAL recovery on start. */
    async restart() {
      await tool('pg_ctl', ['-D', cluster, '-m', 'immediate', '-w', 'stop']);
      await start();
    },
    async stop() {
      await tool('pg_ctl', ['-D', cluster, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    },
  };
}
