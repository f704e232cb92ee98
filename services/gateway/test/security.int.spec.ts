// Security of the gateway's HTTP surface: buyer tokens (every refusal answered with its exact code and
// nothing changed), the admin token, demo-only routes, security headers, and no internals in a 5xx.
import { createHmac, randomUUID } from 'node:crypto';
import { fetchTopicOffsets } from '@buy-now/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { CONTENT_SECURITY_POLICY } from '../src/adapters/http/security-headers.js';
import {
  ADMIN_TOKEN,
  BUYER_TOKEN_SECRET,
  availableAtGate,
  buyNow,
  buyerToken,
  errorShape,
  listItem,
  request,
  sql,
  startSystem,
  type Answer,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;
let itemId: string;

beforeAll(async () => {
  system = await startSystem();
  itemId = await listItem(system, { stock: 10, perBuyerLimit: 2 });
});

afterAll(async () => {
  await system?.stop();
});

/** What a refused request must leave as it was: the item's Redis keys, item-commands, SQL rows. */
async function observable() {
  return {
    gate: await system.redis.hgetall(`${system.redisPrefix}{item:${itemId}}:gate`),
    buyers: await system.redis.hgetall(`${system.redisPrefix}{item:${itemId}}:buyers`),
    admitted: await system.redis.zcard(`${system.redisPrefix}{item:${itemId}}:admitted`),
    commands: (await fetchTopicOffsets(system.kafka, system.topics.itemCommands)).map((p) => p.high),
    purchases: await sql(system, 'SELECT purchase_id FROM purchases ORDER BY purchase_id'),
    items: await sql(system, 'SELECT item_id, listed, sold, remaining, version FROM items ORDER BY item_id'),
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
function forge(header: unknown, claims: unknown, secret = BUYER_TOKEN_SECRET): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const nowSeconds = () => Math.floor(Date.now() / 1000);
const claimsOf = (sub: string) => ({
  sub,
  iss: 'buy-now',
  aud: 'buy-now:buyer',
  iat: nowSeconds(),
  exp: nowSeconds() + 600,
});

function expectSecurityHeaders(answer: Answer): void {
  expect({
    csp: answer.headers.get('content-security-policy'),
    nosniff: answer.headers.get('x-content-type-options'),
    frame: answer.headers.get('x-frame-options'),
    referrer: answer.headers.get('referrer-policy'),
    coop: answer.headers.get('cross-origin-opener-policy'),
  }).toEqual({
    csp: CONTENT_SECURITY_POLICY,
    nosniff: 'nosniff',
    frame: 'DENY',
    referrer: 'no-referrer',
    coop: 'same-origin',
  });
  expect(CONTENT_SECURITY_POLICY).toMatch(/frame-ancestors 'none'/);
  expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
}

describe('buyer tokens on POST /items/:id/buy-now', () => {
  const cases: { name: string; token: () => string | null; status: number; code: string }[] = [
    { name: 'no Authorization header', token: () => null, status: 401, code: 'BUYER_TOKEN_REQUIRED' },
    { name: 'a token that is not a JWT', token: () => 'not-a-jwt', status: 401, code: 'BUYER_TOKEN_INVALID' },
    {
      name: 'an expired token',
      token: () => buyerToken('buyer-x', { ttlSeconds: 60, now: Date.now() - 3_600_000 }),
      status: 401,
      code: 'BUYER_TOKEN_EXPIRED',
    },
    {
      name: 'alg none',
      token: () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsOf('buyer-x'))}.`,
      status: 401,
      code: 'BUYER_TOKEN_INVALID',
    },
    {
      name: 'a token signed with another secret',
      token: () => forge({ alg: 'HS256', typ: 'JWT' }, claimsOf('buyer-x'), `${BUYER_TOKEN_SECRET}-other`),
      status: 401,
      code: 'BUYER_TOKEN_INVALID',
    },
    {
      name: 'a token for another audience',
      token: () => forge({ alg: 'HS256', typ: 'JWT' }, { ...claimsOf('buyer-x'), aud: 'buy-now:admin' }),
      status: 401,
      code: 'BUYER_TOKEN_INVALID',
    },
    {
      name: 'a token without exp',
      token: () => forge({ alg: 'HS256', typ: 'JWT' }, { ...claimsOf('buyer-x'), exp: undefined }),
      status: 401,
      code: 'BUYER_TOKEN_INVALID',
    },
    { name: 'the admin token', token: () => ADMIN_TOKEN, status: 401, code: 'BUYER_TOKEN_INVALID' },
  ];

  it.each(cases)('refuses $name with $status $code and changes nothing', async (c) => {
    const before = await observable();
    const answer = await buyNow(system, { itemId, buyerId: 'buyer-x', token: c.token() });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: c.status,
      body: errorShape(c.code),
    });
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="buy-now"/);
    expectSecurityHeaders(answer);
    expect(await observable()).toEqual(before);
  });

  it('checks the token before the body: no token and malformed JSON is 401', async () => {
    const before = await observable();
    const answer = await request(system.baseUrl, 'POST', `/items/${itemId}/buy-now`, {
      headers: { 'idempotency-key': 'security-key-1' },
      rawBody: '{"buyerId": ',
    });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 401,
      body: errorShape('BUYER_TOKEN_REQUIRED'),
    });
    expect(await observable()).toEqual(before);
  });

  it("refuses a body buyerId other than the token's (403 BUYER_MISMATCH) and changes nothing", async () => {
    const before = await observable();
    const answer = await buyNow(system, {
      itemId,
      buyerId: 'buyer-x',
      json: { buyerId: 'someone-else', quantity: 1 },
    });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 403,
      body: errorShape('BUYER_MISMATCH'),
    });
    expect(await observable()).toEqual(before);
  });
});

describe('the admin token (compared in constant time)', () => {
  const wrongByOne = `${ADMIN_TOKEN.slice(0, -1)}${ADMIN_TOKEN.endsWith('9') ? '8' : '9'}`;
  it.each([
    ['wrong by its last character', wrongByOne],
    ['wrong by its first character', `X${ADMIN_TOKEN.slice(1)}`],
    ['one character short', ADMIN_TOKEN.slice(0, -1)],
    ['one character longer', `${ADMIN_TOKEN}0`],
    ['empty', ''],
  ])('refuses a token %s with 401 UNAUTHORIZED and lists nothing', async (_name, token) => {
    expect(token).not.toBe(ADMIN_TOKEN);
    const forged = `forged-${randomUUID().slice(0, 8)}`;
    const answer = await request(system.baseUrl, 'POST', '/admin/items', {
      headers: { authorization: `Bearer ${token}` },
      json: { itemId: forged, title: 'Forged', priceMinor: 1, currency: 'EUR', stock: 5 },
    });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 401,
      body: errorShape('UNAUTHORIZED'),
    });
    expect(await sql(system, 'SELECT item_id FROM items WHERE item_id = $1', [forged])).toEqual([]);
  });
});

describe('demo-only routes with DEMO_MODE off', () => {
  it.each([
    ['POST', '/dev/buyer-tokens', { buyerId: 'someone' }],
    ['GET', '/api/auction/items', undefined],
    ['POST', '/api/auction/buy-now', { itemId: 'x', userId: 'someone' }],
  ] as const)('answers %s %s with 404 NOT_FOUND', async (method, path, json) => {
    const before = await observable();
    const answer = await request(system.baseUrl, method, path, json === undefined ? {} : { json });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 404,
      body: errorShape('NOT_FOUND'),
    });
    expectSecurityHeaders(answer);
    expect(await observable()).toEqual(before);
  });
});

describe('security headers', () => {
  it('are on API answers, refusals, errors and unknown routes', async () => {
    const answers = await Promise.all([
      request(system.baseUrl, 'GET', '/items'),
      request(system.baseUrl, 'GET', `/items/${itemId}`),
      request(system.baseUrl, 'GET', '/items/no-such-item'),
      request(system.baseUrl, 'GET', '/no/such/route'),
      request(system.baseUrl, 'POST', '/admin/items', { json: {} }),
      request(system.baseUrl, 'GET', '/healthz'),
      request(system.baseUrl, 'GET', '/docs/json'),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 404, 404, 401, 200, 200]);
    for (const answer of answers) expectSecurityHeaders(answer);
  });

  it('are on the API docs page, which loads only its own scripts and styles', async () => {
    const page = await request(system.baseUrl, 'GET', '/docs/static/index.html');
    expect(page.status).toBe(200);
    expectSecurityHeaders(page);
    expect(page.text).not.toMatch(/<script>|<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|https?:\/\//);
  });
});

describe('a 500', () => {
  let broken: RunningGateway | undefined;
  afterAll(async () => {
    await broken?.stop();
  });

  it('says nothing of the cause, while the readiness check names only what failed', async () => {
    // A second instance on the same Redis whose database does not exist: a purchase unknown to Redis
    // is looked up in SQL, which fails.
    const config = loadGatewayConfig({
      ...Object.fromEntries(
        Object.entries(system.config).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v ?? '')]),
      ),
      GATEWAY_ID: `gw-broken-${randomUUID().slice(0, 8)}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/no_such_database_${randomUUID().slice(0, 8).replace(/-/g, '')}`,
    });
    broken = await startGateway({ ...config, PORT: 0, HOST: '127.0.0.1' }, system.logger);
    const baseUrl = `http://${broken.address}`;

    const failed = await request(baseUrl, 'GET', `/purchases/${randomUUID()}`);
    expect({ status: failed.status, body: failed.body }).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'something went wrong on our side; try again' } },
    });
    expectSecurityHeaders(failed);
    expect(failed.text).not.toMatch(/no_such_database|postgres|5432|at .*\.js|Error/);

    const ready = await request(baseUrl, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).not.toMatch(/no_such_database|postgres|5432|ECONNREFUSED/);
    expect(JSON.parse(ready.text)).toMatchObject({
      status: 'not-ready',
      checks: expect.arrayContaining([
        { name: 'sql', ok: false, detail: 'unavailable (the gateway log says why)' },
      ]) as unknown,
    });
  });
});

// Last: the purchases it makes are decided in the background and would change what the others observe.
describe('a buyer with a valid token', () => {
  it("buys as the token's buyer, with or without the same buyerId in the body", async () => {
    const withBody = await buyNow(system, {
      itemId,
      buyerId: 'token-buyer',
      json: { buyerId: 'token-buyer' },
    });
    const without = await buyNow(system, { itemId, buyerId: 'token-buyer', json: {} });
    expect([withBody.status, without.status]).toEqual([202, 202]);
    expect([withBody.body.buyerId, without.body.buyerId]).toEqual(['token-buyer', 'token-buyer']);
    // The per-buyer limit (2) counts the token's buyer: a third unit is refused whatever the body says.
    const third = await buyNow(system, { itemId, buyerId: 'token-buyer', json: {} });
    expect({ status: third.status, reason: third.body.reason }).toEqual({
      status: 409,
      reason: 'LIMIT_EXCEEDED',
    });
    expect(await availableAtGate(system, itemId)).toBe(8);
  });
});
