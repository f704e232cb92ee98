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
  idempotency_key: string | null;
  admission_seq: string | null;
  admitted_ms: string | null;
}

export function createPurchaseArchive(pool: pg.Pool): PurchaseArchive {
  return {
    async findPurchase(purchaseId) {
      const { rows } = await pool.query<PurchaseRow>(
        `SELECT purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key, admission_seq,
                (extract(epoch from admitted_at) * 1000)::bigint AS admitted_ms
           FROM purchases WHERE purchase_id = $1`,
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
        admittedAt: row.admitted_ms === null ? null : Number(row.admitted_ms),
        admissionSeq: row.admission_seq === null ? null : Number(row.admission_seq),
        idempotencyKey: row.idempotency_key,
      };
      return record;
    },
  };
}
