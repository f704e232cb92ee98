// One decided purchase request, as stored: the idempotency anchor for a redelivered BuyRequested.
import type { EpochMillis, RejectionReason } from '@buy-now/contracts';

export type PurchaseStatus = 'confirmed' | 'rejected';

export interface PurchaseRow {
  purchaseId: string;
  itemId: string;
  buyerId: string;
  /** As requested, even when it was invalid (rejected INVALID_QUANTITY). */
  quantity: number;
  status: PurchaseStatus;
  /** null exactly when confirmed. */
  reason: RejectionReason | null;
  idempotencyKey: string;
  /** null when the gate did not say (BuyRequested written before v2 carries -1). */
  admissionSeq: number | null;
  admittedAt: EpochMillis;
  decidedAt: EpochMillis;
  /** Confirmed: the version of its ItemBought. Rejected: the version decided against; null for an unknown item. */
  itemVersion: number | null;
}

/**
 * The identity of one buying intent on an item: the buyer and the Idempotency-Key they sent. As a map key,
 * unambiguous whatever characters the two contain.
 */
export function purchaseKeyOf(buyerId: string, idempotencyKey: string): string {
  return JSON.stringify([buyerId, idempotencyKey]);
}

/**
 * Whether a decided purchase holds its (item, buyer, Idempotency-Key): every one does except a
 * DUPLICATE_REQUEST rejection, which is refused precisely because another purchase holds it.
 */
export function holdsPurchaseKey(purchase: Pick<PurchaseRow, 'reason'>): boolean {
  return purchase.reason !== 'DUPLICATE_REQUEST';
}
