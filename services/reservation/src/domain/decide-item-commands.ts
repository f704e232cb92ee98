// The decision for one item: given its state and the commands of one batch in log order, what happens.
// Pure and deterministic: the same state and commands always give the same events, rows and versions,
// which is what makes a redelivered batch safe.
import type {
  AdjustStock,
  BuyRequested,
  EpochMillis,
  ItemCommand,
  ItemCommandName,
  ItemEvent,
  ListItem,
  RejectionReason,
} from '@buy-now/contracts';
import { ItemDecisionError } from './errors.js';
import type { ItemState } from './item-state.js';
import { purchaseKeyOf, type PurchaseRow } from './purchase.js';

export interface ItemDecisionContext {
  /** null: the item was never listed. */
  state: ItemState | null;
  /** Purchase ids of this batch that were decided before (any outcome). */
  decidedPurchaseIds: ReadonlySet<string>;
  /** ListItem / AdjustStock ids of this batch that were processed before. */
  processedCommandIds: ReadonlySet<string>;
  /**
   * For the (buyer, Idempotency-Key) pairs of this batch, the purchase that already holds each on this item
   * (by purchaseKeyOf; absent: none). Read under the item's row lock, so no other transaction adds one.
   */
  purchaseIdsByKey: ReadonlyMap<string, string>;
  /** Units already confirmed for this item, for the buyers of this batch (absent: none). */
  confirmedUnitsByBuyer: ReadonlyMap<string, number>;
  /** Stamped on every event as occurredAt and on every row as decidedAt; never used to decide. */
  now: EpochMillis;
}

/** Why a command produced nothing. Each is final: the same command is ignored the same way forever. */
export type IgnoreReason =
  /** A redelivered BuyRequested: its outcome is already stored (and already in the outbox). */
  | 'PURCHASE_ALREADY_DECIDED'
  /** A redelivered ListItem / AdjustStock. */
  | 'COMMAND_ALREADY_PROCESSED'
  /** ListItem for an item that exists: listing never overwrites a live item; use AdjustStock. */
  | 'ITEM_ALREADY_LISTED'
  /** AdjustStock for an item that was never listed: there is nothing to adjust. */
  | 'ITEM_NOT_LISTED'
  /** ListItem with a negative stock or price or a limit below 1 (the contract refuses these earlier). */
  | 'INVALID_LISTING';

export interface IgnoredCommand {
  name: ItemCommandName;
  /** purchaseId of a BuyRequested, commandId otherwise. */
  id: string;
  reason: IgnoreReason;
}

export interface ItemDecision {
  itemId: string;
  /** The state after the batch (the input state when nothing changed); null: still not listed. */
  state: ItemState | null;
  /** True when the state differs from the input, i.e. the version moved. */
  stateChanged: boolean;
  /** Every event, in order: versioned ones (ItemListed, StockAdjusted, ItemBought, OutOfStock) and rejections. */
  events: ItemEvent[];
  /** One row per newly decided BuyRequested. */
  purchases: PurchaseRow[];
  /** ListItem / AdjustStock ids seen for the first time, applied or ignored: record them as processed. */
  processedCommandIds: string[];
  /** Commands that produced nothing; `ignored` says which and why (for the caller's log). */
  skipped: number;
  ignored: IgnoredCommand[];
}

/**
 * Decides the commands of one item, in order. A purchase id decided before is skipped; then a request whose
 * buyer and Idempotency-Key already made another purchase of this item is rejected DUPLICATE_REQUEST (the
 * gate forgot the key, e.g. after a Redis loss, and admitted the retry afresh): one intent, one purchase,
 * whatever the first one's outcome. Other rejections come in this order: INVALID_QUANTITY,
 * UNKNOWN_ITEM, NOT_STARTED (judged on the gate's admittedAt, never on the clock), LIMIT_EXCEEDED,
 * SOLD_OUT. A request is filled whole or not at all. Every change takes the next version; rejections
 * carry the version they were decided against.
 */
export function decideItemCommands(
  context: ItemDecisionContext,
  commands: readonly ItemCommand[],
): ItemDecision {
  const itemId = itemIdOf(context.state, commands);
  const { now } = context;
  let state: ItemState | null = context.state === null ? null : { ...context.state };
  const decidedPurchaseIds = new Set(context.decidedPurchaseIds);
  const processedCommandIds = new Set(context.processedCommandIds);
  const confirmedUnitsByBuyer = new Map(context.confirmedUnitsByBuyer);
  const purchaseIdsByKey = new Map(context.purchaseIdsByKey);
  const decision: ItemDecision = {
    itemId,
    state,
    stateChanged: false,
    events: [],
    purchases: [],
    processedCommandIds: [],
    skipped: 0,
    ignored: [],
  };

  const ignore = (name: ItemCommandName, id: string, reason: IgnoreReason): void => {
    decision.skipped += 1;
    decision.ignored.push({ name, id, reason });
  };

  const listItem = (command: ListItem): void => {
    if (processedCommandIds.has(command.commandId)) {
      ignore('ListItem', command.commandId, 'COMMAND_ALREADY_PROCESSED');
      return;
    }
    processedCommandIds.add(command.commandId);
    decision.processedCommandIds.push(command.commandId);
    if (state !== null) {
      ignore('ListItem', command.commandId, 'ITEM_ALREADY_LISTED');
      return;
    }
    if (command.stock < 0 || command.priceMinor < 0 || command.perBuyerLimit < 1) {
      ignore('ListItem', command.commandId, 'INVALID_LISTING');
      return;
    }
    state = {
      itemId,
      title: command.title,
      priceMinor: command.priceMinor,
      currency: command.currency,
      perBuyerLimit: command.perBuyerLimit,
      startsAt: command.startsAt,
      listed: command.stock,
      sold: 0,
      remaining: command.stock,
      version: 1,
    };
    decision.events.push({
      name: 'ItemListed',
      value: {
        commandId: command.commandId,
        itemId,
        version: state.version,
        title: state.title,
        priceMinor: state.priceMinor,
        currency: state.currency,
        stock: command.stock,
        perBuyerLimit: state.perBuyerLimit,
        startsAt: state.startsAt,
        occurredAt: now,
      },
    });
  };

  const adjustStock = (command: AdjustStock): void => {
    if (processedCommandIds.has(command.commandId)) {
      ignore('AdjustStock', command.commandId, 'COMMAND_ALREADY_PROCESSED');
      return;
    }
    processedCommandIds.add(command.commandId);
    decision.processedCommandIds.push(command.commandId);
    if (state === null) {
      ignore('AdjustStock', command.commandId, 'ITEM_NOT_LISTED');
      return;
    }
    // A withdrawal takes back unsold units only: sold units are the buyers'.
    const remainingBefore = state.remaining;
    const applied = Math.max(0, remainingBefore + command.delta) - remainingBefore;
    state.remaining += applied;
    state.listed += applied;
    state.version += 1;
    decision.events.push({
      name: 'StockAdjusted',
      value: {
        commandId: command.commandId,
        itemId,
        version: state.version,
        delta: applied,
        remaining: state.remaining,
        occurredAt: now,
      },
    });
    if (remainingBefore > 0 && state.remaining === 0) outOfStock(state);
  };

  const buyRequested = (request: BuyRequested): void => {
    if (decidedPurchaseIds.has(request.purchaseId)) {
      ignore('BuyRequested', request.purchaseId, 'PURCHASE_ALREADY_DECIDED');
      return;
    }
    decidedPurchaseIds.add(request.purchaseId);
    const row = {
      purchaseId: request.purchaseId,
      itemId,
      buyerId: request.buyerId,
      quantity: request.quantity,
      idempotencyKey: request.idempotencyKey,
      admissionSeq: request.admissionSeq < 0 ? null : request.admissionSeq,
      admittedAt: request.admittedAt,
      decidedAt: now,
    };
    const reject = (
      reason: RejectionReason,
      against: ItemState | null,
      originalPurchaseId: string | null = null,
    ): void => {
      const version = against?.version ?? null;
      decision.purchases.push({ ...row, status: 'rejected', reason, itemVersion: version });
      decision.events.push({
        name: 'PurchaseRejected',
        value: {
          itemId,
          version,
          purchaseId: request.purchaseId,
          buyerId: request.buyerId,
          quantity: request.quantity,
          reason,
          remaining: against?.remaining ?? 0,
          admissionSeq: request.admissionSeq,
          occurredAt: now,
          originalPurchaseId,
        },
      });
    };
    const key = purchaseKeyOf(request.buyerId, request.idempotencyKey);
    const original = purchaseIdsByKey.get(key);
    if (original !== undefined) {
      reject('DUPLICATE_REQUEST', state, original);
      return;
    }
    // The first decided purchase of a key holds it, whatever its outcome: a retry gets that answer.
    purchaseIdsByKey.set(key, request.purchaseId);
    if (state === null) {
      reject(isValidQuantity(request.quantity) ? 'UNKNOWN_ITEM' : 'INVALID_QUANTITY', null);
      return;
    }
    const reason = rejectionOf(state, request, confirmedUnitsByBuyer.get(request.buyerId) ?? 0);
    if (reason !== null) {
      reject(reason, state);
      return;
    }
    state.remaining -= request.quantity;
    state.sold += request.quantity;
    state.version += 1;
    confirmedUnitsByBuyer.set(
      request.buyerId,
      (confirmedUnitsByBuyer.get(request.buyerId) ?? 0) + request.quantity,
    );
    decision.purchases.push({ ...row, status: 'confirmed', reason: null, itemVersion: state.version });
    decision.events.push({
      name: 'ItemBought',
      value: {
        itemId,
        version: state.version,
        purchaseId: request.purchaseId,
        buyerId: request.buyerId,
        quantity: request.quantity,
        remaining: state.remaining,
        priceMinor: state.priceMinor,
        currency: state.currency,
        admittedAt: request.admittedAt,
        admissionSeq: request.admissionSeq,
        occurredAt: now,
      },
    });
    if (state.remaining === 0) outOfStock(state);
  };

  const outOfStock = (current: ItemState): void => {
    current.version += 1;
    decision.events.push({
      name: 'OutOfStock',
      value: { itemId, version: current.version, occurredAt: now },
    });
  };

  for (const command of commands) {
    switch (command.name) {
      case 'ListItem':
        listItem(command.value);
        break;
      case 'AdjustStock':
        adjustStock(command.value);
        break;
      case 'BuyRequested':
        buyRequested(command.value);
        break;
    }
  }

  decision.state = state;
  decision.stateChanged = (state?.version ?? null) !== (context.state?.version ?? null);
  return decision;
}

function isValidQuantity(quantity: number): boolean {
  return Number.isInteger(quantity) && quantity >= 1;
}

function rejectionOf(
  state: ItemState,
  request: BuyRequested,
  confirmedUnits: number,
): RejectionReason | null {
  if (!isValidQuantity(request.quantity)) return 'INVALID_QUANTITY';
  if (state.startsAt !== null && request.admittedAt < state.startsAt) return 'NOT_STARTED';
  if (confirmedUnits + request.quantity > state.perBuyerLimit) return 'LIMIT_EXCEEDED';
  if (state.remaining < request.quantity) return 'SOLD_OUT';
  return null;
}

function itemIdOf(state: ItemState | null, commands: readonly ItemCommand[]): string {
  const itemId = state?.itemId ?? commands[0]?.value.itemId ?? '';
  const stranger = commands.find((command) => command.value.itemId !== itemId);
  if (stranger !== undefined) {
    throw new ItemDecisionError(
      'DECISION_MIXED_ITEMS',
      `a decision for item ${itemId} was given a ${stranger.name} for item ${stranger.value.itemId}`,
    );
  }
  return itemId;
}
