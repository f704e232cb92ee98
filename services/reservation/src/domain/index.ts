export { decideItemCommands } from './decide-item-commands.js';
export type {
  IgnoredCommand,
  IgnoreReason,
  ItemDecision,
  ItemDecisionContext,
} from './decide-item-commands.js';
export { toDecisionToPersist } from './decision-to-persist.js';
export type { EncodeItemEvent, ItemDecisionToPersist } from './decision-to-persist.js';
export { ItemDecisionError, ReservationStoreError, isReservationStoreError } from './errors.js';
export type { ItemDecisionErrorCode, ReservationStoreErrorCode } from './errors.js';
export { decisionKeysOf, groupCommandsByItem } from './item-batch.js';
export type { ItemState } from './item-state.js';
export { holdsPurchaseKey, purchaseKeyOf } from './purchase.js';
export type { PurchaseRow, PurchaseStatus } from './purchase.js';
export type {
  DecisionKeys,
  DecisionToPersist,
  OutboxRecord,
  OutboxRow,
  PersistedDecision,
  PurchaseKey,
  ReservationStore,
  StoredContext,
  StoredEvent,
  StoredItemEvent,
} from './reservation-store.js';
