// The history checker: given every request and answer of a run, its faults, and what SQL, item-events,
// the read model and stock-views hold once the system quiesced, checks invariants 1–6 of the design.
// Pure: everything it needs is in the History.
import type { ItemEvent, StockView } from '@buy-now/contracts';
import type { BuyAttempt } from './buyers.js';
import type { InjectedFault } from './faults.js';

export interface SqlItem {
  itemId: string;
  listed: number;
  sold: number;
  remaining: number;
  version: number;
  perBuyerLimit: number;
}

export interface SqlPurchase {
  purchaseId: string;
  itemId: string;
  buyerId: string;
  quantity: number;
  status: 'confirmed' | 'rejected';
  reason: string | null;
  idempotencyKey: string | null;
  admissionSeq: number | null;
  admittedAt: number | null;
}

export interface LoggedEvent {
  partition: number;
  offset: bigint;
  event: ItemEvent;
}

/** What the gateway's GET /purchases/:id answered. */
export interface StatusAnswer {
  status: number;
  purchaseStatus?: string;
  reason?: string;
}

export interface History {
  attempts: readonly BuyAttempt[];
  faults: readonly InjectedFault[];
  sqlItems: readonly SqlItem[];
  sqlPurchases: readonly SqlPurchase[];
  itemEvents: readonly LoggedEvent[];
  /** BuyRequested on item-commands: which gateway instance admitted each purchase. */
  admittedBy: ReadonlyMap<string, string>;
  /**
   * Purchases whose BuyRequested reached item-commands after a later admission of the same instance and
   * item: published again by a reconciler (their gateway died, or its publish ended without knowing).
   */
  publishedLate?: ReadonlySet<string>;
  statusAnswers: ReadonlyMap<string, StatusAnswer>;
  readModel: ReadonlyMap<string, StockView>;
  latestStockViews: ReadonlyMap<string, StockView>;
}

export const invariantNames = {
  1: 'no oversell',
  2: 'every 202 has exactly one terminal outcome',
  3: 'no duplicate purchase',
  4: 'first come, first served',
  5: 'views equal SQL',
  6: 'honest answers',
} as const;
export type InvariantId = keyof typeof invariantNames;

export interface InvariantResult {
  id: InvariantId;
  name: string;
  violations: number;
  /** The first few, described. */
  examples: string[];
}

export interface Verdict {
  invariants: InvariantResult[];
  /** Decisions out of admission order inside the documented window around a Redis loss. */
  fcfsRedisLossExceptions: number;
  /** Admissions on two gateway instances, in flight together, decided in the other order. */
  fcfsAcrossInstances: number;
  /** Admissions decided after later ones because a reconciler published them (their publish was stuck). */
  fcfsPublishedLate: number;
  /** The largest admission-time gap between two such admissions. */
  fcfsAcrossInstancesMaxGapMs: number;
  /** Outcome records published more than once (same record again: at-least-once delivery). */
  redeliveredOutcomes: number;
  /** Purchases decided in SQL that no buyer saw a 202 for (the answer was lost or was a 503). */
  decidedWithout202: number;
  /** …of which some attempt with the key was answered 503. */
  decidedAfter503: number;
  totalViolations: number;
}

/** How long after a Redis loss (from its start) admissions may be decided out of order. */
export const REDIS_LOSS_WINDOW_MS = { before: 5_000, after: 20_000 } as const;
const MAX_EXAMPLES = 5;

class Findings {
  readonly byInvariant = new Map<InvariantId, string[]>();
  add(id: InvariantId, message: string): void {
    const list = this.byInvariant.get(id) ?? [];
    list.push(message);
    this.byInvariant.set(id, list);
  }
  count(id: InvariantId): number {
    return this.byInvariant.get(id)?.length ?? 0;
  }
}

interface Fold {
  listed: number;
  sold: number;
  version: number;
  listings: number;
}

export function checkHistory(history: History): Verdict {
  const findings = new Findings();
  const sqlItems = new Map(history.sqlItems.map((item) => [item.itemId, item]));
  const purchases = new Map(history.sqlPurchases.map((p) => [p.purchaseId, p]));

  // ---- 1. no oversell: SQL, and the item-events fold agrees -------------------------------------------
  const folds = new Map<string, Fold>();
  const seenVersions = new Map<string, Map<number, string>>();
  for (const { event } of history.itemEvents) {
    if (event.name === 'PurchaseRejected') continue;
    const { itemId, version } = event.value;
    const versions = seenVersions.get(itemId) ?? new Map<number, string>();
    seenVersions.set(itemId, versions);
    const fingerprint = JSON.stringify(event);
    const earlier = versions.get(version);
    if (earlier !== undefined) {
      // A republished record is the same record; a different one with that version is two histories.
      if (earlier !== fingerprint)
        findings.add(1, `item ${itemId}: two different events with version ${version}`);
      continue;
    }
    versions.set(version, fingerprint);
    const fold = folds.get(itemId) ?? { listed: 0, sold: 0, version: 0, listings: 0 };
    folds.set(itemId, fold);
    fold.version = Math.max(fold.version, version);
    if (event.name === 'ItemListed') {
      fold.listed += event.value.stock;
      fold.listings += 1;
    } else if (event.name === 'StockAdjusted') fold.listed += event.value.delta;
    else if (event.name === 'ItemBought') {
      fold.sold += event.value.quantity;
      if (event.value.remaining < 0)
        findings.add(1, `item ${itemId}: ItemBought v${version} left ${event.value.remaining}`);
    }
  }
  const confirmedUnits = new Map<string, number>();
  for (const p of history.sqlPurchases) {
    if (p.status === 'confirmed')
      confirmedUnits.set(p.itemId, (confirmedUnits.get(p.itemId) ?? 0) + p.quantity);
  }
  for (const item of history.sqlItems) {
    const { itemId } = item;
    if (item.sold > item.listed)
      findings.add(1, `item ${itemId}: SQL sold ${item.sold} > listed ${item.listed}`);
    if (item.remaining < 0) findings.add(1, `item ${itemId}: SQL remaining ${item.remaining}`);
    if (item.sold + item.remaining !== item.listed) {
      findings.add(
        1,
        `item ${itemId}: SQL sold ${item.sold} + remaining ${item.remaining} ≠ listed ${item.listed}`,
      );
    }
    if ((confirmedUnits.get(itemId) ?? 0) !== item.sold) {
      findings.add(
        1,
        `item ${itemId}: confirmed purchases hold ${confirmedUnits.get(itemId) ?? 0} units, items.sold ${item.sold}`,
      );
    }
    const fold = folds.get(itemId);
    if (fold === undefined) {
      findings.add(1, `item ${itemId}: no event in item-events`);
      continue;
    }
    if (fold.listings !== 1) findings.add(1, `item ${itemId}: listed ${fold.listings} times in item-events`);
    if (fold.sold > fold.listed)
      findings.add(1, `item ${itemId}: item-events sold ${fold.sold} > listed ${fold.listed}`);
    const mismatch = (['listed', 'sold', 'version'] as const).filter((f) => fold[f] !== item[f]);
    if (mismatch.length > 0) {
      findings.add(
        1,
        `item ${itemId}: item-events fold ${mismatch.map((f) => `${f}=${fold[f]}`).join(' ')} but SQL ${mismatch.map((f) => `${f}=${item[f]}`).join(' ')}`,
      );
    }
  }

  // ---- 2. every 202 has exactly one terminal outcome --------------------------------------------------
  const accepted = new Map<string, BuyAttempt>();
  for (const a of history.attempts) {
    if (a.status === 202 && a.purchaseId !== undefined && !accepted.has(a.purchaseId))
      accepted.set(a.purchaseId, a);
  }
  const outcomes = new Map<string, Map<string, number>>();
  for (const { event } of history.itemEvents) {
    if (event.name !== 'ItemBought' && event.name !== 'PurchaseRejected') continue;
    const outcome =
      event.name === 'ItemBought' ? `confirmed v${event.value.version}` : `rejected ${event.value.reason}`;
    const copies = outcomes.get(event.value.purchaseId) ?? new Map<string, number>();
    copies.set(outcome, (copies.get(outcome) ?? 0) + 1);
    outcomes.set(event.value.purchaseId, copies);
  }
  let redeliveredOutcomes = 0;
  for (const copies of outcomes.values()) for (const n of copies.values()) redeliveredOutcomes += n - 1;
  for (const [purchaseId, attempt] of accepted) {
    const row = purchases.get(purchaseId);
    if (row === undefined) {
      findings.add(2, `purchase ${purchaseId} (202 at ${attempt.gateway}): no row in purchases`);
      continue;
    }
    if (
      row.itemId !== attempt.itemId ||
      row.buyerId !== attempt.buyerId ||
      row.quantity !== attempt.quantity
    ) {
      findings.add(
        2,
        `purchase ${purchaseId}: SQL holds ${row.itemId}/${row.buyerId}×${row.quantity}, asked ${attempt.itemId}/${attempt.buyerId}×${attempt.quantity}`,
      );
    }
    const copies = outcomes.get(purchaseId);
    if (copies === undefined || copies.size === 0) {
      findings.add(2, `purchase ${purchaseId}: no ItemBought/PurchaseRejected in item-events`);
    } else if (copies.size > 1) {
      findings.add(
        2,
        `purchase ${purchaseId}: ${copies.size} different outcomes in item-events (${[...copies.keys()].join(', ')})`,
      );
    } else {
      const logged = [...copies.keys()][0] as string;
      const expected = row.status === 'confirmed' ? 'confirmed' : `rejected ${row.reason ?? ''}`;
      if (!logged.startsWith(expected))
        findings.add(2, `purchase ${purchaseId}: item-events says ${logged}, SQL ${expected}`);
    }
    const answer = history.statusAnswers.get(purchaseId);
    if (
      answer?.status !== 200 ||
      answer.purchaseStatus !== row.status ||
      (row.reason ?? undefined) !== answer.reason
    ) {
      findings.add(
        2,
        `purchase ${purchaseId}: GET /purchases/:id answered ${JSON.stringify(answer)}, SQL ${row.status} ${row.reason ?? ''}`,
      );
    }
  }
  const keysAnswered503 = new Set<string>();
  for (const a of history.attempts)
    if (a.status === 503) keysAnswered503.add(`${a.buyerId} ${a.idempotencyKey}`);
  let decidedWithout202 = 0;
  let decidedAfter503 = 0;
  for (const p of history.sqlPurchases) {
    if (accepted.has(p.purchaseId)) continue;
    decidedWithout202 += 1;
    if (keysAnswered503.has(`${p.buyerId} ${p.idempotencyKey ?? ''}`)) decidedAfter503 += 1;
  }

  // ---- 3. no duplicate purchase -----------------------------------------------------------------------
  const idsByKey = new Map<string, Set<string>>();
  for (const a of history.attempts) {
    if (a.purchaseId === undefined) continue;
    const key = `${a.buyerId} ${a.idempotencyKey}`;
    const ids = idsByKey.get(key) ?? new Set<string>();
    ids.add(a.purchaseId);
    idsByKey.set(key, ids);
  }
  for (const [key, ids] of idsByKey) {
    if (ids.size > 1)
      findings.add(3, `buyer/key ${key}: answered ${ids.size} purchase ids (${[...ids].join(', ')})`);
  }
  const rowsByKey = new Map<string, string[]>();
  const unitsByBuyer = new Map<string, number>();
  for (const p of history.sqlPurchases) {
    // A DUPLICATE_REQUEST row is SQL refusing a second purchase for the key: the backstop working.
    if (p.idempotencyKey !== null && p.reason !== 'DUPLICATE_REQUEST') {
      const key = `${p.itemId} ${p.buyerId} ${p.idempotencyKey}`;
      rowsByKey.set(key, [...(rowsByKey.get(key) ?? []), p.purchaseId]);
    }
    if (p.status === 'confirmed') {
      const key = `${p.itemId} ${p.buyerId}`;
      unitsByBuyer.set(key, (unitsByBuyer.get(key) ?? 0) + p.quantity);
    }
  }
  for (const [key, ids] of rowsByKey) {
    if (ids.length > 1)
      findings.add(3, `item/buyer/key ${key}: ${ids.length} purchases in SQL (${ids.join(', ')})`);
  }
  for (const [key, units] of unitsByBuyer) {
    const limit = sqlItems.get(key.split(' ')[0] as string)?.perBuyerLimit ?? 0;
    if (units > limit) findings.add(3, `item/buyer ${key}: ${units} units confirmed, limit ${limit}`);
  }

  // ---- 4. first come, first served --------------------------------------------------------------------
  // Decision order is the order outcomes appear in item-events (one partition per item). Each gateway
  // instance publishes in admission order; between two instances, admissions in flight at the same
  // moment reach the broker in either order (counted, not violations: both were admitted, SQL has a unit
  // for each). What may never happen outside a Redis loss: one instance's admissions decided out of
  // order, or an earlier admission rejected SOLD_OUT because a later one took its unit.
  const redisLosses = history.faults.filter((f) => f.kind === 'flushall redis');
  const inRedisLossWindow = (at: number | null) =>
    at !== null &&
    redisLosses.some(
      (f) => at >= f.startedAt - REDIS_LOSS_WINDOW_MS.before && at <= f.endedAt + REDIS_LOSS_WINDOW_MS.after,
    );
  let fcfsRedisLossExceptions = 0;
  let fcfsAcrossInstances = 0;
  let fcfsPublishedLate = 0;
  const publishedLate = history.publishedLate ?? new Set<string>();
  let fcfsAcrossInstancesMaxGapMs = 0;
  const decisionOrder = new Map<string, SqlPurchase[]>();
  const placed = new Set<string>();
  for (const { event } of history.itemEvents) {
    if (event.name !== 'ItemBought' && event.name !== 'PurchaseRejected') continue;
    const row = purchases.get(event.value.purchaseId);
    if (row === undefined || placed.has(row.purchaseId) || row.admissionSeq === null) continue;
    placed.add(row.purchaseId);
    decisionOrder.set(row.itemId, [...(decisionOrder.get(row.itemId) ?? []), row]);
  }
  const describe = (p: SqlPurchase) =>
    `#${p.admissionSeq ?? '?'} (${p.purchaseId} via ${history.admittedBy.get(p.purchaseId) ?? '?'})`;
  for (const [itemId, decided] of decisionOrder) {
    const latestByInstance = new Map<string, SqlPurchase>();
    let latest: SqlPurchase | undefined;
    const confirmedSoFar: SqlPurchase[] = [];
    for (const p of decided) {
      // Its publish was stuck (gateway died, or a timeout after the write) and finished by a reconciler:
      // decided when it reached the log, not in admission order. Counted, not a violation.
      if (publishedLate.has(p.purchaseId)) {
        fcfsPublishedLate += 1;
        if (p.status === 'confirmed') confirmedSoFar.push(p);
        continue;
      }
      const seq = p.admissionSeq ?? -1;
      const instance = history.admittedBy.get(p.purchaseId) ?? '?';
      const exempt = (q: SqlPurchase) => inRedisLossWindow(p.admittedAt) || inRedisLossWindow(q.admittedAt);
      const sameInstance = latestByInstance.get(instance);
      if (sameInstance !== undefined && seq <= (sameInstance.admissionSeq ?? -1)) {
        if (exempt(sameInstance)) fcfsRedisLossExceptions += 1;
        else
          findings.add(
            4,
            `item ${itemId}: ${describe(p)} decided after ${describe(sameInstance)}, same instance`,
          );
      } else if (latest !== undefined && seq <= (latest.admissionSeq ?? -1)) {
        if (exempt(latest)) fcfsRedisLossExceptions += 1;
        else {
          fcfsAcrossInstances += 1;
          const gap = Math.abs((p.admittedAt ?? 0) - (latest.admittedAt ?? 0));
          fcfsAcrossInstancesMaxGapMs = Math.max(fcfsAcrossInstancesMaxGapMs, gap);
        }
      }
      if (p.status === 'rejected' && p.reason === 'SOLD_OUT') {
        const overtaker = confirmedSoFar.find(
          (q) => (q.admissionSeq ?? -1) > seq && !exempt(q) && !publishedLate.has(q.purchaseId),
        );
        if (overtaker !== undefined) {
          findings.add(
            4,
            `item ${itemId}: ${describe(p)} rejected SOLD_OUT after the later ${describe(overtaker)} was confirmed`,
          );
        }
      }
      if (p.status === 'confirmed') confirmedSoFar.push(p);
      if (sameInstance === undefined || seq > (sameInstance.admissionSeq ?? -1))
        latestByInstance.set(instance, p);
      if (latest === undefined || seq > (latest.admissionSeq ?? -1)) latest = p;
    }
  }

  // ---- 6. honest answers ------------------------------------------------------------------------------
  // 503 SERVICE_UNAVAILABLE (and 409 NOT_ACCEPTED) tell the buyer nothing was bought. For a key whose
  // every attempt was answered (none lost to a killed gateway) and none was left open (PURCHASE_IN_PROGRESS),
  // a purchase in SQL that no attempt got a 202 for can only be the one a buyer was told did not happen.
  const attemptsByKey = new Map<string, BuyAttempt[]>();
  for (const a of history.attempts) {
    const key = `${a.itemId} ${a.buyerId} ${a.idempotencyKey}`;
    attemptsByKey.set(key, [...(attemptsByKey.get(key) ?? []), a]);
  }
  const toldNothingBought = (a: BuyAttempt) =>
    (a.status === 503 && a.reason === 'SERVICE_UNAVAILABLE') ||
    (a.status === 409 && a.reason === 'NOT_ACCEPTED');
  for (const p of history.sqlPurchases) {
    if (accepted.has(p.purchaseId) || p.idempotencyKey === null) continue;
    const attempts = attemptsByKey.get(`${p.itemId} ${p.buyerId} ${p.idempotencyKey}`) ?? [];
    const undecidable = attempts.some((a) => a.status === undefined || a.reason === 'PURCHASE_IN_PROGRESS');
    const told = attempts.find(toldNothingBought);
    if (!undecidable && told !== undefined) {
      findings.add(
        6,
        `purchase ${p.purchaseId} (${p.status}) of buyer ${p.buyerId}, key ${p.idempotencyKey}: the buyer was told ${told.status} ${told.reason ?? ''}, nothing was bought`,
      );
    }
  }

  // ---- 5. views equal SQL -----------------------------------------------------------------------------
  // Every consumer applies an item's versioned events in log order and ignores versions it has passed,
  // so the log itself must hold each item's versions in order, none missing: a version that arrives
  // after a higher one would be skipped by every consumer for good.
  const lastVersion = new Map<string, number>();
  for (const { event } of history.itemEvents) {
    if (event.name === 'PurchaseRejected') continue; // carries the version it was decided against
    const { itemId, version } = event.value;
    const last = lastVersion.get(itemId) ?? 0;
    if (version <= last) continue; // the same record again (at-least-once)
    if (version !== last + 1) {
      findings.add(
        5,
        `item ${itemId}: item-events go from version ${last} to ${version} (a consumer would skip)`,
      );
    }
    lastVersion.set(itemId, version);
  }
  for (const item of history.sqlItems) {
    for (const [where, views] of [
      ['read model', history.readModel],
      ['stock-views', history.latestStockViews],
    ] as const) {
      const view = views.get(item.itemId);
      if (view === undefined) {
        findings.add(5, `item ${item.itemId}: no view in the ${where}`);
        continue;
      }
      const expected = {
        listed: item.listed,
        sold: item.sold,
        available: item.remaining,
        version: item.version,
      };
      const differing = (Object.keys(expected) as (keyof typeof expected)[]).filter(
        (f) => view[f] !== expected[f],
      );
      if (differing.length > 0) {
        findings.add(
          5,
          `item ${item.itemId}: ${where} ${differing.map((f) => `${f}=${view[f]}`).join(' ')}, SQL ${differing.map((f) => `${f}=${expected[f]}`).join(' ')}`,
        );
      }
    }
  }

  const invariants = ([1, 2, 3, 4, 5, 6] as const).map((id): InvariantResult => ({
    id,
    name: invariantNames[id],
    violations: findings.count(id),
    examples: (findings.byInvariant.get(id) ?? []).slice(0, MAX_EXAMPLES),
  }));
  return {
    invariants,
    fcfsRedisLossExceptions,
    fcfsAcrossInstances,
    fcfsAcrossInstancesMaxGapMs,
    fcfsPublishedLate,
    redeliveredOutcomes,
    decidedWithout202,
    decidedAfter503,
    totalViolations: invariants.reduce((sum, r) => sum + r.violations, 0),
  };
}
