// SIGTERM in the middle of a sale loses nothing, for each service run as a child process on the
// fault-injection harness's private servers: the reservation service commits the batch in hand and its
// offsets, the stream processor folds nothing it did not commit, the gateway answers every request in
// flight (even one waiting with `Prefer: wait`) and exits at once; after restarts the history checker
// finds every accepted purchase decided exactly once and the views equal to SQL.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topics } from '@buy-now/contracts';
import { fetchCommittedOffsets, fetchTopicOffsets } from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAdminClient,
  runBuyers,
  sendBuyNow,
  type BuyAttempt,
  type Gateway,
} from '../src/chaos/buyers.js';
import { checkHistory } from '../src/chaos/invariants.js';
import {
  askPurchaseStatuses,
  readAdmissions,
  readItemEvents,
  readLatestStockViews,
  readReadModel,
  readSqlItems,
  readSqlPurchases,
  readTopic,
  unpublishedOutboxRows,
} from '../src/chaos/observe.js';
import { createRandom } from '../src/chaos/random.js';
import { ADMIN_TOKEN, quiesce, startSystem, type System } from '../src/chaos/run.js';
import { decode } from '@buy-now/contracts';

const logger = createLogger({ service: 'graceful-shutdown-test', level: 'silent' });
const print = (line: string) => process.stdout.write(`[graceful] ${line}\n`);
const LOG_DIR = fileURLToPath(new URL(`../.run/graceful-shutdown/${Date.now()}`, import.meta.url));
const ITEMS = [
  { itemId: 'calm-a', stock: 20_000, perBuyerLimit: 3 },
  { itemId: 'calm-b', stock: 20_000, perBuyerLimit: 1 },
];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let system: System;
const attempts: BuyAttempt[] = [];
const random = createRandom(7);

beforeAll(async () => {
  system = await startSystem(logger, print, join(LOG_DIR));
  const admin = createAdminClient(system.gateways, ADMIN_TOKEN, random);
  for (const item of ITEMS) await admin.list(item);
}, 240_000);

afterAll(async () => {
  await system?.stop();
}, 120_000);

/** Buyers for `durationMs` in the background; their attempts join the run's history. */
function saleFor(durationMs: number, gateways: readonly Gateway[] = system.gateways): Promise<void> {
  return runBuyers({ gateways, items: ITEMS, buyers: 5_000, concurrency: 6, durationMs, random }).then(
    (done) => {
      attempts.push(...done);
    },
  );
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** After everything quiesced: invariants 1–5 over every request so far. */
async function expectCleanHistory(): Promise<void> {
  const accepted = [...new Set(attempts.filter((a) => a.status === 202).map((a) => a.purchaseId as string))];
  expect(await quiesce(system, accepted, 120_000, print)).toBe(true);
  const kafka = system.servers.kafka;
  const verdict = checkHistory({
    attempts,
    faults: [],
    sqlItems: await readSqlItems(system.pool),
    sqlPurchases: await readSqlPurchases(system.pool),
    itemEvents: await readItemEvents(kafka),
    ...(await readAdmissions(kafka)),
    statusAnswers: await askPurchaseStatuses(system.gateways[0] as Gateway, accepted),
    readModel: await readReadModel(system.redis, 'bn:'),
    latestStockViews: await readLatestStockViews(kafka),
  });
  expect(verdict.invariants.map((inv) => [inv.id, inv.violations, inv.examples])).toEqual(
    [1, 2, 3, 4, 5, 6].map((id) => [id, 0, []]),
  );
  expect(verdict.decidedWithout202).toBe(0);
}

async function purchaseCount(): Promise<number> {
  const { rows } = await system.pool.query<{ n: string }>('SELECT count(*) AS n FROM purchases');
  return Number(rows[0]?.n ?? 0);
}

describe('SIGTERM mid-sale loses nothing', () => {
  it('reservation: the batch in hand is decided, published and committed; after a restart every purchase is decided once', async () => {
    const sale = saleFor(10_000);
    const before = await purchaseCount();
    await waitUntil('the sale under way in SQL', async () => (await purchaseCount()) >= before + 50);
    const service = system.services.get('reservation');
    const exit = await service!.terminate();
    expect(exit).toMatchObject({ code: 0, signal: null, signalSent: 'SIGTERM' });

    // Nothing decided is left unpublished, and the committed offsets cover exactly what SQL decided.
    expect(await unpublishedOutboxRows(system.pool)).toBe(0);
    const committed = new Map(
      (await fetchCommittedOffsets(system.servers.kafka, 'reservation', Topics.itemCommands)).map((c) => [
        c.partition,
        BigInt(c.offset),
      ]),
    );
    const decided = new Set((await readSqlPurchases(system.pool)).map((p) => p.purchaseId));
    const misplaced: string[] = [];
    for (const { partition, offset, record } of await readTopic(system.servers.kafka, Topics.itemCommands)) {
      const command = decode(record.headers, record.value);
      if (command.name !== 'BuyRequested') continue;
      const belowCommit = offset < (committed.get(partition) ?? 0n);
      if (belowCommit !== decided.has(command.value.purchaseId)) {
        misplaced.push(
          `${partition}@${offset} ${belowCommit ? 'committed, undecided' : 'decided, uncommitted'}`,
        );
      }
    }
    expect(misplaced).toEqual([]);

    await service!.start();
    await sale;
    await expectCleanHistory();
  }, 300_000);

  it('stream processor: views hold exactly the committed events; after a restart they equal SQL', async () => {
    const sale = saleFor(10_000);
    await sleep(3_000);
    const service = system.services.get('stream-processor');
    const exit = await service!.terminate();
    expect(exit).toMatchObject({ code: 0, signal: null, signalSent: 'SIGTERM' });

    const kafka = system.servers.kafka;
    const committed = new Map(
      (await fetchCommittedOffsets(kafka, 'stream-processor', Topics.itemEvents)).map((c) => [
        c.partition,
        BigInt(c.offset),
      ]),
    );
    const foldedUpTo = new Map<string, number>();
    for (const { partition, offset, event } of await readItemEvents(kafka)) {
      if (offset >= (committed.get(partition) ?? 0n) || event.name === 'PurchaseRejected') continue;
      foldedUpTo.set(
        event.value.itemId,
        Math.max(foldedUpTo.get(event.value.itemId) ?? 0, event.value.version),
      );
    }
    const views = await readReadModel(system.redis, 'bn:');
    expect(new Map([...views].map(([itemId, view]) => [itemId, view.version]))).toEqual(foldedUpTo);

    await service!.start();
    await sale;
    await expectCleanHistory();
  }, 300_000);

  it('gateway: every request in flight is answered, the process exits 0 at once, every 202 is decided later', async () => {
    const gateway = system.gateways[0] as Gateway;
    const reservation = system.services.get('reservation');
    // With the reservation service stopped, purchases stay undecided: requests waiting for their outcome
    // (Prefer: wait=25) are surely in flight when the gateway gets SIGTERM.
    expect(await reservation!.terminate()).toMatchObject({ code: 0 });
    const kafka = system.servers.kafka;
    const commandsNow = async () =>
      (await fetchTopicOffsets(kafka, Topics.itemCommands)).reduce((sum, p) => sum + Number(p.high), 0);
    const before = await commandsNow();
    const waiting = Array.from({ length: 20 }, (_, i) =>
      sendBuyNow(
        gateway,
        {
          itemId: 'calm-a',
          buyerId: `waiter-${i}`,
          quantity: 1,
          idempotencyKey: `key-${randomUUID()}`,
          prefer: 'wait=25',
        },
        1,
      ),
    );
    await waitUntil('20 purchases published', async () => (await commandsNow()) >= before + 20);
    const sale = saleFor(4_000, [gateway]); // and a stream of ordinary requests to the same instance

    await sleep(1_000);
    const service = system.services.get('gateway-a');
    const exit = await service!.terminate();
    expect(exit).toMatchObject({ code: 0, signal: null, signalSent: 'SIGTERM' });
    // Far below the 25 s the waiting requests asked for: shutdown does not wait for decisions.
    expect(exit.afterSignalMs).toBeLessThan(15_000);
    const answered = await Promise.all(waiting);
    attempts.push(...answered);
    expect(answered.map((a) => [a.status, a.connectionError])).toEqual(answered.map(() => [202, undefined]));

    await sale;
    await Promise.all([service!.start(), reservation!.start()]);
    await expectCleanHistory();
  }, 300_000);
});
