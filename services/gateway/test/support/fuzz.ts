// Support for the gateway's fuzzing suites: requests through app.inject (the real Fastify app, routes,
// hooks, parsers and error handler), the one helper every buy-now request goes through, the exact
// error answer, and a snapshot of everything a refused request must leave as it was.
import type { FastifyInstance } from 'fastify';
import { BUYER_ID_PATTERN } from '@buy-now/buyer-auth';
import { expect } from 'vitest';
import { fetchTopicOffsets } from '@buy-now/kafka';
import { buyerToken, type TestSystem } from './system.js';

export interface Injected {
  status: number;
  contentType: string;
  /** The parsed JSON body; undefined when the body is not JSON. */
  body: unknown;
  text: string;
}

export interface InjectRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  /** Path and query, already percent-encoded. */
  url: string;
  headers?: Record<string, string>;
  /** Sent as is. */
  payload?: string;
}

export async function inject(app: FastifyInstance, req: InjectRequest): Promise<Injected> {
  const response = await app.inject({
    method: req.method,
    url: req.url,
    headers: req.headers ?? {},
    ...(req.payload === undefined ? {} : { payload: req.payload }),
  });
  const contentType = String(response.headers['content-type'] ?? '');
  let body: unknown;
  if (contentType.startsWith('application/json') && response.body.length > 0) {
    body = JSON.parse(response.body) as unknown;
  }
  return { status: response.statusCode, contentType, body, text: response.body };
}

/**
 * A buy-now request as the fuzzing suites send it. Every buy-now request goes through `injectBuyNow`,
 * so the headers every request needs (buyer authentication, later) are added in one place.
 */
export interface BuyNowInput {
  /** The `:id` path segment, percent-encoded. */
  itemSegment: string;
  /** null: no Idempotency-Key header. */
  idempotencyKey: string | null;
  prefer?: string;
  /** The body, sent as is. */
  payload?: string;
  /** null: no content-type header. Default application/json. */
  contentType?: string | null;
  /**
   * The Authorization header when a case sets it itself; null: none at all. Undefined: what a buyer
   * sends, a valid token for the body's buyer (or for `fuzz-buyer` when the body names none).
   */
  authorization?: string | null;
}

export function injectBuyNow(app: FastifyInstance, input: BuyNowInput): Promise<Injected> {
  const headers: Record<string, string> = {};
  if (input.contentType !== null) headers['content-type'] = input.contentType ?? 'application/json';
  if (input.idempotencyKey !== null) headers['idempotency-key'] = input.idempotencyKey;
  if (input.prefer !== undefined) headers['prefer'] = input.prefer;
  if (typeof input.authorization === 'string') headers['authorization'] = input.authorization;
  else if (input.authorization === undefined)
    headers['authorization'] = `Bearer ${buyerToken(bodyBuyerOf(input.payload) ?? 'fuzz-buyer')}`;
  return inject(app, {
    method: 'POST',
    url: `/items/${input.itemSegment}/buy-now`,
    headers,
    ...(input.payload === undefined ? {} : { payload: input.payload }),
  });
}

/** The body's buyerId when the body is JSON naming one a token can carry. */
function bodyBuyerOf(payload: string | undefined): string | undefined {
  try {
    const body = JSON.parse(payload ?? '') as unknown;
    const buyerId =
      typeof body === 'object' && body !== null ? (body as { buyerId?: unknown }).buyerId : undefined;
    return typeof buyerId === 'string' && BUYER_ID_PATTERN.test(buyerId) ? buyerId : undefined;
  } catch {
    return undefined;
  }
}

/** Throws unless the answer is exactly this status with the one error shape and this code. */
export function expectRefusal(answer: Injected, status: number, code: string): void {
  expect(
    { status: answer.status, body: answer.body },
    `expected ${status} ${code}, got ${answer.status}: ${answer.text.slice(0, 300)}`,
  ).toEqual({ status, body: { error: { code, message: expect.any(String) as unknown } } });
  expect(answer.contentType).toMatch(/^application\/json/);
  const message = (answer.body as { error: { message: string } }).error.message;
  expect(message.length).toBeGreaterThan(0);
}

// ---- the state a refused request must not touch ------------------------------------------------------

export interface SystemState {
  /** Every Redis key under the system's prefix: its type and its whole value. */
  redis: Record<string, { type: string; value: unknown }>;
  /** End offset of each partition of item-commands. */
  itemCommands: string[];
  /** Every row of the reservation tables. */
  sql: Record<string, unknown[]>;
}

async function redisValue(system: TestSystem, key: string): Promise<{ type: string; value: unknown }> {
  const type = await system.redis.type(key);
  switch (type) {
    case 'string':
      return { type, value: await system.redis.get(key) };
    case 'hash':
      return { type, value: await system.redis.hgetall(key) };
    case 'set':
      return { type, value: (await system.redis.smembers(key)).sort() };
    case 'zset':
      return { type, value: await system.redis.zrange(key, 0, -1, 'WITHSCORES') };
    case 'list':
      return { type, value: await system.redis.lrange(key, 0, -1) };
    default:
      return { type, value: null };
  }
}

const TABLES: Record<string, string> = {
  items: 'SELECT * FROM items ORDER BY item_id',
  purchases: 'SELECT * FROM purchases ORDER BY purchase_id',
  item_events: 'SELECT * FROM item_events ORDER BY item_id, version',
  outbox: 'SELECT * FROM outbox ORDER BY id',
  processed_commands: 'SELECT * FROM processed_commands ORDER BY command_id',
};

export async function snapshotState(system: TestSystem): Promise<SystemState> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await system.redis.scan(cursor, 'MATCH', `${system.redisPrefix}*`, 'COUNT', 1000);
    cursor = next;
    // Rate-limit buckets count requests, bad ones too; they are not state of the sale.
    for (const key of found) if (!key.includes('{rl:')) keys.add(key);
  } while (cursor !== '0');
  const redis: SystemState['redis'] = {};
  for (const key of [...keys].sort()) redis[key] = await redisValue(system, key);
  const offsets = await fetchTopicOffsets(system.kafka, system.topics.itemCommands);
  const sql: SystemState['sql'] = {};
  for (const [table, query] of Object.entries(TABLES)) sql[table] = (await system.pool.query(query)).rows;
  return {
    redis,
    itemCommands: [...offsets]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => `${p.partition}:${p.high}`),
    sql,
  };
}
