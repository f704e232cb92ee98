// The port to the store of record (SQL): one transaction per item per batch, under the item's row lock.
import type { EpochMillis } from '@buy-now/contracts';
import type { ItemDecisionContext } from './decide-item-commands.js';
import type { ItemState } from './item-state.js';
import type { PurchaseRow } from './purchase.js';

/** The ids of one item's batch, so the store loads only the context that batch can touch. */
export interface DecisionKeys {
  purchaseIds: readonly string[];
  buyerIds: readonly string[];
  /** The (buyer, Idempotency-Key) pairs of the BuyRequested, each once. */
  purchaseKeys: readonly PurchaseKey[];
  /** ListItem / AdjustStock command ids. */
  commandIds: readonly string[];
}

export interface PurchaseKey {
  buyerId: string;
  idempotencyKey: string;
}

/** The decision context as read under the row lock; the caller adds `now`. */
export type StoredContext = Omit<ItemDecisionContext, 'now'>;

/** A row of the event store (item_events): only events that take a version of their own. */
export interface StoredEvent {
  name: string;
  version: number;
  /** Stored as JSON. */
  payload: object;
  occurredAt: EpochMillis;
}

/** A record to publish after commit. */
export interface OutboxRecord {
  topic: string;
  /** The record key as text (the itemId). */
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export interface OutboxRow extends OutboxRecord {
  /** bigint, as decimal text; grows with insertion order. */
  id: string;
  createdAt: EpochMillis;
}

/** What one decision writes, all in one transaction. */
export interface DecisionToPersist {
  /** The item's next state; null: the item did not change (nothing listed, adjusted or sold). */
  state: ItemState | null;
  purchases: readonly PurchaseRow[];
  events: readonly StoredEvent[];
  /** In publishing order. */
  outbox: readonly OutboxRecord[];
  processedCommandIds: readonly string[];
}

export interface PersistedDecision<D extends DecisionToPersist = DecisionToPersist> {
  /** What `decide` returned, now committed. */
  decision: D;
  /**
   * Every unpublished outbox row of the item, oldest first: rows an earlier transaction committed but
   * never published (a crash between commit and publish), then this decision's rows in the order
   * given. Publish them in this order, then markPublished(outboxIds): the item's events then reach
   * the topic in version order, and a redelivered batch re-emits the outcomes it finds stored.
   */
  outbox: OutboxRow[];
  outboxIds: string[];
}

export interface StoredItemEvent {
  version: number;
  name: string;
  payload: unknown;
  occurredAt: EpochMillis;
}

export interface ReservationStore {
  /**
   * One transaction for one item: lock the item row (or, for an item without a row, the right to
   * create it), load the decision context for `keys`, call `decide`, persist what it returns, commit.
   * If `decide` throws, the transaction rolls back and its error is rethrown unchanged. Store failures
   * throw ReservationStoreError; `canRetry` says whether running the batch again can succeed.
   */
  decideForItem<D extends DecisionToPersist>(
    itemId: string,
    keys: DecisionKeys,
    decide: (context: StoredContext) => D,
  ): Promise<PersistedDecision<D>>;
  /**
   * Outbox rows not yet marked published, oldest first, for a sweep of items that get no new commands
   * after a crash. It may race the consumer: a row can be published twice, never out of its item's order
   * relative to rows that were never published.
   */
  unpublishedOutbox(limit: number): Promise<OutboxRow[]>;
  markPublished(ids: readonly string[]): Promise<void>;
  getItem(itemId: string): Promise<ItemState | null>;
  /** Every item, by itemId. */
  listItems(): Promise<ItemState[]>;
  getPurchase(purchaseId: string): Promise<PurchaseRow | null>;
  /** The item's stored events from `fromVersion` (default 1), in version order. */
  itemEvents(itemId: string, fromVersion?: number): Promise<StoredItemEvent[]>;
  /** Resolves when the database answers a trivial query (readiness). */
  ping(): Promise<void>;
  /** Ends the connection pool if the store created it. */
  close(): Promise<void>;
}
