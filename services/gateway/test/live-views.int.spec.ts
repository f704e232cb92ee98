// The live views end to end, with the stream processor running as its own process: GET /items serves the
// processor's read model, which equals SQL; the compacted stock-views topic carries the same views (for a
// dashboard reading it with Kafka's own tools); and the views come back equal to SQL after the processor
// is killed mid-sale, and identical after they were wiped and refolded from offset 0.
import { spawn } from 'node:child_process';
import { fetchTopicOffsets, resetGroupOffsets } from '@buy-now/kafka';
import { createStockViewStore, type StockViewStore } from '@buy-now/read-model';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itemJson, itemViewOf } from '../src/domain/item-view.js';
import {
  REPO_ROOT,
  buyAllAtOnce,
  getItem,
  itemRow,
  listItem,
  purchaseIdsOf,
  readLatestStockViews,
  startSystem,
  tally,
  waitForItem,
  waitUntilDecided,
  type BuyNowAnswer,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;
let readModel: StockViewStore;

beforeAll(async () => {
  system = await startSystem();
  readModel = createStockViewStore({ redis: system.redis, prefix: system.redisPrefix });
});

afterAll(async () => {
  await system?.stop();
});

interface CommandRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCommand(command: string, args: string[], env: Record<string, string> = {}): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('exit', (code) =>
      resolve({
        code,
        // Avro values are binary: latin1 keeps every byte, and the UTF-8 keys are plain ASCII here.
        stdout: Buffer.concat(out).toString('latin1'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** Every item of the system: SQL's row, the read model's view and GET /items/:id agree. */
async function expectViewsEqualSql(itemIds: readonly string[]): Promise<void> {
  for (const itemId of itemIds) {
    const row = await itemRow(system, itemId);
    if (row === undefined) throw new Error(`no SQL row for ${itemId}`);
    const served = await waitForItem(system, itemId, row.version);
    const stored = await readModel.get(itemId);
    expect(stored).toMatchObject({
      itemId,
      listed: row.listed,
      sold: row.sold,
      available: row.remaining,
      version: row.version,
    });
    if (stored === null) throw new Error(`no view of ${itemId}`);
    expect(served).toEqual(itemJson(itemViewOf(stored, Date.now())));
  }
}

const buyers = (itemId: string, n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ itemId, buyerId: `${tag}-${i}` }));

describe('live views from the stream processor', () => {
  const itemIds: string[] = [];

  it('serves the read model, equal to SQL, and the same views on the compacted topic', async () => {
    const hot = await listItem(system, { stock: 300 });
    const calm = await listItem(system, { stock: 50 });
    itemIds.push(hot, calm);
    const answers = await buyAllAtOnce(system, [...buyers(hot, 900, 'hot'), ...buyers(calm, 20, 'calm')]);
    expect(tally(answers)).toEqual({ '202': 320, '409 SOLD_OUT': 600 });
    await waitUntilDecided(system, purchaseIdsOf(answers.filter((a) => a.status === 202)));
    expect(await itemRow(system, hot)).toEqual({ listed: 300, sold: 300, remaining: 0, version: 302 });
    expect(await itemRow(system, calm)).toEqual({ listed: 50, sold: 20, remaining: 30, version: 21 });

    // A dashboard reading the topic with Kafka's own console consumer, no code of ours. It stops after
    // the records there now (every item has had a view since its listing), or after 15 s without one.
    const records = (await fetchTopicOffsets(system.kafka, system.topics.stockViews)).reduce(
      (sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)),
      0,
    );
    const console = runCommand('bash', [
      'infra/bin/kafka-tool.sh',
      'console-consumer',
      '--topic',
      system.topics.stockViews,
      '--from-beginning',
      '--property',
      'print.key=true',
      '--timeout-ms',
      '15000',
      '--max-messages',
      String(records),
    ]);

    await expectViewsEqualSql(itemIds);
    expect(await getItem(system, hot)).toMatchObject({ available: 0, sold: 300, status: 'sold-out' });
    expect(await getItem(system, calm)).toMatchObject({ available: 30, sold: 20, status: 'live' });

    // The topic read with a plain consumer and the contracts' decoder: its latest record per key is the
    // read model's view.
    const latest = await readLatestStockViews(system);
    const views = await readModel.list();
    expect(views.map((view) => view.itemId).sort()).toEqual([...itemIds].sort());
    expect(new Map(views.map((view) => [view.itemId, view]))).toEqual(latest);

    const printed = await console;
    expect(printed.stderr).toContain(`Processed a total of ${records} messages`);
    for (const itemId of itemIds) expect(printed.stdout).toMatch(new RegExp(`(^|\\n)${itemId}\\t`));
  });

  it('converges to SQL after the processor is killed mid-sale (kill -9) and restarted', async () => {
    const STOCK = 1_000;
    const itemId = await listItem(system, { stock: STOCK });
    itemIds.push(itemId);
    const answers: BuyNowAnswer[] = [];
    // 15 waves of 200 buyers: the stock lasts 5 waves, the processor is killed after the first.
    for (let wave = 0; wave < 15; wave++) {
      answers.push(...(await buyAllAtOnce(system, buyers(itemId, 200, `kill-${wave}`))));
      if (wave === 0) {
        await waitFor('the sale in the views', async () =>
          ((await readModel.get(itemId))?.sold ?? 0) > 0 ? true : undefined,
        );
        await system.stopProcessor('SIGKILL');
        expect(system.processor.isRunning()).toBe(false);
      }
    }
    expect(tally(answers)).toEqual({ '202': STOCK, '409 SOLD_OUT': 3_000 - STOCK });
    await waitUntilDecided(system, purchaseIdsOf(answers.filter((a) => a.status === 202)));
    const stalled = await readModel.get(itemId);
    expect(stalled?.sold ?? 0).toBeLessThan(STOCK);

    await system.startProcessor();
    await expectViewsEqualSql(itemIds);

    const verify = await runCommand(
      process.execPath,
      ['services/stream-processor/dist/cli/verify.js', '--wait-seconds', '30'],
      {
        KAFKA_BROKERS: system.config.KAFKA_BROKERS.join(','),
        DATABASE_URL: system.database.url,
        REDIS_URL: system.config.REDIS_URL,
        REDIS_KEY_PREFIX: system.redisPrefix,
        TOPIC_PREFIX: system.topicPrefix,
      },
    );
    expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: '' });
    expect(verify.stdout).toContain('verify: 3 items in SQL, 3 views; 3 equal, 0 different (0 differences)');
  });

  it('refolds identical views from offset 0 after they were wiped', async () => {
    const before = await readModel.list();
    expect(before).toHaveLength(3);
    const topicBefore = await readLatestStockViews(system);

    // views:rebuild --apply by hand: stop the processor, delete the read model, rewind its group.
    await system.stopProcessor('SIGTERM');
    expect(await readModel.deleteAll()).toBe(4);
    expect(await readModel.list()).toEqual([]);
    await resetGroupOffsets(system.kafka, system.processorGroupId, system.topics.itemEvents, 'earliest');
    await system.startProcessor();

    const after = await waitFor(
      'the views refolded',
      async () => {
        const views = await readModel.list();
        return views.length === before.length && views.every((v, i) => v.version === before[i]?.version)
          ? views
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(after).toEqual(before);
    expect(await readLatestStockViews(system)).toEqual(topicBefore);
    await expectViewsEqualSql(itemIds);
  });
});
