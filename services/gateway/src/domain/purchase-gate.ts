// The admission gate's port: a fast filter in front of Kafka that takes a unit off the shelf at most once
// per request. SQL (the reservation service) stays the authority; the gate only decides who may ask.

export type GateRejectionReason = 'SOLD_OUT' | 'LIMIT_EXCEEDED' | 'NOT_STARTED';

/**
 * admitted: the gate took the unit, the broker has not acknowledged the BuyRequested yet.
 * pending: the broker acknowledged it; SQL has not decided.
 * confirmed / rejected: SQL decided (final).
 * withdrawn: the gate gave the unit back because the BuyRequested certainly never reached the broker (the
 * publish failed without sending it). The buyer was told nothing was bought, and that is true. A purchase
 * whose publish may have reached the broker (a timeout, its gateway died) is never withdrawn: the
 * reconciler publishes it again and SQL decides it.
 */
export type PurchaseStatus = 'admitted' | 'pending' | 'confirmed' | 'rejected' | 'withdrawn';

export interface PurchaseRecord {
  purchaseId: string;
  itemId: string;
  buyerId: string;
  quantity: number;
  status: PurchaseStatus;
  /** A rejection reason from SQL, or why the gate withdrew the purchase. */
  reason?: string;
  /** DUPLICATE_REQUEST: the purchase the same buyer, item and Idempotency-Key already made. */
  originalPurchaseId?: string;
  /** null only for a record rebuilt from an outcome after Redis lost the original. */
  admittedAt: number | null;
  admissionSeq: number | null;
  idempotencyKey: string | null;
}

export interface AdmitRequest {
  itemId: string;
  buyerId: string;
  quantity: number;
  /** Scoped to the buyer and the item: another buyer's or another item's same key is another request. */
  idempotencyKey: string;
  /** sha256 of the normalised request; same key with another hash is a conflict. */
  requestHash: string;
  /** New, chosen by the caller; becomes the purchase's id if admitted. */
  purchaseId: string;
  gatewayId: string;
}

export type AdmitResult =
  | {
      kind: 'admitted';
      purchaseId: string;
      admissionSeq: number;
      available: number;
      /**
       * Epoch ms by the gate's own clock, the one every gateway shares: the item's startsAt was compared
       * with it, and stuck admissions are aged by it, so gateways whose clocks disagree still agree here.
       */
      admittedAt: number;
    }
  | { kind: 'replay'; purchase: PurchaseRecord }
  | { kind: 'idempotency-conflict'; purchaseId: string }
  | {
      kind: 'rejected';
      reason: GateRejectionReason;
      available: number;
      perBuyerLimit: number;
      /** Present when the item has a start time (always for NOT_STARTED). */
      startsAt?: number;
      /** The item version the gate had applied when it refused. */
      version?: number;
    }
  | { kind: 'unknown-item' };

/** A decision from item-events (ItemBought → confirmed, PurchaseRejected → rejected). */
export interface PurchaseOutcome {
  itemId: string;
  purchaseId: string;
  status: 'confirmed' | 'rejected';
  reason?: string;
  /** DUPLICATE_REQUEST: the purchase SQL found holding the same buyer, item and Idempotency-Key. */
  originalPurchaseId?: string | null;
  /**
   * ItemBought's own version, or the version PurchaseRejected was decided against; null/absent when
   * unknown. Advances the gate's applied version and lets a record Redis lost be accounted exactly once.
   */
  version?: number | null;
  /** SQL's units left after the decision; when given, the gate is trimmed to it (never raised). */
  remaining?: number;
  /** Needed only to rebuild a record Redis lost; the event carries them, so pass them. */
  buyerId?: string;
  quantity?: number;
  admissionSeq?: number;
  admittedAt?: number;
}

export interface GateListing {
  itemId: string;
  version: number;
  stock: number;
  perBuyerLimit: number;
  startsAt: number | null;
  /** Accepted so an ItemListed can be passed as is; the gate does not keep them (the stock views do). */
  title?: string;
  priceMinor?: number;
  currency?: string;
}

export interface GateStockAdjustment {
  itemId: string;
  version: number;
  delta: number;
  /** SQL's units left after the adjustment; the gate is trimmed to it (never raised). */
  remaining?: number;
}

/** ItemBought / OutOfStock seen as a stock fact: SQL had `remaining` units left at `version`. */
export interface GateSoldState {
  itemId: string;
  version: number;
  remaining: number;
}

/** One item's state read from SQL, to rebuild the gate after Redis lost its data. */
export interface GateSnapshot {
  itemId: string;
  version: number;
  remaining: number;
  perBuyerLimit: number;
  startsAt: number | null;
  /** Units SQL confirmed per buyer, so per-buyer limits survive the loss. */
  confirmedUnitsByBuyer?: Record<string, number>;
  /** Highest admissionSeq SQL saw for the item, so the sequence does not restart at 1. */
  lastAdmissionSeq?: number;
}

export interface GateAvailability {
  available: number;
  version: number;
  startsAt: number | null;
  perBuyerLimit: number;
}

/**
 * An admission whose BuyRequested the broker has not acknowledged within the bound, claimed by this
 * reconciler: everything needed to publish it again under the same purchaseId (SQL decides a purchaseId
 * once, so a second copy in the log changes nothing).
 */
export interface StuckAdmission {
  purchaseId: string;
  itemId: string;
  buyerId: string;
  quantity: number;
  idempotencyKey: string;
  admittedAt: number;
  admissionSeq: number;
  gatewayId: string;
}

export interface PurchaseGate {
  /** One atomic step: replay, refuse, or take the units and record the purchase as 'admitted'. */
  admit(req: AdmitRequest): Promise<AdmitResult>;

  /**
   * The broker acknowledged the BuyRequested: admitted → pending, and the purchase can be found by its
   * id alone (GET /purchases/:id). False when the record was no longer
   * 'admitted' — in particular when the reconciler already released it because the publish took longer
   * than its bound. The BuyRequested is in the log all the same, so the answer is still 202; SQL's outcome
   * then takes the unit again (see applyOutcome).
   */
  markAccepted(itemId: string, purchaseId: string): Promise<boolean>;

  /**
   * The publish failed without sending anything: give the units back, un-count the buyer, forget the
   * idempotency key (a retry with it is a fresh attempt) and mark the purchase 'withdrawn'. True only the
   * first time, only from 'admitted', and never once the reconciler claimed it (it may be in the log).
   */
  release(itemId: string, purchaseId: string, why: string): Promise<boolean>;

  /**
   * Records SQL's decision once; a final status never changes again. A rejection always stops counting the
   * units against the buyer. A rejection other than SOLD_OUT gives the units back (SQL still has them);
   * SOLD_OUT (SQL had fewer than the gate believed) gives them back only with SQL's `remaining` at a version
   * the gate has not passed, and the gate is then trimmed to it. False when the purchase was already decided.
   */
  applyOutcome(outcome: PurchaseOutcome): Promise<boolean>;

  /** Sets the gate from ItemListed when its version is newer than the gate's. */
  applyListing(listing: GateListing): Promise<boolean>;

  /** Adds the delta (floored at 0) when the version is newer than the gate's. */
  applyStockAdjusted(adjustment: GateStockAdjustment): Promise<boolean>;

  /** Trims the gate to SQL's remaining (never raises it) unless the fact is older than the gate. */
  applySoldState(state: GateSoldState): Promise<boolean>;

  /** Rebuilds one item from SQL; no-op when the gate already has this version or a newer one. */
  restoreItem(snapshot: GateSnapshot): Promise<boolean>;

  /** Marks the gate rebuilt: call after restoreItem for every item SQL knows. Returns the new epoch. */
  markGateRebuilt(): Promise<string>;

  /** null: Redis lost its data (or was never built) and the gate must be rebuilt from SQL. */
  gateEpoch(): Promise<string | null>;

  /**
   * A purchase by its id. With its item (when the caller knows it) in one read, and from admission on;
   * by the id alone once it was accepted (markAccepted) or decided, through the purchase index.
   */
  getPurchase(purchaseId: string, itemId?: string): Promise<PurchaseRecord | null>;

  getAvailability(itemId: string): Promise<GateAvailability | null>;

  /**
   * The buyers the gate counts units for on this item (an admission or a confirmed purchase), or null
   * when there are more than `limit`.
   */
  admittedBuyers(itemId: string, limit: number): Promise<string[] | null>;

  /**
   * Claims the admissions older than `olderThanMs` (by the gate's clock) whose publish was never
   * acknowledged, for publishing again: their gateway died, or its publish ended without knowing. A claim
   * holds for another `olderThanMs`, so reconcilers of several gateways do not all publish each one.
   */
  claimStuck(olderThanMs: number): Promise<StuckAdmission[]>;
}
