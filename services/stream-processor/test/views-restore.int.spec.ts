// Redis loses its data: the processor brings the read model back from the compacted stock-views topic
// (not by refolding item-events), and events arriving around the loss are still folded exactly once.
import type { ItemEvent } from '@buy-now/contracts';
import { stockViewKeys } from '@buy-now/read-model';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldStockViews } from '../src/domain/stock-view.js';
import { viewsEpochKey } from '../src/views-restore.js';
import { ItemScript } from './support/item-script.js';
import { startTestSystem, type ProcessorChild, type TestSystem } from './support/system.js';

let system: TestSystem;
let processor: ProcessorChild;

beforeAll(async () => {
  system = await startTestSystem();
  processor = await system.startProcessorChild();
});

afterAll(async () => {
  await system?.stop();
});

/** The processor's 'restored' log lines still in its output (its last 200 lines). */
const restoreLines = () =>
  processor
    .output()
    .split('\n')
    .filter((line) => line.includes('read model restored from stock-views'));

const byItemId = (views: Iterable<{ itemId: string }>) =>
  [...views].sort((a, b) => a.itemId.localeCompare(b.itemId));

const T0 = Date.now() - 60_000;

describe('the read model after Redis lost its data', () => {
  const scripts = [0, 1, 2, 3].map((i) => new ItemScript(`restore-${i}`, { stock: 400, at: T0 }));
  scripts[3]?.adjust(T0 + 5, 100);
  for (let n = 0; n < 300; n++) for (const script of scripts) script.buy(T0 + 10 + n);
  const events = (from: number, to: number): ItemEvent[] =>
    scripts.flatMap((script) => script.events.slice(from, to));

  it('is restored from stock-views, identical, and logged', async () => {
    const marker = viewsEpochKey(system.config.REDIS_KEY_PREFIX);
    expect(await system.redis.exists(marker)).toBe(1);

    await system.produce(events(0, 150));
    await system.waitUntilCaughtUp();
    const before = await system.views.list();
    expect(before).toEqual(byItemId(foldStockViews(new Map(), events(0, 150)).views.values()));
    expect(before).toHaveLength(4);

    // The processor restores on its own within a second of the loss, so an empty read model right after
    // it is a matter of timing. The loss is proved by what was deleted, the restore after it by a log line
    // that was not there before (each line carries its time) and a marker written anew.
    const loggedBefore = new Set(restoreLines());
    const markedBefore = await system.redis.get(marker);
    expect(markedBefore).not.toBeNull();
    const lost = await system.loseRedisData();
    expect(lost.deleted).toBe(lost.keys.length);
    const keys = stockViewKeys(system.config.REDIS_KEY_PREFIX);
    expect(lost.keys).toEqual(
      expect.arrayContaining([marker, keys.items, ...before.map((view) => keys.view(view.itemId))]),
    );

    const line = await waitFor(
      'a restore logged after the loss',
      () => restoreLines().find((logged) => !loggedBefore.has(logged)),
      { timeoutMs: 30_000, intervalMs: 100, describe: () => processor.output() },
    );
    expect(JSON.parse(line)).toMatchObject({ items: 4, written: 4 });
    const markedAfter = await system.redis.get(marker);
    expect(markedAfter).not.toBeNull();
    expect(markedAfter).not.toBe(markedBefore);
    expect(await system.views.list()).toEqual(before);
  });

  it('folds every event exactly once when Redis loses its data while events flow', async () => {
    const rest = events(150, Number.MAX_SAFE_INTEGER);
    const half = Math.floor(rest.length / 2);
    const producing = system.produce(rest.slice(0, half));
    await system.loseRedisData();
    await producing;
    await system.produce(rest.slice(half));
    await system.waitUntilCaughtUp();

    const all = scripts.flatMap((script) => script.events);
    const expected = byItemId(foldStockViews(new Map(), all).views.values());
    let seen: unknown;
    const views = await waitFor(
      'the views of every event',
      async () => {
        const list = await system.views.list();
        seen = list.map((view) => [view.itemId, view.version, view.sold]);
        return JSON.stringify(list) === JSON.stringify(expected) ? list : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, describe: () => seen },
    );
    expect(views).toEqual(expected);
    expect(views.map((view) => [view.itemId, view.sold, view.available])).toEqual([
      ['restore-0', 300, 100],
      ['restore-1', 300, 100],
      ['restore-2', 300, 100],
      ['restore-3', 300, 200],
    ]);
    // The compacted topic agrees with the restored read model.
    const latest = await system.latestStockViews();
    for (const view of views) expect(latest.get(view.itemId)).toEqual(view);
  });
});
