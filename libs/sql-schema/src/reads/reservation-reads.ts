// What other services read from the reservation's tables, in one place with a dialect per database:
// the gateway rebuilds its Redis gate and answers GET /purchases/:id from them, the stream processor's
// views:verify tallies the event store. No service writes SQL against these tables by hand.
import type { SqlDialect } from '@buy-now/config';

/** One item as the gate needs it. Times are epoch milliseconds. */
export interface GateItem {
  itemId: string;
  perBuyerLimit: number;
  startsAt: number | null;
  remaining: number;
  version: number;
}

export interface GateSnapshot {
  items: GateItem[];
  /** Units confirmed per buyer, for every item and buyer that has any. */
  confirmedUnits: { itemId: string; buyerId: string; units: number }[];
  /** The highest admission number each item's purchases carry, so admissions carry on after it. */
  lastAdmissionSeqs: { itemId: string; lastSeq: number }[];
}

/** A decided purchase, the store of record's answer when Redis no longer has it. */
export interface ArchivedPurchase {
  purchaseId: string;
  itemId: string;
  buyerId: string;
  quantity: number;
  status: 'confirmed' | 'rejected';
  reason: string | null;
  /** For a DUPLICATE_REQUEST: the purchase that holds its Idempotency-Key. */
  originalPurchaseId: string | null;
  idempotencyKey: string | null;
  admissionSeq: number | null;
  admittedAt: number | null;
}

/** The columns both dialects' purchase statement return. */
export interface ArchivedPurchaseRow {
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

export function archivedPurchaseOf(row: ArchivedPurchaseRow): ArchivedPurchase {
  return {
    purchaseId: row.purchase_id,
    itemId: row.item_id,
    buyerId: row.buyer_id,
    quantity: row.quantity,
    status: row.status,
    reason: row.reason,
    originalPurchaseId: row.original_purchase_id,
    idempotencyKey: row.idempotency_key,
    admissionSeq: row.admission_seq === null ? null : Number(row.admission_seq),
    admittedAt: row.admitted_ms === null ? null : Number(row.admitted_ms),
  };
}

/** One row of item_events: the payload is the event's Avro fields as JSON. */
export interface StoredEventRow {
  itemId: string;
  version: number;
  type: string;
  payload: unknown;
}

export interface ItemStockRow {
  itemId: string;
  version: number;
  listed: number;
  sold: number;
  remaining: number;
}

/** The event store and the items rows (its snapshots), read as of one moment. */
export interface EventStoreSnapshot {
  /** In (itemId, version) order. */
  events: StoredEventRow[];
  /** In itemId order. */
  items: ItemStockRow[];
}

export interface ReservationReads {
  readonly dialect: SqlDialect;
  gateSnapshot(): Promise<GateSnapshot>;
  findPurchase(purchaseId: string): Promise<ArchivedPurchase | null>;
  eventStoreSnapshot(): Promise<EventStoreSnapshot>;
  /** Resolves while the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ReservationReadsOptions {
  /** Connections; default 2 (the readers are rare and short). */
  poolSize?: number;
  /** How long opening a connection may take; default: the driver's. */
  connectTimeoutMs?: number;
  /** A pooled connection failed while idle; the pool replaces it. Without this it would crash the process. */
  onPoolError: (error: Error) => void;
}
