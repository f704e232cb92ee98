// Decided purchases from SQL, the store of record: GET /purchases/:id falls back to it when Redis no
// longer has the record (expired after its retention, or lost with Redis's data).
import type { ReservationReads } from '@buy-now/sql-schema';
import type { PurchaseRecord } from '../../domain/purchase-gate.js';
import type { PurchaseArchive } from '../../domain/ports.js';

export function createPurchaseArchive(reads: Pick<ReservationReads, 'findPurchase'>): PurchaseArchive {
  return {
    async findPurchase(purchaseId) {
      const row = await reads.findPurchase(purchaseId);
      if (!row) return null;
      const record: PurchaseRecord = {
        purchaseId: row.purchaseId,
        itemId: row.itemId,
        buyerId: row.buyerId,
        quantity: row.quantity,
        status: row.status,
        ...(row.reason ? { reason: row.reason } : {}),
        ...(row.originalPurchaseId ? { originalPurchaseId: row.originalPurchaseId } : {}),
        admittedAt: row.admittedAt,
        admissionSeq: row.admissionSeq,
        idempotencyKey: row.idempotencyKey,
      };
      return record;
    },
  };
}
