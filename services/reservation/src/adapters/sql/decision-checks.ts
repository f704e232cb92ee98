// Checks shared by the SQL adapters: a decision must fit the item it was asked for before anything
// of it is written, and outbox ids must be matched to records in the order they were given.
import { ReservationStoreError, type DecisionToPersist, type ItemState } from '../../domain/index.js';

/** Refuses a decision for another item or one that does not move the version forward. */
export function checkDecision(itemId: string, previous: ItemState | null, decision: DecisionToPersist): void {
  const invalid = (why: string) =>
    new ReservationStoreError('RESERVATION_STORE_INVALID_DECISION', `decision for item ${itemId}: ${why}`);
  const next = decision.state;
  if (next !== null) {
    if (next.itemId !== itemId) throw invalid(`its state is for item ${next.itemId}`);
    if (next.version <= (previous?.version ?? 0)) {
      throw invalid(`state version ${next.version} does not follow ${previous?.version ?? 'nothing'}`);
    }
  }
  const stranger = decision.purchases.find((purchase) => purchase.itemId !== itemId);
  if (stranger !== undefined) throw invalid(`purchase ${stranger.purchaseId} is for item ${stranger.itemId}`);
}

/**
 * The ids the database returned for a multi-row outbox insert, ascending. Both databases draw the ids
 * in the insert's ORDER BY order, so the n-th smallest id belongs to the n-th record.
 */
export function outboxIdsInOrder(ids: readonly string[], expected: number): string[] {
  if (ids.length !== expected) {
    throw new ReservationStoreError(
      'RESERVATION_STORE_FAILED',
      `outbox insert returned ${ids.length} ids for ${expected} records`,
    );
  }
  return [...ids].sort((a, b) => {
    const difference = BigInt(a) - BigInt(b);
    return difference < 0n ? -1 : difference > 0n ? 1 : 0;
  });
}
