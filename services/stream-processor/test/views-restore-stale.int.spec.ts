// Log compaction keeps the last write of each key, not the highest version. A processor instance that
// lost its partition (a long pause, then eviction) may publish an older view after the new owner's newer
// one; once compacted, that older view is all stock-views holds of the item. A restore must still bring
// the read model back to the latest fold of item-events, and the topic must heal.
import {
  decode,
  encode,
  formatViewSource,
  HeaderNames,
  type ItemEvent,
  type StockView,
} from '@buy-now/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldStockViews } from '../src/domain/stock-view.js';
import { ItemScript } from './support/item-script.js';
import { startTestSystem, type TestSystem } from './support/system.js';

let system: TestSystem;

beforeAll(async () => {
  // DeleteRecords, which stands in for the log cleaner here, is refused on a compacted topic.
  system = await startTestSystem({}, { partitions: 2, stockViewsCompacted: false });
});

afterAll(async () => {
  await system?.stop();
});

const T0 = Date.now() - 60_000;
const byItemId = (views: Iterable<StockView>) => [...views].sort((a, b) => a.itemId.localeCompare(b.itemId));

describe('a stale view that won on the compacted topic', () => {
  const scripts = [0, 1, 2].map((i) => new ItemScript(`stale-${i}`, { stock: 100, at: T0 }));
  scripts[1]?.adjust(T0 + 5, 20);
  for (let n = 0; n < 40; n++) for (const script of scripts) script.buy(T0 + 10 + n);
  const all: ItemEvent[] = scripts.flatMap((script) => script.events);
  const expected = byItemId(foldStockViews(new Map(), all).views.values());

  it('is brought up to date by the restore, and stock-views holds the latest view again', async () => {
    const processor = await system.startProcessor();
    await system.produce(all);
    await system.waitUntilCaughtUp();
    expect(await system.views.list()).toEqual(expected);
    await processor.stop();

    // Where each event of stale-0 landed: the evicted instance had folded up to its 12th.
    const positions = new Map<number, { partition: number; offset: string }>();
    for (const record of await system.readRecords(system.names.itemEventsTopic)) {
      const event = decode(record.headers, record.value).value as ItemEvent['value'];
      if (event.itemId === 'stale-0' && event.version !== null) positions.set(event.version, record);
    }
    const staleScript = scripts[0] as ItemScript;
    const staleView = foldStockViews(new Map(), staleScript.events.slice(0, 12)).views.get('stale-0');
    const at = positions.get(12);
    if (staleView === undefined || at === undefined) throw new Error('stale-0 has no 12th event');
    expect(staleView.version).toBe(12);
    const encoded = encode('StockView', staleView);
    await system.produceRecords([
      {
        topic: system.names.stockViewsTopic,
        ...encoded,
        headers: {
          ...encoded.headers,
          [HeaderNames.viewSource]: formatViewSource({ partition: at.partition, offset: BigInt(at.offset) }),
        },
      },
    ]);
    await system.compactStockViewsNow();
    const compacted = await system.latestStockViews();
    expect(compacted.get('stale-0')).toEqual(staleView);
    expect(compacted.size).toBe(3);

    const lost = await system.loseRedisData();
    expect(lost.deleted).toBeGreaterThan(0);
    const restarted = await system.startProcessor();
    try {
      expect(await system.views.list()).toEqual(expected);
      const healed = await system.latestStockViews();
      expect(byItemId(healed.values())).toEqual(expected);
    } finally {
      await restarted.stop();
    }
  });
});
