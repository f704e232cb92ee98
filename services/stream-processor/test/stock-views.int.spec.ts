// The fold through the real broker: item-events in, the Redis read model and the compacted stock-views
// topic out; duplicates change nothing and undecodable records go to the dead-letter topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStreamProcessor } from '../src/stream-processor.js';
import { foldStockViews } from '../src/domain/stock-view.js';
import { ItemScript } from './support/item-script.js';
import { startTestSystem, type TestSystem } from './support/system.js';

let system: TestSystem;
let processor: RunningStreamProcessor;

beforeAll(async () => {
  system = await startTestSystem();
  processor = await system.startProcessor();
});

afterAll(async () => {
  await system?.stop();
});

const T0 = Date.now() - 60_000;

describe('the stream processor folding item-events', () => {
  const hot = new ItemScript('hot', { stock: 1_000, at: T0 });
  for (let i = 1; i <= 1_000; i++) {
    hot.buy(T0 + i);
    if (i % 100 === 0) hot.reject(T0 + i, 'LIMIT_EXCEEDED');
  }
  hot.reject(T0 + 2_000, 'SOLD_OUT');
  const calm = new ItemScript('calm', { stock: 10, at: T0, startsAt: T0 + 500 })
    .buy(T0 + 600, 2)
    .adjust(T0 + 700, 5);

  it('gives the view of 1,000 purchases and a sell-out, in Redis and as the latest record of stock-views', async () => {
    await system.produce([...hot.events, ...calm.events]);
    await system.waitUntilCaughtUp();

    const view = await system.views.get('hot');
    expect(view).toMatchObject({
      available: 0,
      sold: 1_000,
      listed: 1_000,
      status: 'SOLD_OUT',
      version: 1_002,
    });
    expect(view?.soldOutAt).toBe(T0 + 1_000);
    const expected = foldStockViews(new Map(), [...hot.events, ...calm.events]).views;
    expect(await system.views.list()).toEqual([expected.get('calm'), expected.get('hot')]);

    const latest = await system.latestStockViews();
    expect(latest.get('hot')).toEqual(view);
    expect(latest.get('calm')).toEqual(expected.get('calm'));
  });

  it('changes nothing when events arrive again', async () => {
    const viewsBefore = await system.views.list();
    const stockViewsBefore = await system.endOffsets(system.names.stockViewsTopic);
    await system.produce([...hot.events.slice(0, 300), ...hot.events.slice(-20), ...calm.events]);
    await system.waitUntilCaughtUp();

    expect(await system.views.list()).toEqual(viewsBefore);
    // Nothing changed, so nothing was published either.
    expect(await system.endOffsets(system.names.stockViewsTopic)).toEqual(stockViewsBefore);
  });

  it('sends a record it cannot decode to the dead-letter topic and carries on', async () => {
    const later = new ItemScript('later', { stock: 1, at: T0 }).buy(T0 + 1);
    await system.produceGarbage();
    await system.produce(later.events);
    await system.waitUntilCaughtUp();

    const dlq = await system.endOffsets(`${system.names.itemEventsTopic}.dlq`);
    expect(dlq.map(({ high }) => Number(high)).reduce((a, b) => a + b, 0)).toBe(1);
    expect(await system.views.get('later')).toMatchObject({ sold: 1, status: 'SOLD_OUT', version: 3 });
    expect(processor.consumer.health().recordsDeadLettered).toBe(1);
  });
});
