// Redis key names of the admission gate. Every key of one item carries the hash tag `{item:<itemId>}`, so
// one script only ever touches one Redis Cluster slot; the few keys that cannot (the purchase → item
// index, the item set, the epoch) are written by separate single-key commands.
import { PurchaseGateError } from '../../domain/purchase-gate-error.js';

export interface PurchaseGateKeys {
  /** Hash: available, version (last applied item version), perBuyerLimit, startsAt ('' = none), seq. */
  gate(itemId: string): string;
  /** Hash: buyerId → units the gate counts against the buyer's limit. */
  buyers(itemId: string): string;
  /** Sorted set: purchaseIds still 'admitted', scored by admittedAt; what the reconciler scans. */
  admitted(itemId: string): string;
  /**
   * Hash: requestHash, purchaseId; expires after the retention. A key is the buyer's own: two buyers who
   * send the same Idempotency-Key never meet.
   */
  idempotency(itemId: string, buyerId: string, idempotencyKey: string): string;
  /** Hash: the purchase record. */
  purchase(itemId: string, purchaseId: string): string;
  /** String: itemId, so GET /purchases/:id finds the record from the id alone. */
  purchaseItem(purchaseId: string): string;
  /** Set of item ids the gate holds, for the reconciler. */
  items(): string;
  /** String: changes on every rebuild; absent after Redis lost its data. */
  epoch(): string;
  /** Every key of every item starts with this (for tests and tooling). */
  prefix: string;
}

export function purchaseGateKeys(prefix: string): PurchaseGateKeys {
  // A brace in the prefix would become the hash tag and put all items in one slot, or split an item.
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new PurchaseGateError('GATE_INVALID_OPTIONS', `key prefix must not contain braces: ${prefix}`, {
      canRetry: false,
    });
  }
  const item = (itemId: string) => `${prefix}{item:${itemId}}`;
  return {
    gate: (itemId) => `${item(itemId)}:gate`,
    buyers: (itemId) => `${item(itemId)}:buyers`,
    admitted: (itemId) => `${item(itemId)}:admitted`,
    // The buyer's length first: no buyerId and key can spell another pair's name.
    idempotency: (itemId, buyerId, idempotencyKey) =>
      `${item(itemId)}:idem:${buyerId.length}:${buyerId}:${idempotencyKey}`,
    purchase: (itemId, purchaseId) => `${item(itemId)}:purchase:${purchaseId}`,
    purchaseItem: (purchaseId) => `${prefix}purchase-item:${purchaseId}`,
    items: () => `${prefix}gate-items`,
    epoch: () => `${prefix}gate-epoch`,
    prefix,
  };
}

/** The Redis Cluster hash tag of a key: the part between the first '{' and the next '}', or the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}
