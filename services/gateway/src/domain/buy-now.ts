// The buy-now use case: admit at the gate, hand the purchase to Kafka durably, or give the unit back.
import { createHash } from 'node:crypto';
import type { BuyRequested } from '@buy-now/contracts';
import { GatewayError } from './errors.js';
import type { PurchaseGate, PurchaseRecord } from './purchase-gate.js';
import { CommandNotPublishedError, type CommandPublisher, type OutcomeWaiter } from './ports.js';

export interface BuyNowRequest {
  itemId: string;
  buyerId: string;
  quantity: number;
  idempotencyKey: string;
}

export type BuyNowAnswer =
  | { kind: 'accepted'; purchase: PurchaseRecord; replayed: boolean }
  | {
      kind: 'rejected';
      reason: string;
      purchaseId?: string;
      /** DUPLICATE_REQUEST: the purchase this Idempotency-Key already made. */
      originalPurchaseId?: string;
      available?: number;
      startsAt?: number | null;
      /** A refusal at the gate: the item version the gate had applied when it refused. */
      itemVersion?: number;
    };

export interface BuyNowDeps {
  gate: PurchaseGate;
  commands: CommandPublisher;
  outcomes: OutcomeWaiter;
  clock: () => number;
  newId: () => string;
  gatewayId: string;
  /** How long a retry waits for the original request's publish to be acknowledged; default 5 s. */
  replayWaitMs?: number;
  /** Called when a publish failed and the unit went back on sale. */
  onPublishFailed?: (purchaseId: string, error: unknown) => void;
  /** Called when a publish ended without knowing whether the log has it; the reconciler publishes it again. */
  onPublishUncertain?: (purchaseId: string, error: unknown) => void;
}

/** Same key + same body replays; same key + another body is refused. */
export function requestHashOf(req: Omit<BuyNowRequest, 'idempotencyKey'>): string {
  return createHash('sha256')
    .update(JSON.stringify([req.itemId, req.buyerId, req.quantity]))
    .digest('hex');
}

export async function buyNow(deps: BuyNowDeps, req: BuyNowRequest): Promise<BuyNowAnswer> {
  const purchaseId = deps.newId();
  const admission = await deps.gate.admit({
    ...req,
    requestHash: requestHashOf(req),
    purchaseId,
    gatewayId: deps.gatewayId,
  });
  switch (admission.kind) {
    case 'unknown-item':
      if ((await deps.gate.gateEpoch()) === null) {
        // Redis lost its data and the gate is being rebuilt from SQL: the item may well exist.
        throw new GatewayError('SERVICE_UNAVAILABLE', 503, 'the sale is being restored; retry in a moment', {
          canRetry: true,
          retryAfterSeconds: 1,
        });
      }
      throw new GatewayError('ITEM_NOT_FOUND', 404, `no item ${req.itemId} is on sale`);
    case 'idempotency-conflict':
      throw new GatewayError(
        'IDEMPOTENCY_KEY_REUSED',
        422,
        'this Idempotency-Key was already used with a different request; use a new key for a new purchase',
      );
    case 'rejected':
      if (admission.reason === 'LIMIT_EXCEEDED' && admission.perBuyerLimit < req.quantity) {
        throw new GatewayError(
          'QUANTITY_ABOVE_LIMIT',
          400,
          `quantity ${req.quantity} is above this item's limit of ${admission.perBuyerLimit} per buyer`,
        );
      }
      return {
        kind: 'rejected',
        reason: admission.reason,
        available: admission.available,
        startsAt: admission.startsAt ?? null,
        ...(admission.version === undefined ? {} : { itemVersion: admission.version }),
      };
    case 'replay': {
      const original = await acknowledgedOrReleased(deps, admission.purchase);
      if (original.status === 'admitted' || original.status === 'withdrawn') {
        // Kafka has not acknowledged the original (it is being published, its gateway died, or its publish
        // ended without knowing): a 202 now could name a purchase that is not in the log. The reconciler
        // publishes it within its bound; a retry after that gets the purchase.
        throw new GatewayError(
          'PURCHASE_IN_PROGRESS',
          503,
          'the first request with this Idempotency-Key was not recorded yet; retry in a moment with the same key',
          { canRetry: true, retryAfterSeconds: 1 },
        );
      }
      admission.purchase = original;
      if (admission.purchase.status === 'rejected') {
        return {
          kind: 'rejected',
          reason: admission.purchase.reason ?? 'REJECTED',
          purchaseId: admission.purchase.purchaseId,
          ...originalOf(admission.purchase),
        };
      }
      return { kind: 'accepted', purchase: admission.purchase, replayed: true };
    }
    case 'admitted':
      break;
  }

  const command: BuyRequested = {
    purchaseId,
    itemId: req.itemId,
    buyerId: req.buyerId,
    quantity: req.quantity,
    idempotencyKey: req.idempotencyKey,
    admittedAt: admission.admittedAt,
    admissionSeq: admission.admissionSeq,
    gatewayId: deps.gatewayId,
  };
  try {
    await deps.commands.publish({ name: 'BuyRequested', value: command });
  } catch (error) {
    // "Nothing was bought" only when it is certain: the command never reached the broker, and the gate
    // gave the unit back (it refuses once the reconciler is publishing the purchase).
    if (
      error instanceof CommandNotPublishedError &&
      (await deps.gate.release(req.itemId, purchaseId, 'publish-failed'))
    ) {
      deps.onPublishFailed?.(purchaseId, error);
      throw new GatewayError(
        'SERVICE_UNAVAILABLE',
        503,
        'purchases cannot be accepted right now; nothing was bought, retry in a moment with the same Idempotency-Key',
        { canRetry: true, cause: error, retryAfterSeconds: 1 },
      );
    }
    // The log may hold it (a timeout after the broker appended it): the unit stays taken, the reconciler
    // publishes it again under the same purchaseId, and SQL decides it once.
    deps.onPublishUncertain?.(purchaseId, error);
    throw new GatewayError(
      'PURCHASE_IN_PROGRESS',
      503,
      'it is not known yet whether this purchase was recorded; retry in a moment with the same Idempotency-Key to learn its outcome',
      { canRetry: true, cause: error, retryAfterSeconds: 1 },
    );
  }
  await deps.gate.markAccepted(req.itemId, purchaseId);
  return {
    kind: 'accepted',
    replayed: false,
    purchase: {
      purchaseId,
      itemId: req.itemId,
      buyerId: req.buyerId,
      quantity: req.quantity,
      status: 'pending',
      admittedAt: admission.admittedAt,
      admissionSeq: admission.admissionSeq,
      idempotencyKey: req.idempotencyKey,
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A replayed purchase still `admitted` is being published by the request that admitted it: wait (bounded)
 * until Kafka acknowledged it (pending) or it was given back (withdrawn), so concurrent retries of one key
 * share the original's answer.
 */
async function acknowledgedOrReleased(
  deps: Pick<BuyNowDeps, 'gate' | 'replayWaitMs' | 'clock'>,
  purchase: PurchaseRecord,
): Promise<PurchaseRecord> {
  const deadline = deps.clock() + (deps.replayWaitMs ?? 5_000);
  let current = purchase;
  while (current.status === 'admitted' && deps.clock() < deadline) {
    await sleep(25);
    current = (await deps.gate.getPurchase(purchase.purchaseId, purchase.itemId)) ?? current;
  }
  return current;
}

/** `Prefer: wait=N`: waits up to N seconds for the decision, then reads the purchase again. */
export async function awaitDecision(
  deps: Pick<BuyNowDeps, 'gate' | 'outcomes'>,
  purchase: PurchaseRecord,
  waitMs: number,
): Promise<PurchaseRecord> {
  if (waitMs <= 0 || isDecided(purchase)) return purchase;
  // Watch first, then look: a decision announced in between is not missed.
  const watch = deps.outcomes.watch(purchase.purchaseId, waitMs);
  const now = await deps.gate.getPurchase(purchase.purchaseId, purchase.itemId);
  if (now && isDecided(now)) {
    watch.cancel();
    return now;
  }
  await watch.decided;
  return (await deps.gate.getPurchase(purchase.purchaseId, purchase.itemId)) ?? purchase;
}

export function isDecided(purchase: PurchaseRecord): boolean {
  return purchase.status === 'confirmed' || purchase.status === 'rejected' || purchase.status === 'withdrawn';
}

/** A purchase's status as clients see it (HTTP and WebSocket). */
export function publicStatusOf(purchase: PurchaseRecord): {
  status: 'pending' | 'confirmed' | 'rejected';
  reason?: string;
  originalPurchaseId?: string;
} {
  switch (purchase.status) {
    case 'confirmed':
      return { status: 'confirmed' };
    case 'rejected':
      return { status: 'rejected', reason: purchase.reason ?? 'REJECTED', ...originalOf(purchase) };
    case 'withdrawn':
      // The publish failed and the buyer was told so (503): nothing was bought.
      return { status: 'rejected', reason: 'NOT_ACCEPTED' };
    default:
      return { status: 'pending' };
  }
}

/** The purchase a DUPLICATE_REQUEST points the buyer to, when the record names one. */
function originalOf(purchase: PurchaseRecord): { originalPurchaseId?: string } {
  return purchase.originalPurchaseId === undefined ? {} : { originalPurchaseId: purchase.originalPurchaseId };
}
