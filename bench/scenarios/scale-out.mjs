// scaleOut: a many-item load decided by two reservation instances (one consumer group, 12 partitions)
// against one instance, in the same run. The instances start first and the group settles; the items are
// listed; then the purchases are produced as one burst and the decision rate is taken between the first
// and the last decision seen in SQL.
import { randomUUID } from 'node:crypto';
import { buyCommand, listItemCommand, measureDecisionRate, produceCommands } from '../lib/commands.mjs';
import { fetchTopicOffsets } from '@buy-now/kafka';
import { createSystem, withKafkaAdmin } from '../lib/system.mjs';
import { formatInt, ratio, round } from '../lib/stats.mjs';

export const title = 'scaleOut — many items: two reservation instances vs one';

export function configure({ quick }) {
  return {
    items: 200,
    purchases: quick ? 20_000 : 60_000,
    partitions: 12,
    instances: [1, 2],
    // Alternating rounds (1, 2, 1, 2): drift in what else the machine does hits both alike.
    rounds: quick ? 1 : 2,
    reservation: { DB_POOL_SIZE: 8, PARTITIONS_CONCURRENTLY: 4, DECIDE_MODE: 'batch' },
    boundSeconds: quick ? 40 : 90,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForStableGroup(system, groupId, members, boundMs) {
  const deadline = Date.now() + boundMs;
  let last = 'unknown';
  while (Date.now() < deadline) {
    const group = await withKafkaAdmin(system.servers.kafkaBrokers, async (admin) => {
      const { groups } = await admin.describeGroups([groupId]);
      return groups[0];
    });
    last = `${group?.state} with ${group?.members.length ?? 0} members`;
    if (group?.state === 'Stable' && group.members.length === members) return;
    await sleep(250);
  }
  throw new Error(`consumer group ${groupId} not stable with ${members} members (last: ${last})`);
}

async function runWith(instances, config, { servers, progress }) {
  const system = await createSystem({
    name: `scale${instances}`,
    servers,
    topics: ['item-commands', 'item-events', 'item-commands.dlq'],
    partitions: config.partitions,
  });
  try {
    progress(`${instances} instance(s): starting`);
    await Promise.all(
      Array.from({ length: instances }, (_, i) => system.startReservation({}, `reservation-${i + 1}`)),
    );
    await waitForStableGroup(system, `${system.topicPrefix}reservation`, instances, 60_000);
    const itemIds = Array.from({ length: config.items }, (_, i) => `many-${i}-${randomUUID().slice(0, 6)}`);
    const perItem = Math.ceil(config.purchases / config.items);
    await produceCommands(
      system,
      itemIds.map((itemId) => listItemCommand(itemId, perItem)),
    );
    for (let waited = 0; ; waited += 100) {
      const { rows } = await system.pool.query('SELECT count(*)::int AS n FROM items');
      if (rows[0].n >= config.items) break;
      if (waited > 60_000) throw new Error(`only ${rows[0].n} of ${config.items} items listed after 60 s`);
      await sleep(100);
    }
    const tag = `s${instances}-${randomUUID().slice(0, 6)}-`;
    const purchases = [];
    for (let n = 1; purchases.length < config.purchases; n++) {
      for (const itemId of itemIds) {
        if (purchases.length < config.purchases) purchases.push(buyCommand(itemId, n, tag));
      }
    }
    progress(
      `${instances} instance(s): ${formatInt(config.purchases)} purchases over ${config.items} items, burst`,
    );
    const burstStarted = performance.now();
    let producedAfterMs = null;
    const produced = produceCommands(system, purchases).then(() => {
      producedAfterMs = Math.round(performance.now() - burstStarted);
    });
    const measured = await measureDecisionRate(system, {
      expected: config.purchases,
      boundMs: config.boundSeconds * 1000,
      onProgress: (sold, s) =>
        progress(
          `${instances} instance(s): ${formatInt(sold)}/${formatInt(config.purchases)} decided after ${s.toFixed(0)} s`,
        ),
    });
    await produced;
    const burstToAllDecidedMs = measured.complete ? Math.round(performance.now() - burstStarted) : null;
    const rate = measured.decidedPerSecond ?? measured.sqlSpanPerSecond;
    // Every event in the SQL event store should be on item-events once; more records there mean two
    // instances published the same outbox rows (consumers dedupe by version, but it costs).
    for (let waited = 0; waited < 10_000; waited += 200) {
      const { rows } = await system.pool.query(
        'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
      );
      if (rows[0].n === 0) break;
      await sleep(200);
    }
    const { rows: stored } = await system.pool.query('SELECT count(*)::int AS n FROM item_events');
    const offsets = await fetchTopicOffsets(system.kafka, system.topic('item-events'));
    const published = offsets.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0);
    progress(`${instances} instance(s): ${formatInt(rate)} purchases/s`);
    return {
      instances,
      decidedPerSecond: round(rate),
      complete: measured.complete,
      sold: measured.sold,
      burstToAllDecidedMs,
      burstProducedAfterMs: producedAfterMs,
      sqlSpanRate: round(measured.sqlSpanPerSecond),
      itemEvents: { inSqlEventStore: stored[0].n, onTopic: published, duplicates: published - stored[0].n },
    };
  } finally {
    await system.stop();
  }
}

const mean = (runs) => round(runs.reduce((n, r) => n + r.decidedPerSecond, 0) / runs.length);

export async function run(context) {
  const config = configure(context);
  const runs = { one: [], two: [] };
  for (let round = 0; round < config.rounds; round++) {
    runs.one.push(await runWith(1, config, context));
    runs.two.push(await runWith(2, config, context));
  }
  const duplicates = (list) => list.reduce((n, r) => n + r.itemEvents.duplicates, 0);
  const one = { decidedPerSecond: mean(runs.one), duplicateItemEvents: duplicates(runs.one), runs: runs.one };
  const two = { decidedPerSecond: mean(runs.two), duplicateItemEvents: duplicates(runs.two), runs: runs.two };
  const scaleOutTwoVsOne = ratio(two.decidedPerSecond, one.decidedPerSecond);
  return {
    config,
    one,
    two,
    ratios: { scaleOutTwoVsOne },
    targets: [],
    table: [
      {
        scenario: 'scaleOut',
        figure: `2 instances ${formatInt(two.decidedPerSecond)} purchases/s`,
        baseline: `1 instance ${formatInt(one.decidedPerSecond)}/s`,
        ratio: `scaleOutTwoVsOne ${scaleOutTwoVsOne?.toFixed(2)}×`,
        target: '(none; report)',
        met: null,
      },
      {
        scenario: '',
        figure: `duplicate records on item-events: 2 instances ${formatInt(two.duplicateItemEvents)}, 1 instance ${formatInt(one.duplicateItemEvents)}`,
        baseline: `of ${formatInt(runs.two.reduce((n, r) => n + r.itemEvents.inSqlEventStore, 0))} events in SQL`,
      },
    ],
  };
}
