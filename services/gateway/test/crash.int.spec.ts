// A crash in the middle of a sale: the reservation service is killed with SIGKILL while it decides, more
// purchases are accepted while it is down, and after a restart every accepted purchase is decided exactly
// once, nothing is oversold and the log tells the same story as SQL.
import { waitFor } from '@buy-now/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buyAllAtOnce,
  eventsOfItem,
  itemRow,
  listItem,
  oneToN,
  purchaseIdsOf,
  purchaseRows,
  readItemEvents,
  startSystem,
  storedVersions,
  tally,
  waitForItem,
  waitUntilDecided,
  type BuyNowAnswer,
  type TestSystem,
} from './support/system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

const STOCK = 1_000;
const BUYERS = 5_000;
const WAVE = 250;

describe('the reservation service killed mid-sale', () => {
  it('decides every accepted purchase exactly once after a restart, without overselling', async () => {
    const itemId = await listItem(system, { stock: STOCK });
    const soldNow = async () => (await itemRow(system, itemId))?.sold ?? 0;

    // Kill as soon as SQL shows the sale under way, while requests keep coming.
    let soldAtKill: number | undefined;
    const killer = (async () => {
      await waitFor(
        'the sale to be under way in SQL',
        async () => ((await soldNow()) >= 100 ? true : undefined),
        {
          timeoutMs: 60_000,
          intervalMs: 5,
        },
      );
      await system.stopReservation('SIGKILL');
      soldAtKill = await soldNow();
    })();

    const answers: BuyNowAnswer[] = [];
    for (let start = 0; start < BUYERS; start += WAVE) {
      // The first two waves run while the killer watches; the rest only once it struck.
      if (start === 2 * WAVE) await killer;
      answers.push(
        ...(await buyAllAtOnce(
          system,
          Array.from({ length: WAVE }, (_, i) => ({ itemId, buyerId: `buyer-${start + i}` })),
        )),
      );
    }
    await killer;
    expect(system.reservation.isRunning()).toBe(false);
    expect(soldAtKill).toBeGreaterThanOrEqual(100);
    expect(soldAtKill).toBeLessThan(STOCK);

    // The gate accepts exactly the stock, decided or not: Kafka holds the rest for the restart.
    expect(tally(answers)).toEqual({ '202': STOCK, '409 SOLD_OUT': BUYERS - STOCK });
    const accepted = purchaseIdsOf(answers.filter((a) => a.status === 202));
    expect(new Set(accepted).size).toBe(STOCK);

    await system.startReservation();
    const decided = await waitUntilDecided(system, accepted, 100_000);
    expect(decided.size).toBe(STOCK);

    // SQL: no oversell, every accepted purchase decided once, the counts agree.
    const item = await itemRow(system, itemId);
    const rows = await purchaseRows(system, itemId);
    const confirmed = rows.filter((row) => row.status === 'confirmed');
    expect(item?.sold).toBeLessThanOrEqual(STOCK);
    expect(item?.sold).toBe(confirmed.reduce((sum, row) => sum + row.quantity, 0));
    expect(item && item.sold + item.remaining).toBe(STOCK);
    expect(rows).toHaveLength(accepted.length);
    expect(new Set(rows.map((row) => row.purchaseId))).toEqual(new Set(accepted));
    // Nothing was rejected: the gate admitted exactly the stock, so SQL had a unit for each.
    expect(item).toMatchObject({ sold: STOCK, remaining: 0 });
    expect(confirmed).toHaveLength(STOCK);
    for (const row of rows) expect(decided.get(row.purchaseId)?.status).toBe(row.status);
    const versions = await storedVersions(system, itemId);
    expect(versions).toEqual(oneToN(versions.length));
    expect(versions).toHaveLength(STOCK + 2);

    // The log: every accepted purchase has an outcome, the same one each time it appears.
    const outcomes = new Map<string, Set<string>>();
    for (const event of eventsOfItem(await readItemEvents(system), itemId)) {
      if (event.name === 'ItemBought') {
        outcomes.set(
          event.value.purchaseId,
          (outcomes.get(event.value.purchaseId) ?? new Set()).add('confirmed'),
        );
      } else if (event.name === 'PurchaseRejected') {
        const outcome = `rejected:${event.value.reason}`;
        outcomes.set(
          event.value.purchaseId,
          (outcomes.get(event.value.purchaseId) ?? new Set()).add(outcome),
        );
      }
    }
    expect(new Set(outcomes.keys())).toEqual(new Set(accepted));
    const conflicting = [...outcomes].filter(([, seen]) => seen.size > 1);
    expect(conflicting).toEqual([]);

    expect(await waitForItem(system, itemId, STOCK + 2)).toMatchObject({
      available: 0,
      sold: STOCK,
      status: 'sold-out',
      version: STOCK + 2,
    });
  });
});
