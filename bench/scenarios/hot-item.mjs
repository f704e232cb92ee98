// hotItem: decided purchases/s on ONE hot item, through the real broker into PostgreSQL, with one SQL
// transaction per item per consumed batch (DECIDE_MODE=batch, the design) against one transaction per
// purchase (DECIDE_MODE=single, the seed's approach), in the same run. The same approach as
// services/reservation/src/bench/hot-item.ts (the sale is in the log before the service starts), with
// the service as a child process and the rate taken between first and last decision, start-up left out.
import { randomUUID } from 'node:crypto';
import { buyCommand, listItemCommand, measureDecisionRate, produceCommands } from '../lib/commands.mjs';
import { createSystem } from '../lib/system.mjs';
import { formatInt, ratio, round } from '../lib/stats.mjs';

export const title = 'hotItem — one hot item: one transaction per batch vs per purchase';

export function configure({ quick, overrides }) {
  return {
    // Batch mode is far faster, so it gets more purchases: each mode should decide for a few seconds.
    purchases: {
      single: overrides.hotSingle ?? (quick ? 3_000 : 10_000),
      batch: overrides.hotBatch ?? (quick ? 30_000 : 100_000),
    },
    partitions: 12,
    boundSecondsPerMode: quick ? 40 : 120,
    reservation: { DECIDE_MODE: 'batch | single', DB_POOL_SIZE: 8, PARTITIONS_CONCURRENTLY: 4 },
  };
}

async function runMode(mode, config, { servers, progress }) {
  const purchases = config.purchases[mode];
  const system = await createSystem({
    name: `hot-${mode}`,
    servers,
    topics: ['item-commands', 'item-events', 'item-commands.dlq'],
  });
  try {
    const itemId = `hot-${randomUUID().slice(0, 8)}`;
    const tag = `${mode}-${randomUUID().slice(0, 6)}-`;
    const commands = [listItemCommand(itemId, purchases)];
    for (let n = 1; n <= purchases; n++) commands.push(buyCommand(itemId, n, tag));
    progress(`${mode}: producing ${formatInt(purchases)} purchases to item-commands`);
    await produceCommands(system, commands);
    progress(`${mode}: starting the reservation service (DECIDE_MODE=${mode})`);
    await system.startReservation({ DECIDE_MODE: mode });
    const measured = await measureDecisionRate(system, {
      expected: purchases,
      itemIds: [itemId],
      boundMs: config.boundSecondsPerMode * 1000,
      onProgress: (sold, s) =>
        progress(`${mode}: ${formatInt(sold)}/${formatInt(purchases)} decided after ${s.toFixed(0)} s`),
    });
    const { rows } = await system.pool.query('SELECT listed, sold, remaining FROM items WHERE item_id = $1', [
      itemId,
    ]);
    // Polling cannot time a run that ends between two polls; then the SQL decision times do.
    const usePoll = measured.decidedPerSecond !== null && measured.complete;
    const rate = usePoll ? measured.decidedPerSecond : measured.sqlSpanPerSecond;
    progress(
      `${mode}: ${formatInt(measured.sold)} decided → ${formatInt(rate)} purchases/s` +
        (measured.complete ? '' : ` (INCOMPLETE after ${config.boundSecondsPerMode} s)`),
    );
    return {
      purchases,
      decidedPerSecond: round(rate),
      measuredBy: usePoll ? 'sold polled every 20 ms, first to last progress' : 'SQL decided_at span',
      pollRate: round(measured.decidedPerSecond),
      sqlSpanRate: round(measured.sqlSpanPerSecond),
      complete: measured.complete,
      firstDecisionAfterStartMs: measured.firstProgressAfterMs,
      item: rows[0] ?? null,
    };
  } finally {
    await system.stop();
  }
}

export async function run(context) {
  const config = configure(context);
  const single = await runMode('single', config, context);
  const batch = await runMode('batch', config, context);
  const hotItemBatchVsSingle = ratio(batch.decidedPerSecond, single.decidedPerSecond);
  return {
    config,
    single,
    batch,
    ratios: { hotItemBatchVsSingle },
    targets: [
      {
        name: 'hot item batch vs single ≥ 20×',
        value: hotItemBatchVsSingle,
        met: hotItemBatchVsSingle >= 20,
      },
    ],
    table: [
      {
        scenario: 'hotItem',
        figure: `batch ${formatInt(batch.decidedPerSecond)} purchases/s`,
        baseline: `single ${formatInt(single.decidedPerSecond)}/s`,
        ratio: `hotItemBatchVsSingle ${hotItemBatchVsSingle?.toFixed(1)}×`,
        target: '≥ 20×',
        met: hotItemBatchVsSingle >= 20,
      },
    ],
  };
}
