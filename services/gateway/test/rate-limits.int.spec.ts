// Rate limits live in Redis, so they hold across gateway instances: bursts sent to TWO instances that
// share Redis get exactly the allowed number through, the rest 429 RATE_LIMITED with Retry-After, and
// the refused requests change nothing. Both instances trust one proxy hop (TRUST_PROXY=1), so each test
// speaks for its own client address through X-Forwarded-For. Demo mode is on for the token issuer.
import { randomUUID } from 'node:crypto';
import { fetchTopicOffsets } from '@buy-now/kafka';
import { verifyBuyerToken } from '@buy-now/buyer-auth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import {
  BUYER_TOKEN_SECRET,
  availableAtGate,
  buyerToken,
  listItem,
  request,
  startSystem,
  sumOfEndOffsets,
  tally,
  type Answer,
  type TestSystem,
} from './support/system.js';

const DAY_SECONDS = 86_400;
// A day-long window: nothing refills during a test, so the counts are exact whatever the machine's speed.
const LIMITS = {
  RATE_LIMIT_IP_MAX: '10',
  RATE_LIMIT_IP_WINDOW_SECONDS: String(DAY_SECONDS),
  RATE_LIMIT_BUYER_MAX: '5',
  RATE_LIMIT_BUYER_WINDOW_SECONDS: String(DAY_SECONDS),
  RATE_LIMIT_TOKEN_ISSUE_MAX: '3',
  RATE_LIMIT_TOKEN_ISSUE_WINDOW_SECONDS: String(DAY_SECONDS),
  TRUST_PROXY: '1',
  DEMO_MODE: 'true',
};

let system: TestSystem;
let second: RunningGateway;
let urls: [string, string];
let itemId: string;

beforeAll(async () => {
  system = await startSystem({ gatewayEnv: LIMITS });
  const config = loadGatewayConfig({
    ...Object.fromEntries(
      Object.entries(system.config).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v ?? '')]),
    ),
    GATEWAY_ID: `gw-second-${randomUUID().slice(0, 8)}`,
    ...LIMITS,
  });
  second = await startGateway({ ...config, PORT: 0, HOST: '127.0.0.1' }, system.logger);
  urls = [system.baseUrl, `http://${second.address}`];
  itemId = await listItem(system, { stock: 1_000, perBuyerLimit: 100 });
});

afterAll(async () => {
  await second?.stop();
  await system?.stop();
});

let addressCount = 0;
/** A client address of its own for each test (documentation range 198.51.100.0/24). */
const freshAddress = () => `198.51.100.${++addressCount}`;

function buy(index: number, buyerId: string, address: string, body: unknown = {}): Promise<Answer> {
  return request(urls[index % 2] as string, 'POST', `/items/${itemId}/buy-now`, {
    headers: {
      'idempotency-key': `rl-${randomUUID()}`,
      authorization: `Bearer ${buyerToken(buyerId)}`,
      'x-forwarded-for': address,
    },
    json: body,
  });
}

async function state() {
  return {
    gate: await availableAtGate(system, itemId),
    commands: sumOfEndOffsets(await fetchTopicOffsets(system.kafka, system.topics.itemCommands)),
  };
}

function retryAfterOf(answers: Answer[]): number[] {
  return answers.filter((a) => a.status === 429).map((a) => Number(a.headers.get('retry-after')));
}

describe('rate limits across two gateway instances', () => {
  it('lets exactly 5 requests of one buyer through, from any address and whatever the body says', async () => {
    const before = await state();
    const buyerId = `limited-${randomUUID().slice(0, 8)}`;
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => buy(i, buyerId, freshAddress())));
    expect(tally(burst)).toEqual({ '202': 5, '429 RATE_LIMITED': 3 });
    // 5 per day: the next one is a fifth of a day away (less the moments the burst took).
    for (const seconds of retryAfterOf(burst)) {
      expect(seconds).toBeGreaterThan(DAY_SECONDS / 5 - 300);
      expect(seconds).toBeLessThanOrEqual(DAY_SECONDS / 5);
    }
    // Another buyerId in the body does not make another buyer: the token decides, and its limit is spent.
    const dodge = await buy(0, buyerId, freshAddress(), { buyerId: 'a-fresh-buyer' });
    expect({ status: dodge.status, code: dodge.body.error?.code }).toEqual({
      status: 429,
      code: 'RATE_LIMITED',
    });
    expect(await state()).toEqual({ gate: (before.gate ?? 0) - 5, commands: before.commands + 5n });
    // The count lives in Redis under its own hash tag, and expires by itself.
    const ttl = await system.redis.pttl(`${system.redisPrefix}{rl:buy:buyer:${buyerId}}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(DAY_SECONDS * 1000);
  });

  it('lets exactly 10 requests from one address through, whatever buyers they name', async () => {
    const before = await state();
    const address = freshAddress();
    const burst = await Promise.all(
      Array.from({ length: 13 }, (_, i) => buy(i, `crowd-${randomUUID().slice(0, 8)}`, address)),
    );
    expect(tally(burst)).toEqual({ '202': 10, '429 RATE_LIMITED': 3 });
    for (const seconds of retryAfterOf(burst)) {
      expect(seconds).toBeGreaterThan(DAY_SECONDS / 10 - 300);
      expect(seconds).toBeLessThanOrEqual(DAY_SECONDS / 10);
    }
    expect(await state()).toEqual({ gate: (before.gate ?? 0) - 10, commands: before.commands + 10n });
    // Another address is counted apart.
    const other = await buy(1, `crowd-${randomUUID().slice(0, 8)}`, freshAddress());
    expect(other.status).toBe(202);
  });
});

describe('POST /dev/buyer-tokens (demo mode)', () => {
  it('issues tokens the gateway accepts, 3 per address, then 429', async () => {
    const address = freshAddress();
    const issue = (index: number, body?: unknown) =>
      request(urls[index % 2] as string, 'POST', '/dev/buyer-tokens', {
        headers: { 'x-forwarded-for': address },
        ...(body === undefined ? {} : { json: body }),
      });
    const named = await issue(0, { buyerId: 'demo-named-buyer' });
    const random = await issue(1);
    const empty = await issue(0, {});
    const refused = await Promise.all([issue(1), issue(0)]);
    expect([named.status, random.status, empty.status]).toEqual([201, 201, 201]);
    expect(refused.map((a) => [a.status, a.body.error?.code])).toEqual([
      [429, 'RATE_LIMITED'],
      [429, 'RATE_LIMITED'],
    ]);
    const namedBody = JSON.parse(named.text) as { buyerId: string; token: string; expiresAt: string };
    const randomBody = JSON.parse(random.text) as { buyerId: string; token: string; expiresAt: string };
    expect(namedBody.buyerId).toBe('demo-named-buyer');
    expect(randomBody.buyerId).toMatch(/^demo-[0-9a-f]{12}$/);
    expect(verifyBuyerToken(randomBody.token, { secret: BUYER_TOKEN_SECRET })).toMatchObject({
      buyerId: randomBody.buyerId,
      expiresAt: Date.parse(randomBody.expiresAt),
    });

    const bought = await request(urls[1], 'POST', `/items/${itemId}/buy-now`, {
      headers: {
        'idempotency-key': `rl-${randomUUID()}`,
        authorization: `Bearer ${namedBody.token}`,
        'x-forwarded-for': freshAddress(),
      },
      json: {},
    });
    expect({ status: bought.status, buyerId: bought.body.buyerId }).toEqual({
      status: 202,
      buyerId: 'demo-named-buyer',
    });
  });

  it('refuses a body with an unknown field or a bad buyerId (400)', async () => {
    const address = freshAddress();
    const answers = await Promise.all(
      [{ buyerId: 'has space' }, { buyerId: 'ok', admin: true }].map((json) =>
        request(urls[0], 'POST', '/dev/buyer-tokens', { headers: { 'x-forwarded-for': address }, json }),
      ),
    );
    expect(answers.map((a) => [a.status, a.body.error?.code])).toEqual([
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
    ]);
  });
});
