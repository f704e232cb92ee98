// What a database must supply for the reservation store: its statements (with their parameters bound),
// how it runs them, its transactions, how its rows read back and what its errors mean. Everything else,
// the order of a decision's steps and what each result means, is sql-store.ts, shared by every dialect.
import type { SqlDialect } from '@buy-now/config';
import type {
  DecisionKeys,
  ItemState,
  OutboxRecord,
  PurchaseKey,
  PurchaseRow,
  ReservationStoreError,
  StoredEvent,
} from '../../domain/index.js';

/** The rows a statement returned (column names as in the SQL), and how many rows it changed. */
export interface CallResult {
  rows: readonly Record<string, unknown>[];
  rowCount: number;
}

/** One statement with its parameters bound, ready to run; what it looks like is the dialect's business. */
export interface StoreStatements<Call> {
  /** The item row under an update lock (ItemRecord), or nothing. */
  lockItem(itemId: string): Call;
  /**
   * Where locking an absent row locks nothing (PostgreSQL), a lock on the item's id: the store takes it
   * and reads everything again. A dialect whose row lock covers an absent key (SQL Server's HOLDLOCK)
   * leaves it out.
   */
  lockAbsentItem?: (itemId: string) => Call;
  /** purchase_id of those already decided. */
  decidedPurchases(purchaseIds: DecisionKeys['purchaseIds']): Call;
  /** buyer_id, units: confirmed units per buyer of the item. */
  confirmedUnits(itemId: string, buyerIds: DecisionKeys['buyerIds']): Call;
  /** buyer_id, idempotency_key, purchase_id of the keys a purchase of the item already holds. */
  heldPurchaseKeys(itemId: string, keys: readonly PurchaseKey[]): Call;
  /** command_id of those already applied. */
  processedCommands(commandIds: DecisionKeys['commandIds']): Call;
  /** The item's unpublished outbox rows (OutboxRecordRow), oldest first. */
  unpublishedOutboxOf(itemId: string): Call;
  /** Inserts the row unless one exists: rowCount 1, or 0 when another transaction created it. */
  insertItem(item: ItemState): Call;
  /** Updates the row if it is still at `previousVersion`: rowCount 1, else 0. */
  updateItem(item: ItemState, previousVersion: number): Call;
  insertPurchases(purchases: readonly PurchaseRow[]): Call;
  insertPurchaseKeys(itemId: string, holders: readonly PurchaseRow[]): Call;
  insertEvents(itemId: string, events: readonly StoredEvent[]): Call;
  insertProcessedCommands(itemId: string, commandIds: readonly string[]): Call;
  /** Inserts the records in order; rows: id, created_at_ms of each, ids drawn in the records' order. */
  insertOutbox(records: readonly OutboxRecord[]): Call;
  unpublishedOutbox(limit: number): Call;
  markPublished(ids: readonly string[]): Call;
  getItem(itemId: string): Call;
  listItems(): Call;
  getPurchase(purchaseId: string): Call;
  itemEvents(itemId: string, fromVersion: number): Call;
  ping(): Call;
}

export interface StoreDialect<Tx, Call> {
  readonly name: SqlDialect;
  readonly statements: StoreStatements<Call>;
  /** Outbox records one insertOutbox call may take (SQL Server's limit of parameters a request). */
  readonly outboxRowsPerInsert: number;
  /** A connection, in a READ COMMITTED transaction. */
  begin(): Promise<Tx>;
  /**
   * Runs the calls in order, in the transaction or (null) on the pool, in as few round trips as the
   * dialect can; results in the calls' order. A failing call fails the whole run.
   */
  run(tx: Tx | null, calls: readonly Call[]): Promise<CallResult[]>;
  /** Commits and gives the connection back. */
  commit(tx: Tx): Promise<void>;
  /**
   * Ends a failed transaction and gives the connection back (or drops it). Resolves when the server no
   * longer holds the transaction, rejects with the driver's error when that is not known.
   */
  rollback(tx: Tx): Promise<void>;
  /** Row values as the driver hands them over: JSON columns come back parsed or as text. */
  headersOf(value: unknown): Record<string, string>;
  payloadOf(value: unknown): unknown;
  /** What a failure of this database means for the caller: conflict, unavailable, refused, failed. */
  storeErrorOf(error: unknown): ReservationStoreError;
  /** Ends the pool if the store created it. */
  close(): Promise<void>;
}
