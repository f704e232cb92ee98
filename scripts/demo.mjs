// The demo: starts the reservation service, the stream processor and the gateway, lists a few items (one opening a few
// seconds later), and sends a crowd of buyers at a steady rate with a live progress line. Items that
// sell out are restocked after a pause so there is always something to watch. Ctrl-C stops it all.
//   node scripts/demo.mjs [--rate 200] [--port 3000]
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { signBuyerToken } from '@buy-now/buyer-auth';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: process.env.DEMO_RATE ?? '200' },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
  },
});
const rate = Math.max(1, Number(args.rate));
const base = `http://127.0.0.1:${args.port}`;
const adminToken = process.env.ADMIN_TOKEN ?? `demo-${randomBytes(12).toString('hex')}`;
const buyerTokenSecret = process.env.BUYER_TOKEN_SECRET ?? randomBytes(32).toString('hex');
const logDir = 'infra/.run/demo';
mkdirSync(logDir, { recursive: true });

const env = {
  ...process.env,
  ADMIN_TOKEN: adminToken,
  BUYER_TOKEN_SECRET: buyerTokenSecret,
  // Demo mode: POST /dev/buyer-tokens hands out tokens (the storefront gets its buyer's there) and the
  // seed API answers (never in production).
  DEMO_MODE: 'true',
  // The whole crowd comes from 127.0.0.1: the per-address limit is raised so it does not stop the show.
  RATE_LIMIT_IP_MAX: process.env.RATE_LIMIT_IP_MAX ?? '1000000',
  PORT: args.port,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
};
const children = [];
function start(name, script) {
  const out = openSync(`${logDir}/${name}.log`, 'a');
  const child = spawn(process.execPath, [script], { env, stdio: ['ignore', out, out] });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`\n${name} exited (${signal ?? code}); its log: ${logDir}/${name}.log`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping the services…\n');
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  console.log('stopped. Kafka keeps running: `npm run infra:down` stops it.');
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function api(method, path, body, headers = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, body: json };
}

start('reservation', 'services/reservation/dist/main.js');
start('stream-processor', 'services/stream-processor/dist/main.js');
start('gateway', 'services/gateway/dist/main.js');

process.stdout.write('waiting for the gateway to be ready');
for (let i = 0; ; i++) {
  try {
    const ready = await api('GET', '/readyz');
    if (ready.status === 200) break;
  } catch {
    // not listening yet
  }
  if (i > 120) {
    console.error(`\nthe gateway did not become ready in 60 s; see ${logDir}/gateway.log`);
    await stop(1);
  }
  process.stdout.write('.');
  await sleep(500);
}
console.log(' ready');

const admin = { authorization: `Bearer ${adminToken}` };
const run = randomBytes(2).toString('hex');
const demoItems = [
  {
    itemId: `sneakers-${run}`,
    title: 'Limited sneakers',
    priceMinor: 12_999,
    currency: 'EUR',
    stock: 500,
    perBuyerLimit: 2,
  },
  {
    itemId: `console-${run}`,
    title: 'Game console',
    priceMinor: 49_900,
    currency: 'EUR',
    stock: 200,
    perBuyerLimit: 1,
  },
  {
    itemId: `vinyl-${run}`,
    title: 'Signed vinyl (opens in 15 s)',
    priceMinor: 3_500,
    currency: 'EUR',
    stock: 300,
    perBuyerLimit: 1,
    startsAt: new Date(Date.now() + 15_000).toISOString(),
  },
];
for (const item of demoItems) {
  const listed = await api('POST', '/admin/items', item, admin);
  if (listed.status !== 201 && listed.status !== 202) {
    console.error(`listing ${item.itemId} failed: ${listed.status} ${JSON.stringify(listed.body)}`);
    await stop(1);
  }
}

console.log(`
Buy Now demo is running. Open in a browser (watch the stock fall, and buy one yourself):
  storefront   ${base}/
  dashboard    ${base}/dashboard

  items        ${base}/items
  one item     ${base}/items/${demoItems[0].itemId}
  API docs     ${base}/docs
  metrics      ${base}/metrics
  a token      TOKEN=$(curl -s -X POST ${base}/dev/buyer-tokens | sed -E 's/.*"token":"([^"]+)".*/\\1/')
  buy one      curl -X POST ${base}/items/${demoItems[0].itemId}/buy-now -H "Authorization: Bearer $TOKEN" \\
                 -H 'content-type: application/json' -H "Idempotency-Key: $(uuidgen || date +%s%N)" \\
                 -H 'Prefer: wait=5' -d '{}'
  admin token  ${adminToken}
  logs         ${logDir}/
A crowd of buyers sends ${rate} requests/s (change with --rate). Ctrl-C stops everything.
`);

// The crowd signs its own tokens with the gateway's secret (as a login service would).
const tokens = new Map();
function tokenOf(buyerId) {
  let token = tokens.get(buyerId);
  if (token === undefined) {
    token = signBuyerToken({ secret: buyerTokenSecret, buyerId, ttlSeconds: 24 * 3_600 });
    tokens.set(buyerId, token);
  }
  return token;
}

const counts = { sent: 0, accepted: 0, soldOut: 0, limit: 0, notStarted: 0, other: 0, failed: 0 };
const soldOutSince = new Map();
let inFlight = 0;
async function buyOnce() {
  const live = demoItems[Math.floor(Math.random() * demoItems.length)];
  const buyer = `buyer-${Math.floor(Math.random() * 100_000)}`;
  inFlight++;
  counts.sent++;
  try {
    const answer = await api(
      'POST',
      `/items/${live.itemId}/buy-now`,
      {},
      { 'idempotency-key': randomUUID(), authorization: `Bearer ${tokenOf(buyer)}` },
    );
    if (answer.status === 202) counts.accepted++;
    else if (answer.status === 409) {
      const reason = answer.body?.reason;
      if (reason === 'SOLD_OUT') counts.soldOut++;
      else if (reason === 'LIMIT_EXCEEDED') counts.limit++;
      else if (reason === 'NOT_STARTED') counts.notStarted++;
      else counts.other++;
    } else counts.other++;
  } catch {
    counts.failed++;
  } finally {
    inFlight--;
  }
}

setInterval(async () => {
  if (stopping) return;
  const items = await api('GET', '/items').catch(() => undefined);
  const ours = (items?.body?.items ?? []).filter((i) => demoItems.some((d) => d.itemId === i.itemId));
  const stock = ours.map((i) => `${i.itemId.split('-')[0]} ${i.available}/${i.listed}`).join(' · ');
  process.stdout.write(
    `\r${counts.sent} sent · ${counts.accepted} accepted · ${counts.soldOut} sold out · ${counts.limit} over limit · ` +
      `${counts.notStarted} not started · ${counts.failed + counts.other} other │ ${stock}   `,
  );
  // Restock what sold out a while ago, so the demo keeps selling.
  for (const item of ours) {
    if (item.status !== 'sold-out') {
      soldOutSince.delete(item.itemId);
      continue;
    }
    const since = soldOutSince.get(item.itemId) ?? Date.now();
    soldOutSince.set(item.itemId, since);
    if (Date.now() - since > 10_000) {
      soldOutSince.delete(item.itemId);
      await api('POST', `/admin/items/${item.itemId}/stock`, { delta: 200 }, admin).catch(() => undefined);
    }
  }
}, 1_000);

const tick = 50;
let carry = 0;
for (;;) {
  if (stopping) break;
  carry += (rate * tick) / 1000;
  while (carry >= 1 && inFlight < 2_000) {
    carry -= 1;
    void buyOnce();
  }
  await sleep(tick);
}
