// Decided purchases from SQL, the store of record: GET /purchases/:id falls back to it when Redis no
// longer has the record (expired after its retention, or lost with Redis's data).
import type pg from 'pg';
import type { PurchaseRecord } from '../../domain/purchase-gate.js';
import type { PurchaseArchive } from '../../domain/ports.js';

interface PurchaseRow {
  purchase_id: string;
  item_id: string;
  buyer_id: string;
  quantity: number;
  status: 'confirmed' | 'rejected';
  reason: string | null;
  original_purchase_id: string | null;
  idempotency_key: string | null;
  admission_seq: string | null;
  admitted_ms: string | null;
}

export function createPurchaseArchive(pool: pg.Pool): PurchaseArchive {
  return {
    async findPurchase(purchaseId) {
      const { rows } = await pool.query<PurchaseRow>(
        // A DUPLICATE_REQUEST's original is the purchase holding its key (migration 0006).
        `SELECT p.purchase_id, p.item_id, p.buyer_id, p.quantity, p.status, p.reason, p.idempotency_key,
                p.admission_seq, (extract(epoch from p.admitted_at) * 1000)::bigint AS admitted_ms,
                k.purchase_id AS original_purchase_id
           FROM purchases AS p
           LEFT JOIN purchase_keys AS k
             ON p.reason = 'DUPLICATE_REQUEST' AND k.item_id = p.item_id AND k.buyer_id = p.buyer_id
               AND k.idempotency_key = p.idempotency_key
          WHERE p.purchase_id = $1`,
        [purchaseId],
      );
      const row = rows[0];
      if (!row) return null;
      const record: PurchaseRecord = {
        purchaseId: row.purchase_id,
        itemId: row.item_id,
        buyerId: row.buyer_id,
        quantity: row.quantity,
        status: row.status,
        ...(row.reason ? { reason: row.reason } : {}),
        ...(row.original_purchase_id ? { originalPurchaseId: row.original_purchase_id } : {}),
        admittedAt: row.admitted_ms === null ? null : Number(row.admitted_ms),
        admissionSeq: row.admission_seq === null ? null : Number(row.admission_seq),
        idempotencyKey: row.idempotency_key,
      };
      return record;
    },
  };
}
