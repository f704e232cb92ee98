// Kappa reprocessing: the rebuild CLI replays item-events into fresh views and compares them with the
// live read model; --apply wipes the read model and rewinds the processor, which folds identical views.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StockView } from '@buy-now/contracts';
import type { RunningStreamProcessor } from '../src/stream-processor.js';
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

describe('views:rebuild', () => {
  const scripts = [
    new ItemScript('r-1', { stock: 40, at: T0 }),
    new ItemScript('r-2', { stock: 5, at: T0, startsAt: T0 + 30_000 }),
    new ItemScript('r-3', { stock: 3, at: T0 }),
  ];
  for (let i = 0; i < 40; i++) scripts[0]?.buy(T0 + i * 7);
  scripts[1]?.adjust(T0 + 100, 2);
  scripts[2]
    ?.buy(T0 + 5, 3)
    .adjust(T0 + 50, 4)
    .buy(T0 + 60)
    .reject(T0 + 61, 'LIMIT_EXCEEDED');

  let clean: StockView[] = [];

  it('reports identical views on a consistent system', async () => {
    await system.produce(scripts.flatMap((script) => script.events));
    await system.waitUntilCaughtUp();
    clean = await system.views.list();
    expect(clean).toHaveLength(3);

    const run = await system.runCli('rebuild');
    expect(run.stdout).toContain('identical: 3 items');
    expect(run.code).toBe(0);
  });

  it('reports a corrupted view field by field and exits 1', async () => {
    await system.redis.hset(system.views.keys.view('r-1'), 'sold', '39', 'available', '1');
    const run = await system.runCli('rebuild');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('item r-1: available replayed=0 live=1');
    expect(run.stdout).toContain('item r-1: sold replayed=40 live=39');
    expect(run.stdout).toContain('different: 1 of 3 items (2 fields)');
  });

  it('refuses to replace the views while the processor runs, and deletes nothing', async () => {
    const run = await system.runCli('rebuild', ['--apply']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('stop every stream-processor instance first');
    expect(await system.views.list()).toHaveLength(3);
  });

  it('replaces the views: the processor, rewound, folds them identical to a clean run', async () => {
    await processor.stop();

    const run = await system.runCli('rebuild', ['--apply']);
    expect(run.stdout).toContain('resetting consumer group');
    expect(run.stdout).toContain('deleted 4 read-model keys');
    expect(run.code).toBe(0);
    expect(await system.views.list()).toEqual([]);

    processor = await system.startProcessor();
    await system.waitUntilCaughtUp();
    expect(await system.views.list()).toEqual(clean);
    expect((await system.runCli('rebuild')).stdout).toContain('identical: 3 items');
  });
});
