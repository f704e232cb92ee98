// Refusing a sold-out item without asking Redis. In a flash sale almost every request arrives after the
// last unit went; each one used to cost the gateway a gate round trip (and Redis a script run) only to
// hear SOLD_OUT again. Each instance now remembers what the gate said, and repeats only that:
//
// - It remembers an item only when the gate itself answered SOLD_OUT with no unit left, at a version.
// - A buyer the gate counts units for (an admission or a purchase of this item) is always sent to the
//   gate: a retry with their Idempotency-Key must get their purchase back, never "sold out".
// - Whatever may put units back forgets the item at once: a restock, a listing, a rejection, a released
//   admission, a rebuilt gate, on this instance or (over the outcome bus) on another; so does a stock
//   view newer than the remembered version with units in it. A notice asked for before the gate's answer
//   arrived wins over that answer (the generation check), so a stale answer is never remembered.
// - A remembered item is forgotten after `ttlMs` in any case, so a notice lost on the way (pub/sub is
//   at-most-once) costs at most that long.
//
// The gate in Redis stays the only authority for admitting; this only repeats its refusal.
import type { AdmitResult, PurchaseGate } from './purchase-gate.js';

export interface SoldOutMemoOptions {
  clock: () => number;
  /** How long a remembered SOLD_OUT is repeated at most; 0 turns the memo off. */
  ttlMs: number;
  /** Items whose gate counts more buyers than this are not remembered (their buyer list is too big). */
  maxBuyers?: number;
}

export interface RememberedSoldOut {
  version: number;
  perBuyerLimit: number;
  startsAt?: number;
}

interface Entry extends RememberedSoldOut {
  expiresAt: number;
  buyersWithUnits: ReadonlySet<string>;
}

export interface SoldOutMemo {
  readonly maxBuyers: number;
  /** The remembered refusal for this buyer, or null when the gate must be asked. */
  refusal(itemId: string, buyerId: string): RememberedSoldOut | null;
  /** Read before asking the gate; remember() checks it, so a reopening heard in between wins. */
  generation(itemId: string): number;
  /** The gate answered SOLD_OUT with nothing left at `state.version`. False when a reopening came first. */
  remember(
    itemId: string,
    generation: number,
    state: RememberedSoldOut & { buyersWithUnits: Iterable<string> },
  ): boolean;
  /** Units may be back: ask the gate again. */
  reopen(itemId: string): void;
  /** A stock view: one newer than what was remembered, with units in it, reopens the item. */
  observeView(itemId: string, version: number, available: number): void;
  remembered(): number;
}

export function createSoldOutMemo(options: SoldOutMemoOptions): SoldOutMemo {
  const entries = new Map<string, Entry>();
  const generations = new Map<string, number>();
  /** The newest view with units seen per item: an older SOLD_OUT answer must not be remembered after it. */
  const openSince = new Map<string, number>();
  const bump = (itemId: string) => generations.set(itemId, (generations.get(itemId) ?? 0) + 1);

  return {
    maxBuyers: options.maxBuyers ?? 10_000,
    refusal(itemId, buyerId) {
      if (options.ttlMs <= 0) return null;
      const entry = entries.get(itemId);
      if (entry === undefined) return null;
      if (options.clock() >= entry.expiresAt) {
        entries.delete(itemId);
        return null;
      }
      if (entry.buyersWithUnits.has(buyerId)) return null;
      return {
        version: entry.version,
        perBuyerLimit: entry.perBuyerLimit,
        ...(entry.startsAt === undefined ? {} : { startsAt: entry.startsAt }),
      };
    },
    generation: (itemId) => generations.get(itemId) ?? 0,
    remember(itemId, generation, state) {
      if (options.ttlMs <= 0) return false;
      if ((generations.get(itemId) ?? 0) !== generation) return false;
      if ((openSince.get(itemId) ?? -1) > state.version) return false;
      entries.set(itemId, {
        version: state.version,
        perBuyerLimit: state.perBuyerLimit,
        ...(state.startsAt === undefined ? {} : { startsAt: state.startsAt }),
        expiresAt: options.clock() + options.ttlMs,
        buyersWithUnits: new Set(state.buyersWithUnits),
      });
      return true;
    },
    reopen(itemId) {
      bump(itemId);
      entries.delete(itemId);
    },
    observeView(itemId, version, available) {
      if (available <= 0) return;
      if (version > (openSince.get(itemId) ?? -1)) openSince.set(itemId, version);
      const entry = entries.get(itemId);
      if (entry !== undefined && version > entry.version) {
        bump(itemId);
        entries.delete(itemId);
      }
    },
    remembered: () => entries.size,
  };
}

export interface SoldOutMemoGateOptions {
  memo: SoldOutMemo;
  /** Tells the other instances that units of the item may be back (the outcome bus). */
  announceReopened: (itemId: string) => void;
  /** A request refused from the memo, without a gate round trip. */
  onRefusedLocally?: () => void;
  /** Learning an item's buyers failed; the item is simply not remembered. */
  onLearnFailed?: (itemId: string, error: unknown) => void;
}

/**
 * The gate with the memo in front: admit() refuses from it when it can and teaches it SOLD_OUT answers;
 * every step that may put units back forgets the item here and on the other instances.
 */
export function withSoldOutMemo(gate: PurchaseGate, options: SoldOutMemoGateOptions): PurchaseGate {
  const { memo } = options;
  const learning = new Set<string>();
  const reopened = (itemId: string) => {
    memo.reopen(itemId);
    options.announceReopened(itemId);
  };

  const learn = (itemId: string, generation: number, answer: Extract<AdmitResult, { kind: 'rejected' }>) => {
    if (learning.has(itemId) || answer.version === undefined) return;
    const version = answer.version;
    learning.add(itemId);
    gate
      .admittedBuyers(itemId, memo.maxBuyers)
      .then((buyers) => {
        if (buyers === null) return;
        memo.remember(itemId, generation, {
          version,
          perBuyerLimit: answer.perBuyerLimit,
          ...(answer.startsAt === undefined ? {} : { startsAt: answer.startsAt }),
          buyersWithUnits: buyers,
        });
      })
      .catch((error: unknown) => options.onLearnFailed?.(itemId, error))
      .finally(() => learning.delete(itemId));
  };

  return {
    ...gate,
    async admit(req) {
      const known = memo.refusal(req.itemId, req.buyerId);
      if (known !== null) {
        options.onRefusedLocally?.();
        return {
          kind: 'rejected',
          reason: 'SOLD_OUT',
          available: 0,
          perBuyerLimit: known.perBuyerLimit,
          version: known.version,
          ...(known.startsAt === undefined ? {} : { startsAt: known.startsAt }),
        };
      }
      const generation = memo.generation(req.itemId);
      const answer = await gate.admit(req);
      if (answer.kind === 'rejected' && answer.reason === 'SOLD_OUT' && answer.available === 0) {
        learn(req.itemId, generation, answer);
      }
      return answer;
    },
    async release(itemId, purchaseId, why) {
      const released = await gate.release(itemId, purchaseId, why);
      if (released) reopened(itemId);
      return released;
    },
    async applyOutcome(outcome) {
      const recorded = await gate.applyOutcome(outcome);
      if (recorded && outcome.status === 'rejected') reopened(outcome.itemId);
      return recorded;
    },
    async applyListing(listing) {
      const applied = await gate.applyListing(listing);
      if (applied) reopened(listing.itemId);
      return applied;
    },
    async applyStockAdjusted(adjustment) {
      const applied = await gate.applyStockAdjusted(adjustment);
      if (applied && adjustment.delta > 0) reopened(adjustment.itemId);
      return applied;
    },
    async restoreItem(snapshot) {
      const applied = await gate.restoreItem(snapshot);
      if (applied) reopened(snapshot.itemId);
      return applied;
    },
  };
}
