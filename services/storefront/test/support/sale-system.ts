// A whole Buy Now system for the browser tests: its own topics, database and Redis keys on the real
// servers, and the reservation service, the stream processor and the gateway started from their builds
// as child processes (the gateway in demo mode, on a free port).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { signBuyerToken } from '@buy-now/buyer-auth';
import { topicCatalogue } from '@buy-now/contracts';
import { createKafkaClient, deleteGroups, deleteTopics, ensureTopics } from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { createTestDatabase, getTestServers, uniqueName, waitFor } from '@buy-now/testkit';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const mainOf = (service: string) => `${ROOT}services/${service}/dist/main.js`;
export const ADMIN_TOKEN = 'storefront-e2e-admin-token-0123456789';
const BUYER_TOKEN_SECRET = 'storefront-e2e-buyer-token-secret-0123456789';

export interface SaleSystem {
  baseUrl: string;
  /** Lists an item through the admin API; resolves once GET /items shows it. */
  listItem(item: {
    itemId: string;
    title: string;
    stock: number;
    perBuyerLimit?: number;
    startsAt?: Date;
  }): Promise<void>;
  buy(itemId: string, buyerId: string): Promise<number>;
  /** The last lines each service printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startSaleSystem(): Promise<SaleSystem> {
  const servers = await getTestServers();
  const topicPrefix = `${uniqueName('sf')}.`;
  const redisPrefix = `${uniqueName('sf')}:`;
  const kafka = createKafkaClient({
    brokers: servers.kafkaBrokers,
    clientId: 'storefront-e2e',
    logger: createLogger({ service: 'storefront-e2e', level: 'silent' }),
  });
  const topics = topicCatalogue.map((spec) => ({
    name: `${topicPrefix}${spec.name}`,
    partitions: Math.min(spec.partitions, 3),
    configs: spec.configs,
  }));
  await ensureTopics(kafka, topics);
  const database = await createTestDatabase(servers.databaseUrl, 'buy_now_e2e');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '',
    KAFKA_BROKERS: servers.kafkaBrokers.join(','),
    REDIS_URL: servers.redisUrl,
    DATABASE_URL: database.url,
    TOPIC_PREFIX: topicPrefix,
    REDIS_KEY_PREFIX: redisPrefix,
    ADMIN_TOKEN,
    PORT: String(port),
    HOST: '127.0.0.1',
    GATEWAY_ID: `e2e-${randomUUID().slice(0, 8)}`,
    // The browser buys with a token from POST /dev/buyer-tokens (demo mode only).
    DEMO_MODE: 'true',
    BUYER_TOKEN_SECRET,
    // The crowd and the browser all come from 127.0.0.1: both buy-now limits are raised out of the way
    // (the rate-limit suite of the gateway tests them).
    RATE_LIMIT_IP_MAX: '1000000000',
    RATE_LIMIT_BUYER_MAX: '1000000000',
    RATE_LIMIT_TOKEN_ISSUE_MAX: '1000000000',
    LOG_LEVEL: 'info',
  };
  const children: { name: string; child: ChildProcess; lines: string[] }[] = [];
  for (const service of ['reservation', 'stream-processor', 'gateway']) {
    const child = spawn(process.execPath, [mainOf(service)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const keep = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      lines.splice(0, Math.max(0, lines.length - 30));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    children.push({ name: service, child, lines });
  }
  const output = () => children.map((c) => `--- ${c.name}\n${c.lines.join('\n')}`).join('\n');
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  const stop = async () => {
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    await database.drop().catch(() => undefined);
    const redis = new Redis(servers.redisUrl);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    await redis.quit();
    await deleteTopics(
      kafka,
      topics.map((t) => t.name),
    ).catch(() => undefined);
    await deleteGroups(
      kafka,
      ['reservation', 'stream-processor', 'gateway-follower'].map((g) => `${topicPrefix}${g}`),
    ).catch(() => undefined);
  };

  try {
    await waitFor(
      'the gateway to be ready',
      async () =>
        (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
      { timeoutMs: 90_000, intervalMs: 250, describe: output },
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    baseUrl,
    output,
    stop,
    async listItem(item) {
      const response = await fetch(`${baseUrl}/admin/items`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({
          itemId: item.itemId,
          title: item.title,
          priceMinor: 12_900,
          currency: 'EUR',
          stock: item.stock,
          perBuyerLimit: item.perBuyerLimit ?? 1,
          ...(item.startsAt ? { startsAt: item.startsAt.toISOString() } : {}),
        }),
      });
      if (response.status !== 201 && response.status !== 202) {
        throw new Error(`listing ${item.itemId} answered ${response.status}: ${await response.text()}`);
      }
      await waitFor('the item in GET /items', async () => {
        const body = (await (await fetch(`${baseUrl}/items/${item.itemId}`)).json()) as { version?: number };
        return body.version !== undefined ? true : undefined;
      });
    },
    async buy(itemId, buyerId) {
      const response = await fetch(`${baseUrl}/items/${itemId}/buy-now`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
          authorization: `Bearer ${signBuyerToken({ secret: BUYER_TOKEN_SECRET, buyerId })}`,
        },
        body: JSON.stringify({ buyerId }),
      });
      await response.arrayBuffer();
      return response.status;
    },
  };
}
