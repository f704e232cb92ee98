// Requests the gateway must refuse: each gets the one error shape with a stable code, and none of them
// changes anything — not the gate, not item-commands, not SQL.
import { fetchTopicOffsets } from '@buy-now/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  asBuyer,
  availableAtGate,
  errorShape,
  getItem,
  listItem,
  request,
  sql,
  startSystem,
  type RequestOptions,
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

async function observable() {
  return {
    gate: await availableAtGate(system, itemId),
    view: (await getItem(system, itemId)).available,
    commands: (await fetchTopicOffsets(system.kafka, system.topics.itemCommands)).map((p) => p.high),
    purchases: (await sql<{ n: string }>(system, 'SELECT count(*) AS n FROM purchases'))[0]?.n,
    items: await sql(system, 'SELECT item_id, listed, sold, remaining, version FROM items ORDER BY item_id'),
  };
}

const buyPath = () => `/items/${itemId}/buy-now`;
// The buyer's token is valid: what is wrong is the rest of the request (the token cases are in security).
const key = { 'idempotency-key': 'bad-input-key-1', ...asBuyer('b1') };

interface Case {
  name: string;
  method?: string;
  path: () => string;
  options: RequestOptions;
  status: number;
  code: string;
}

const cases: Case[] = [
  {
    name: 'an unknown item',
    path: () => '/items/no-such-item/buy-now',
    options: { headers: key, json: { buyerId: 'b1' } },
    status: 404,
    code: 'ITEM_NOT_FOUND',
  },
  {
    name: 'malformed JSON',
    path: buyPath,
    options: { headers: key, rawBody: '{"buyerId": "b1",' },
    status: 400,
    code: 'MALFORMED_JSON',
  },
  {
    name: 'quantity 0',
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b1', quantity: 0 } },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'quantity -1',
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b1', quantity: -1 } },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'quantity 1.5',
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b1', quantity: 1.5 } },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'quantity as a string',
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b1', quantity: '1' } },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: "a quantity above the item's per-buyer limit",
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b1', quantity: 3 } },
    status: 400,
    code: 'QUANTITY_ABOVE_LIMIT',
  },
  {
    name: 'a body over the size limit',
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b1', note: 'x'.repeat(5_000) } },
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'no Idempotency-Key',
    path: buyPath,
    options: { headers: asBuyer('b1'), json: { buyerId: 'b1' } },
    status: 400,
    code: 'IDEMPOTENCY_KEY_REQUIRED',
  },
  {
    name: 'an unknown field',
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b1', quantity: 1, price: 1 } },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a buyerId off the pattern',
    path: buyPath,
    options: { headers: key, json: { buyerId: 'b 1', quantity: 1 } },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an item id longer than the router matches (100 characters)',
    path: () => `/items/${'a'.repeat(101)}/buy-now`,
    options: { headers: key, json: { buyerId: 'b1' } },
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an item id that is not valid percent-encoding',
    method: 'GET',
    path: () => '/items/a%zz',
    options: {},
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'admin listing without a token',
    path: () => '/admin/items',
    options: { json: { title: 'Forged', priceMinor: 1, currency: 'EUR', stock: 5 } },
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'admin listing with a wrong token',
    path: () => '/admin/items',
    options: {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}-wrong` },
      json: { title: 'Forged', priceMinor: 1, currency: 'EUR', stock: 5 },
    },
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'admin restock without a token',
    path: () => `/admin/items/${itemId}/stock`,
    options: { json: { delta: 5 } },
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'admin listing without a token and with a bad body (auth is checked first)',
    path: () => '/admin/items',
    options: { json: { title: '', stock: -1, extra: true } },
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'admin restock with a wrong token',
    path: () => `/admin/items/${itemId}/stock`,
    options: { headers: { authorization: 'Bearer not-the-admin-token-at-all' }, json: { delta: 5 } },
    status: 401,
    code: 'UNAUTHORIZED',
  },
];

describe('bad input', () => {
  it.each(cases)('refuses $name with $status $code and changes nothing', async (c) => {
    const before = await observable();
    const answer = await request(system.baseUrl, c.method ?? 'POST', c.path(), c.options);
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: c.status,
      body: errorShape(c.code),
    });
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await observable()).toEqual(before);
  });

  it('still sells after all of them: the refusals left the item intact', async () => {
    expect(await observable()).toMatchObject({ gate: 10, view: 10, purchases: '0' });
    const answer = await request(system.baseUrl, 'POST', buyPath(), {
      headers: { 'idempotency-key': 'bad-input-key-2', prefer: 'wait=10', ...asBuyer('b1') },
      json: { quantity: 2 },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ status: 'confirmed', quantity: 2 });
  });
});
