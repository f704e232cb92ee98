// Redelivery end to end: the reservation service reads all of item-commands again from offset 0 and
// changes nothing: SQL stays as it was, row for row, and no event is published twice.
import { fetchCommittedOffsets, fetchTopicOffsets, resetGroupOffsets } from '@buy-now/kafka';
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buyAllAtOnce,
  itemRow,
  listItem,
  purchaseIdsOf,
  sql,
  startSystem,
  tally,
  waitUntilDecided,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** Every row the reservation service wrote, all columns, in a stable order. */
async function sqlSnapshot(s: TestSystem) {
  return {
    items: await sql(s, 'SELECT * FROM items ORDER BY item_id'),
    purchases: await sql(s, 'SELECT * FROM purchases ORDER BY purchase_id'),
    itemEvents: await sql(s, 'SELECT * FROM item_events ORDER BY item_id, version'),
    eventTotals: await sql(s, 'SELECT count(*) AS events, max(version) AS max_version FROM item_events'),
    processedCommands: await sql(s, 'SELECT * FROM processed_commands ORDER BY command_id'),
    outbox: await sql(s, 'SELECT * FROM outbox ORDER BY id'),
    unpublished: await sql(s, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'),
  };
}

describe('replaying item-commands from offset 0', () => {
  it('decides nothing twice: SQL unchanged and no new item-events', async () => {
    const itemA = await listItem(system, { stock: 20 });
    const itemB = await listItem(system, { stock: 5 });
    const answers = await buyAllAtOnce(system, [
      ...Array.from({ length: 50 }, (_, i) => ({ itemId: itemA, buyerId: `buyer-${i}` })),
      ...Array.from({ length: 10 }, (_, i) => ({ itemId: itemB, buyerId: `buyer-${i}` })),
    ]);
    expect(tally(answers)).toEqual({ '202': 25, '409 SOLD_OUT': 35 });
    await waitUntilDecided(system, purchaseIdsOf(answers.filter((a) => a.status === 202)));
    expect(await itemRow(system, itemA)).toMatchObject({ sold: 20, remaining: 0, version: 22 });
    expect(await itemRow(system, itemB)).toMatchObject({ sold: 5, remaining: 0, version: 7 });

    // A clean stop: the group is left, so its offsets can be moved.
    await system.stopReservation('SIGTERM');
    const commandEnds = await fetchTopicOffsets(system.kafka, system.topics.itemCommands);
    const eventEnds = await fetchTopicOffsets(system.kafka, system.topics.itemEvents);
    const before = await sqlSnapshot(system);
    expect(before.purchases).toHaveLength(25);
    expect(before.eventTotals).toEqual([{ events: '29', max_version: '22' }]);
    expect(before.unpublished).toEqual([{ n: '0' }]);
    // Everything was handled before the stop (a partition that never had a record has no commit: -1).
    const committedBefore = await fetchCommittedOffsets(
      system.kafka,
      system.reservationGroupId,
      system.topics.itemCommands,
    );
    expect(committedBefore.map((p) => p.offset)).toEqual(
      commandEnds.map((p) => (p.high === p.low ? '-1' : p.high)),
    );

    await resetGroupOffsets(system.kafka, system.reservationGroupId, system.topics.itemCommands, 'earliest');
    const rewound = await fetchCommittedOffsets(
      system.kafka,
      system.reservationGroupId,
      system.topics.itemCommands,
    );
    expect(rewound.map((p) => p.offset)).toEqual(commandEnds.map((p) => p.low));
    // The replay has something to read: 2 listings and 25 purchases.
    const commandCount = commandEnds.reduce((sum, p) => sum + BigInt(p.high) - BigInt(p.low), 0n);
    expect(commandCount).toBe(27n);

    await system.startReservation();
    await waitFor(
      'the reservation group to have handled item-commands again to the end',
      async () => {
        const committed = await fetchCommittedOffsets(
          system.kafka,
          system.reservationGroupId,
          system.topics.itemCommands,
        );
        return committed.map((p) => p.offset).join(',') === commandEnds.map((p) => p.high).join(',')
          ? true
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    expect(await sqlSnapshot(system)).toEqual(before);
    expect(await fetchTopicOffsets(system.kafka, system.topics.itemEvents)).toEqual(eventEnds);
  });
});
