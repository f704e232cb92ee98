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
