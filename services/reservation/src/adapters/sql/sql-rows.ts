// Row shapes and row-to-domain mappers shared by the PostgreSQL and SQL Server stores: the two
// dialects differ in how they lock and write, not in what a row means.
import type { ItemState } from '../../domain/item-state.js';
import type { PurchaseRow } from '../../domain/purchase.js';
import { ReservationStoreError } from '../../domain/errors.js';

/** Column lists, given the dialect's expression for "this timestamp as epoch milliseconds". */
export const itemColumns = (toMs: (column: string) => string): string =>
  `item_id, title, price_minor, currency, per_buyer_limit, ${toMs('starts_at')} AS starts_at_ms,
  listed, sold, remaining, version`;

export const purchaseColumns = (toMs: (column: string) => string): string =>
  `purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key, admission_seq,
  ${toMs('admitted_at')} AS admitted_at_ms, ${toMs('decided_at')} AS decided_at_ms, item_version`;

export interface ItemRecord {
  item_id: string;
  title: string;
  price_minor: string;
  currency: string;
  per_buyer_limit: number;
  starts_at_ms: string | null;
  listed: number;
  sold: number;
  remaining: number;
  version: string;
}

export interface PurchaseRecord {
  purchase_id: string;
  item_id: string;
  buyer_id: string;
  quantity: number;
  status: PurchaseRow['status'];
  reason: PurchaseRow['reason'];
  idempotency_key: string | null;
  admission_seq: string | null;
  admitted_at_ms: string | null;
  decided_at_ms: string;
  item_version: string | null;
}

export function itemStateOf(row: ItemRecord): ItemState {
  return {
    itemId: row.item_id,
    title: row.title,
    priceMinor: Number(row.price_minor),
    currency: row.currency,
    perBuyerLimit: row.per_buyer_limit,
    startsAt: row.starts_at_ms === null ? null : Number(row.starts_at_ms),
    listed: row.listed,
    sold: row.sold,
    remaining: row.remaining,
    version: Number(row.version),
  };
}

export function purchaseRowOf(row: PurchaseRecord): PurchaseRow {
  return {
    purchaseId: row.purchase_id,
    itemId: row.item_id,
    buyerId: row.buyer_id,
    quantity: row.quantity,
    status: row.status,
    reason: row.reason,
    idempotencyKey: row.idempotency_key ?? '',
    admissionSeq: row.admission_seq === null ? null : Number(row.admission_seq),
    admittedAt: Number(row.admitted_at_ms),
    decidedAt: Number(row.decided_at_ms),
    itemVersion: row.item_version === null ? null : Number(row.item_version),
  };
}

export function conflict(message: string): ReservationStoreError {
  return new ReservationStoreError('RESERVATION_STORE_CONFLICT', message);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
