// What the HTTP layer needs from the outside world, as plain interfaces (adapters implement them).
import type { ItemCommand } from '@buy-now/contracts';
import type { PurchaseRecord } from './purchase-gate.js';

export type ItemStatus = 'scheduled' | 'live' | 'sold-out';

/** The live view of an item that GET /items and the WebSocket serve (the stream processor's StockView). */
export interface ItemView {
  itemId: string;
  title: string;
  priceMinor: number;
  currency: string;
  perBuyerLimit: number;
  startsAt: number | null;
  /** Units listed + restocked - withdrawn. */
  listed: number;
  /** Units SQL still has for sale, as of `version`. */
  available: number;
  /** Units whose purchase SQL confirmed. */
  sold: number;
  status: ItemStatus;
  version: number;
}

export interface ItemCatalogue {
  getItem(itemId: string): Promise<ItemView | null>;
  /** The items among these that have a view, in no particular order. */
  getItems(itemIds: readonly string[]): Promise<ItemView[]>;
  /** Every item, by itemId. */
  listItems(): Promise<ItemView[]>;
}

/** Decided purchases in the store of record, for when the serving cache no longer has them. */
export interface PurchaseArchive {
  findPurchase(purchaseId: string): Promise<PurchaseRecord | null>;
}

export interface CommandPublisher {
  /**
   * Resolves once the broker acknowledged the command (acks=all); rejects otherwise: with
   * CommandNotPublishedError when the command certainly did not reach the log, with anything else when it
   * may have (a timeout after the broker appended it).
   */
  publish(command: ItemCommand): Promise<void>;
}

/** A publish that failed before anything was sent: the command is certainly not in the log. */
export class CommandNotPublishedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandNotPublishedError';
  }
}

export interface OutcomeWatch {
  /** True when the purchase was announced as decided within the timeout, else false. */
  decided: Promise<boolean>;
  cancel(): void;
}

export interface OutcomeWaiter {
  watch(purchaseId: string, timeoutMs: number): OutcomeWatch;
}

/** Every purchase id announced as decided, on whichever gateway instance followed the event. */
export interface DecisionFeed {
  /** Returns a function that removes the listener. */
  onDecided(listener: (purchaseIds: readonly string[]) => void): () => void;
}

export interface DependencyHealth {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface HealthProbe {
  check(): Promise<DependencyHealth[]>;
}
