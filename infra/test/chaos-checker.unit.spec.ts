// The fault-injection harness's pure parts: the history checker finds each kind of violation (and only
// those), and a seed always gives the same fault schedule.
import type { ItemEvent, StockView } from '@buy-now/contracts';
import { describe, expect, it } from 'vitest';
import type { BuyAttempt } from '../src/chaos/buyers.js';
import { planFaults } from '../src/chaos/faults.js';
import { checkHistory, type History, type LoggedEvent, type SqlPurchase } from '../src/chaos/invariants.js';
import { createRandom } from '../src/chaos/random.js';

const T0 = 1_800_000_000_000;

function view(version: number, listed: number, sold: number): StockView {
  return {
    itemId: 'i1',
    version,
    title: 't',
    priceMinor: 100,
    currency: 'EUR',
    perBuyerLimit: 2,
    listed,
    available: listed - sold,
    sold,
    status: 'LIVE',
    startsAt: null,
    lastSaleAt: null,
    soldOutAt: null,
    updatedAt: T0,
  };
}

function attempt(n: number, overrides: Partial<BuyAttempt> = {}): BuyAttempt {
  return {
    itemId: 'i1',
    buyerId: `b${n}`,
    quantity: 1,
    idempotencyKey: `k${n}`,
    attempt: 1,
    gateway: 'gateway-a',
    sentAt: T0 + n,
    answeredAt: T0 + n + 1,
    status: 202,
    purchaseId: `p${n}`,
    ...overrides,
  };
}

function purchase(n: number, overrides: Partial<SqlPurchase> = {}): SqlPurchase {
  return {
    purchaseId: `p${n}`,
    itemId: 'i1',
    buyerId: `b${n}`,
    quantity: 1,
    status: 'confirmed',
    reason: null,
    idempotencyKey: `k${n}`,
    admissionSeq: n,
    admittedAt: T0 + n,
    ...overrides,
  };
}

function bought(n: number, version: number, remaining: number): LoggedEvent {
  const event: ItemEvent = {
    name: 'ItemBought',
    value: {
      itemId: 'i1',
      version,
      purchaseId: `p${n}`,
      buyerId: `b${n}`,
      quantity: 1,
      remaining,
      priceMinor: 100,
      currency: 'EUR',
      admittedAt: T0 + n,
      admissionSeq: n,
      occurredAt: T0 + 100,
    },
  };
  return { partition: 0, offset: BigInt(version), event };
}

const listed: LoggedEvent = {
  partition: 0,
  offset: 0n,
  event: {
    name: 'ItemListed',
    value: {
      commandId: 'c1',
      itemId: 'i1',
      version: 1,
      title: 't',
      priceMinor: 100,
      currency: 'EUR',
      stock: 3,
      perBuyerLimit: 2,
      startsAt: null,
      occurredAt: T0,
    },
  },
};

/** Two purchases of an item with 3 units, decided in order, everything in agreement. */
function cleanHistory(): History {
  return {
    attempts: [
      attempt(1),
      attempt(2),
      attempt(3, { status: 409, purchaseId: undefined, reason: 'SOLD_OUT' }),
    ],
    faults: [],
    sqlItems: [{ itemId: 'i1', listed: 3, sold: 2, remaining: 1, version: 3, perBuyerLimit: 2 }],
    sqlPurchases: [purchase(1), purchase(2)],
    itemEvents: [listed, bought(1, 2, 2), bought(2, 3, 1)],
    admittedBy: new Map([
      ['p1', 'gateway-a'],
      ['p2', 'gateway-a'],
    ]),
    statusAnswers: new Map([
      ['p1', { status: 200, purchaseStatus: 'confirmed' }],
      ['p2', { status: 200, purchaseStatus: 'confirmed' }],
    ]),
    readModel: new Map([['i1', view(3, 3, 2)]]),
    latestStockViews: new Map([['i1', view(3, 3, 2)]]),
  };
}

const violationsOf = (history: History) =>
  checkHistory(history).invariants.map((inv) => [inv.id, inv.violations]);

describe('the history checker', () => {
  it('finds nothing wrong with a consistent history, even with an outcome published twice', () => {
    const history = cleanHistory();
    const verdict = checkHistory({ ...history, itemEvents: [...history.itemEvents, bought(2, 3, 1)] });
    expect(verdict.totalViolations).toBe(0);
    expect(verdict.redeliveredOutcomes).toBe(1);
  });

  it('1: SQL selling more than it listed, or a fold that disagrees', () => {
    const history = cleanHistory();
    expect(
      violationsOf({
        ...history,
        sqlItems: [{ itemId: 'i1', listed: 3, sold: 4, remaining: -1, version: 3, perBuyerLimit: 2 }],
      })[0],
    ).toEqual([1, 4]); // sold > listed, remaining < 0, confirmed units ≠ sold, fold ≠ SQL
  });

  it('2: a 202 without a row, without an event, or with a different status on GET /purchases/:id', () => {
    const history = cleanHistory();
    expect(violationsOf({ ...history, attempts: [...history.attempts, attempt(9)] })[1]).toEqual([2, 1]);
    expect(violationsOf({ ...history, itemEvents: [listed, bought(1, 2, 2)] })[1]).toEqual([2, 1]);
    const statusAnswers = new Map(history.statusAnswers).set('p2', {
      status: 200,
      purchaseStatus: 'pending',
    });
    expect(violationsOf({ ...history, statusAnswers })[1]).toEqual([2, 1]);
  });

  it('3: two purchase ids for one key, or more than the limit per buyer', () => {
    const history = cleanHistory();
    const retried = attempt(1, { purchaseId: 'p1-again', attempt: 2 });
    expect(violationsOf({ ...history, attempts: [...history.attempts, retried] })[2]).toEqual([3, 1]);
    const sameBuyer = [purchase(1), purchase(2, { buyerId: 'b1' }), purchase(3, { buyerId: 'b1' })];
    const verdict = checkHistory({ ...history, sqlPurchases: sameBuyer });
    expect(verdict.invariants[2]?.examples).toContain('item/buyer i1 b1: 3 units confirmed, limit 2');
  });

  it('3: two rows in SQL for one key, unless the second is SQL refusing it (DUPLICATE_REQUEST)', () => {
    const history = cleanHistory();
    const again = purchase(9, { buyerId: 'b1', idempotencyKey: 'k1' });
    expect(violationsOf({ ...history, sqlPurchases: [...history.sqlPurchases, again] })[2]).toEqual([3, 1]);
    const refused = { ...again, status: 'rejected' as const, reason: 'DUPLICATE_REQUEST' };
    expect(violationsOf({ ...history, sqlPurchases: [...history.sqlPurchases, refused] })[2]).toEqual([3, 0]);
  });

  it('4: one instance decided out of order is a violation, except around a Redis loss', () => {
    const history = cleanHistory();
    const swapped = {
      ...history,
      sqlPurchases: [purchase(1, { admissionSeq: 2 }), purchase(2, { admissionSeq: 1 })],
    };
    expect(violationsOf(swapped)[3]).toEqual([4, 1]);
    const flush = { atMs: 0, kind: 'flushall redis' as const, startedAt: T0, endedAt: T0 + 10 };
    const excused = checkHistory({ ...swapped, faults: [flush] });
    expect(excused.invariants[3]?.violations).toBe(0);
    expect(excused.fcfsRedisLossExceptions).toBe(1);
    const acrossInstances = checkHistory({ ...swapped, admittedBy: new Map([['p1', 'gateway-b']]) });
    expect(acrossInstances.invariants[3]?.violations).toBe(0);
    expect(acrossInstances.fcfsAcrossInstances).toBe(1);
  });

  it('4: an admission a reconciler published late is counted, not a violation', () => {
    const history = cleanHistory();
    const swapped = {
      ...history,
      sqlPurchases: [purchase(1, { admissionSeq: 2 }), purchase(2, { admissionSeq: 1 })],
      publishedLate: new Set(['p2']),
    };
    const verdict = checkHistory(swapped);
    expect(verdict.invariants[3]?.violations).toBe(0);
    expect(verdict.fcfsPublishedLate).toBe(1);
  });

  it('6: a purchase in SQL whose buyer was told nothing was bought', () => {
    const history = cleanHistory();
    // b2 was told 503 SERVICE_UNAVAILABLE, and SQL confirmed p2 all the same.
    const told = [
      attempt(1),
      attempt(2, { status: 503, purchaseId: undefined, reason: 'SERVICE_UNAVAILABLE' }),
    ];
    const dishonest = { ...history, attempts: told };
    expect(violationsOf(dishonest)[5]).toEqual([6, 1]);
    // Told "not known yet" instead, or an answer lost to a killed gateway: that purchase may be SQL's.
    for (const open of [
      attempt(2, { status: 503, purchaseId: undefined, reason: 'PURCHASE_IN_PROGRESS', attempt: 2 }),
      attempt(2, { status: undefined, purchaseId: undefined, attempt: 2 }),
    ]) {
      expect(violationsOf({ ...dishonest, attempts: [...told, open] })[5]).toEqual([6, 0]);
    }
    expect(violationsOf(history)[5]).toEqual([6, 0]);
  });

  it('5: an item version missing from item-events, or out of order', () => {
    const history = cleanHistory();
    const reordered = { ...history, itemEvents: [listed, bought(2, 3, 1), bought(1, 2, 2)] };
    expect(checkHistory(reordered).invariants[4]?.examples).toContain(
      'item i1: item-events go from version 1 to 3 (a consumer would skip)',
    );
  });

  it('5: a view behind SQL, or missing', () => {
    const history = cleanHistory();
    expect(violationsOf({ ...history, readModel: new Map([['i1', view(2, 3, 1)]]) })[4]).toEqual([5, 1]);
    expect(violationsOf({ ...history, latestStockViews: new Map() })[4]).toEqual([5, 1]);
  });
});

describe('the fault schedule', () => {
  const options = { loadMs: 60_000, kills: 10, kafkaRestarts: 1, redisFlushes: 1, postgresRestarts: 1 };

  it('is the same for the same seed, and kills every service', () => {
    const plan = planFaults(createRandom(42), options);
    expect(planFaults(createRandom(42), options)).toEqual(plan);
    expect(planFaults(createRandom(43), options)).not.toEqual(plan);
    expect(plan).toHaveLength(13);
    const kinds = new Set(plan.map((f) => f.kind));
    for (const kind of ['kill gateway-a', 'kill gateway-b', 'kill reservation', 'kill stream-processor'])
      expect(kinds).toContain(kind);
    expect(plan.every((f) => f.atMs >= 0 && f.atMs <= options.loadMs)).toBe(true);
    expect(plan.map((f) => f.atMs)).toEqual([...plan.map((f) => f.atMs)].sort((a, b) => a - b));
  });
});
