// The admission gate on Redis: one Lua script per step (EVALSHA, EVAL on a cold script cache), so an
// admission is one round trip and no reader ever sees half of it.
//
// The purchase → item index (`purchase-item:<id>`) lives outside the item's hash tag, because a
// purchaseId (a UUID chosen before admission) cannot name the item's slot. It is written by a separate SET
// right after the admit script and before admit() returns, so before any BuyRequested is published and
// any 202 answered. The window in between is only visible to a concurrent replay of the same key (its
// GET /purchases/:id may 404 for that instant). If the SET fails, admit() gives the unit back and fails;
// if the process dies in between, the purchase was never published; the reconciler publishes it then.
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis, Result } from 'ioredis';
import { PurchaseGateError } from '../../domain/purchase-gate-error.js';
import type {
  AdmitRequest,
  AdmitResult,
  GateAvailability,
  GateRejectionReason,
  PurchaseGate,
  PurchaseRecord,
  PurchaseStatus,
  StuckAdmission,
} from '../../domain/purchase-gate.js';
import { purchaseGateKeys, type PurchaseGateKeys } from './purchase-gate-keys.js';
import {
  ADMIT,
  APPLY_LISTING,
  APPLY_OUTCOME,
  APPLY_SOLD_STATE,
  APPLY_STOCK_ADJUSTED,
  CLAIM_STUCK,
  MARK_ACCEPTED,
  RELEASE,
  RESTORE_ITEM,
  STUCK_ADMISSIONS,
} from './purchase-gate-scripts.js';

type Arg = string | number;
type Reply = (string | number)[];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    purchaseGateAdmit(...keysThenArgs: Arg[]): Result<Reply, Context>;
    purchaseGateMarkAccepted(...keysThenArgs: Arg[]): Result<number, Context>;
    purchaseGateRelease(...keysThenArgs: Arg[]): Result<number, Context>;
    purchaseGateApplyOutcome(...keysThenArgs: Arg[]): Result<number, Context>;
    purchaseGateApplyListing(...keysThenArgs: Arg[]): Result<number, Context>;
    purchaseGateApplyStockAdjusted(...keysThenArgs: Arg[]): Result<number, Context>;
    purchaseGateApplySoldState(...keysThenArgs: Arg[]): Result<number, Context>;
    purchaseGateRestoreItem(...keysThenArgs: Arg[]): Result<number, Context>;
    purchaseGateStuckAdmissions(...keysThenArgs: Arg[]): Result<string[], Context>;
    purchaseGateClaimStuck(...keysThenArgs: Arg[]): Result<string[], Context>;
  }
}

export interface RedisPurchaseGateOptions {
  /** A standalone client or a Cluster client; the gate's scripts are defined on it. */
  redis: Redis | Cluster;
  /** Prepended to every key, e.g. 'bn:'; tests use a unique one. No braces. */
  keyPrefix: string;
  /**
   * How long idempotency keys, decided or withdrawn purchase records and the purchase → item index are
   * kept. Purchases still admitted or pending never expire (the reconciler or SQL's outcome settles them),
   * nor do buyer counts, which live as long as the item. Default 24 h.
   */
  retentionMs?: number;
  /** Stuck admissions read per item and round by the reconciler. Default 500. */
  reconcileBatchSize?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Buyer counts per restore call, so one script never blocks Redis for long. */
const RESTORE_BUYERS_PER_CALL = 500;

export function createRedisPurchaseGate(options: RedisPurchaseGateOptions): PurchaseGate {
  const { redis } = options;
  const keys: PurchaseGateKeys = purchaseGateKeys(options.keyPrefix);
  const retentionMs = options.retentionMs ?? DAY_MS;
  const batchSize = options.reconcileBatchSize ?? 500;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 1) {
    throw invalidOptions(`retentionMs must be a positive integer, got ${retentionMs}`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw invalidOptions(`reconcileBatchSize must be a positive integer, got ${batchSize}`);
  }

  redis.defineCommand('purchaseGateAdmit', { numberOfKeys: 5, lua: ADMIT });
  redis.defineCommand('purchaseGateMarkAccepted', { numberOfKeys: 2, lua: MARK_ACCEPTED });
  redis.defineCommand('purchaseGateRelease', { numberOfKeys: 5, lua: RELEASE });
  redis.defineCommand('purchaseGateApplyOutcome', { numberOfKeys: 4, lua: APPLY_OUTCOME });
  redis.defineCommand('purchaseGateApplyListing', { numberOfKeys: 1, lua: APPLY_LISTING });
  redis.defineCommand('purchaseGateApplyStockAdjusted', { numberOfKeys: 1, lua: APPLY_STOCK_ADJUSTED });
  redis.defineCommand('purchaseGateApplySoldState', { numberOfKeys: 1, lua: APPLY_SOLD_STATE });
  redis.defineCommand('purchaseGateRestoreItem', { numberOfKeys: 2, lua: RESTORE_ITEM });
  redis.defineCommand('purchaseGateStuckAdmissions', { numberOfKeys: 1, lua: STUCK_ADMISSIONS });
  redis.defineCommand('purchaseGateClaimStuck', { numberOfKeys: 2, lua: CLAIM_STUCK });

  const release = async (itemId: string, purchaseId: string, why: string): Promise<boolean> => {
    requireText({ itemId, purchaseId });
    // The idempotency key's name is in the record; scripts never build key names, so it is read first.
    const [idempotencyKey, buyerId] = await call('read a purchase', () =>
      redis.hmget(keys.purchase(itemId, purchaseId), 'idempotencyKey', 'buyerId'),
    );
    const released = await call('release a purchase', () =>
      redis.purchaseGateRelease(
        keys.purchase(itemId, purchaseId),
        keys.gate(itemId),
        keys.buyers(itemId),
        keys.admitted(itemId),
        keys.idempotency(itemId, buyerId ?? '', idempotencyKey ?? ''),
        purchaseId,
        why,
        retentionMs,
      ),
    );
    return released === 1;
  };

  const readPurchase = async (itemId: string, purchaseId: string): Promise<PurchaseRecord | null> => {
    const hash = await call('read a purchase', () => redis.hgetall(keys.purchase(itemId, purchaseId)));
    return toPurchaseRecord(hash);
  };

  return {
    async admit(req) {
      validateAdmit(req);
      const { itemId, purchaseId } = req;
      const reply = await call('admit a purchase', () =>
        redis.purchaseGateAdmit(
          keys.gate(itemId),
          keys.buyers(itemId),
          keys.idempotency(itemId, req.buyerId, req.idempotencyKey),
          keys.purchase(itemId, purchaseId),
          keys.admitted(itemId),
          itemId,
          req.buyerId,
          req.quantity,
          req.idempotencyKey,
          req.requestHash,
          purchaseId,
          req.gatewayId,
          retentionMs,
        ),
      );
      const result = parseAdmitReply(reply);
      if (result.kind === 'admitted') {
        return {
          kind: 'admitted',
          purchaseId,
          admissionSeq: result.admissionSeq,
          available: result.available,
          admittedAt: result.admittedAt,
        };
      }
      if (result.kind === 'replay') {
        const purchase = await readPurchase(itemId, result.purchaseId);
        if (!purchase) {
          throw new PurchaseGateError(
            'GATE_RECORD_MISSING',
            `idempotency key of item ${itemId} names purchase ${result.purchaseId}, whose record is gone`,
            { canRetry: false },
          );
        }
        return { kind: 'replay', purchase };
      }
      return result;
    },

    async markAccepted(itemId, purchaseId) {
      requireText({ itemId, purchaseId });
      // Both in one round trip. The index (purchase id → item, for GET /purchases/:id) is another hash
      // slot than the item's keys, so no script can write it with them; it is written here, once the
      // purchase is in the log, because nobody but this request knows the purchase id before its 202.
      // applyOutcome writes it again, so a purchase indexed nowhere else still becomes findable.
      const [moved] = await Promise.all([
        call('mark a purchase accepted', () =>
          redis.purchaseGateMarkAccepted(
            keys.purchase(itemId, purchaseId),
            keys.admitted(itemId),
            purchaseId,
          ),
        ),
        call('index a purchase', () => redis.set(keys.purchaseItem(purchaseId), itemId, 'PX', retentionMs)),
      ]);
      return moved === 1;
    },

    release,

    async applyOutcome(o) {
      requireText({ itemId: o.itemId, purchaseId: o.purchaseId });
      if (o.status !== 'confirmed' && o.status !== 'rejected') {
        throw invalidRequest(`outcome status must be confirmed or rejected, got ${String(o.status)}`);
      }
      // Both at once: one round trip, and the script is issued now, in the caller's order.
      const [recorded] = await Promise.all([
        call('apply a purchase outcome', () =>
          redis.purchaseGateApplyOutcome(
            keys.purchase(o.itemId, o.purchaseId),
            keys.gate(o.itemId),
            keys.buyers(o.itemId),
            keys.admitted(o.itemId),
            o.purchaseId,
            o.itemId,
            o.status,
            o.status === 'rejected' ? (o.reason ?? 'REJECTED') : '',
            optionalInt(o.version, 'version'),
            optionalInt(o.remaining, 'remaining'),
            o.buyerId ?? '',
            optionalInt(o.quantity, 'quantity'),
            optionalInt(o.admissionSeq, 'admissionSeq'),
            optionalInt(o.admittedAt, 'admittedAt'),
            retentionMs,
            o.status === 'rejected' ? (o.originalPurchaseId ?? '') : '',
          ),
        ),
        // Also for a record Redis had lost, so GET /purchases/:id answers; refreshed on redelivery too.
        call('index a purchase', () =>
          redis.set(keys.purchaseItem(o.purchaseId), o.itemId, 'PX', retentionMs),
        ),
      ]);
      return recorded === 1;
    },

    async applyListing(l) {
      requireText({ itemId: l.itemId });
      requireInt(l.version, 'version', 1);
      requireInt(l.stock, 'stock', 0);
      requireInt(l.perBuyerLimit, 'perBuyerLimit', 1);
      if (l.startsAt !== null) requireInt(l.startsAt, 'startsAt', 0);
      // Known to the reconciler before any unit of it can be admitted (the registration is issued first on
      // the same connection); the script is issued at once, so a caller's order of events is kept.
      const [, applied] = await Promise.all([
        call('register an item', () => redis.sadd(keys.items(), l.itemId)),
        call('apply a listing', () =>
          redis.purchaseGateApplyListing(
            keys.gate(l.itemId),
            l.version,
            l.stock,
            l.perBuyerLimit,
            l.startsAt ?? '',
          ),
        ),
      ]);
      return applied === 1;
    },

    async applyStockAdjusted(a) {
      requireText({ itemId: a.itemId });
      requireInt(a.version, 'version', 1);
      requireInt(a.delta, 'delta');
      const applied = await call('apply a stock adjustment', () =>
        redis.purchaseGateApplyStockAdjusted(
          keys.gate(a.itemId),
          a.version,
          a.delta,
          optionalInt(a.remaining, 'remaining'),
        ),
      );
      return applied === 1;
    },

    async applySoldState(s) {
      requireText({ itemId: s.itemId });
      requireInt(s.version, 'version', 1);
      requireInt(s.remaining, 'remaining');
      const changed = await call('apply a sold state', () =>
        redis.purchaseGateApplySoldState(keys.gate(s.itemId), s.version, s.remaining),
      );
      return changed === 1;
    },

    async restoreItem(s) {
      requireText({ itemId: s.itemId });
      requireInt(s.version, 'version', 0);
      requireInt(s.remaining, 'remaining');
      requireInt(s.perBuyerLimit, 'perBuyerLimit', 1);
      if (s.startsAt !== null) requireInt(s.startsAt, 'startsAt', 0);
      const pairs: Arg[] = [];
      for (const [buyerId, units] of Object.entries(s.confirmedUnitsByBuyer ?? {})) {
        requireInt(units, `confirmedUnitsByBuyer.${buyerId}`, 0);
        if (units > 0) pairs.push(buyerId, units);
      }
      await call('register an item', () => redis.sadd(keys.items(), s.itemId));
      const head: Arg[] = [
        s.version,
        s.remaining,
        s.perBuyerLimit,
        s.startsAt ?? '',
        optionalInt(s.lastAdmissionSeq, 'lastAdmissionSeq'),
      ];
      const step = RESTORE_BUYERS_PER_CALL * 2;
      for (let start = 0; start + step < pairs.length; start += step) {
        const chunk = pairs.slice(start, start + step);
        const applied = await call('restore buyer counts', () =>
          redis.purchaseGateRestoreItem(
            keys.gate(s.itemId),
            keys.buyers(s.itemId),
            ...head,
            'buyers',
            ...chunk,
          ),
        );
        if (applied === 0) return false;
      }
      const last = pairs.slice(Math.max(0, Math.ceil(pairs.length / step) - 1) * step);
      const applied = await call('restore an item', () =>
        redis.purchaseGateRestoreItem(keys.gate(s.itemId), keys.buyers(s.itemId), ...head, 'gate', ...last),
      );
      return applied === 1;
    },

    async markGateRebuilt() {
      const epoch = `${Date.now().toString(36)}-${randomUUID()}`;
      await call('write the gate epoch', () => redis.set(keys.epoch(), epoch));
      return epoch;
    },

    async gateEpoch() {
      return call('read the gate epoch', () => redis.get(keys.epoch()));
    },

    async getPurchase(purchaseId, knownItemId) {
      requireText({ purchaseId });
      const itemId =
        knownItemId ?? (await call('find a purchase', () => redis.get(keys.purchaseItem(purchaseId))));
      if (itemId === null) return null;
      return readPurchase(itemId, purchaseId);
    },

    async admittedBuyers(itemId, limit) {
      requireText({ itemId });
      const count = await call('count buyers', () => redis.hlen(keys.buyers(itemId)));
      if (count > limit) return null;
      return call('read buyers', () => redis.hkeys(keys.buyers(itemId)));
    },

    async getAvailability(itemId): Promise<GateAvailability | null> {
      requireText({ itemId });
      const [available, version, startsAt, perBuyerLimit] = await call('read availability', () =>
        redis.hmget(keys.gate(itemId), 'available', 'version', 'startsAt', 'perBuyerLimit'),
      );
      if (available === null || available === undefined) return null;
      return {
        available: Number(available),
        version: Number(version ?? 0),
        startsAt: startsAt ? Number(startsAt) : null,
        perBuyerLimit: Number(perBuyerLimit ?? 1),
      };
    },

    async claimStuck(olderThanMs): Promise<StuckAdmission[]> {
      requireInt(olderThanMs, 'olderThanMs', 0);
      const itemIds = await call('list gate items', () => redis.smembers(keys.items()));
      const claimed: StuckAdmission[] = [];
      for (const itemId of itemIds) {
        // One batch per item and pass: a claimed admission is re-aged, so the next pass finds the rest.
        const stuck = await call('find stuck admissions', () =>
          redis.purchaseGateStuckAdmissions(keys.admitted(itemId), olderThanMs, batchSize),
        );
        for (const purchaseId of stuck) {
          const fields = await call('claim a stuck admission', () =>
            redis.purchaseGateClaimStuck(
              keys.purchase(itemId, purchaseId),
              keys.admitted(itemId),
              purchaseId,
              olderThanMs,
            ),
          );
          if (fields.length > 0) claimed.push(toStuckAdmission(fields));
        }
      }
      return claimed;
    },
  };
}

type ParsedAdmit =
  | { kind: 'admitted'; admissionSeq: number; available: number; admittedAt: number }
  | { kind: 'replay'; purchaseId: string }
  | Exclude<AdmitResult, { kind: 'admitted' } | { kind: 'replay' }>;

const rejectionReasons: readonly string[] = ['SOLD_OUT', 'LIMIT_EXCEEDED', 'NOT_STARTED'];

/** Reads the admit script's reply; anything unexpected is a defect, never a guess. */
export function parseAdmitReply(reply: unknown): ParsedAdmit {
  if (!Array.isArray(reply)) throw unexpectedReply('admit', reply);
  const [kind, a, b, c, d, e] = reply as unknown[];
  switch (kind) {
    case 'admitted':
      return {
        kind: 'admitted',
        admissionSeq: toInt(a, reply),
        available: toInt(b, reply),
        admittedAt: toInt(c, reply),
      };
    case 'replay':
      return { kind: 'replay', purchaseId: toText(a, reply) };
    case 'conflict':
      return { kind: 'idempotency-conflict', purchaseId: toText(a, reply) };
    case 'unknown-item':
      return { kind: 'unknown-item' };
    case 'rejected': {
      const reason = toText(a, reply);
      if (!rejectionReasons.includes(reason)) throw unexpectedReply('admit', reply);
      const startsAt = d === '' || d === undefined ? undefined : toInt(d, reply);
      return {
        kind: 'rejected',
        reason: reason as GateRejectionReason,
        available: toInt(b, reply),
        perBuyerLimit: toInt(c, reply),
        ...(startsAt === undefined ? {} : { startsAt }),
        ...(e === undefined ? {} : { version: toInt(e, reply) }),
      };
    }
    case 'purchase-id-taken':
      throw new PurchaseGateError(
        'GATE_PURCHASE_ID_TAKEN',
        'the purchaseId is already in use; choose a new one',
        {
          canRetry: false,
        },
      );
    default:
      throw unexpectedReply('admit', reply);
  }
}

const statuses: readonly string[] = ['admitted', 'pending', 'confirmed', 'rejected', 'withdrawn'];

/** A purchase hash as stored by the scripts; null for an absent (empty) hash. */
export function toPurchaseRecord(hash: Record<string, string>): PurchaseRecord | null {
  if (!hash.purchaseId || !hash.status) return null;
  if (!statuses.includes(hash.status)) throw unexpectedReply('purchase record', hash);
  const optionalNumber = (value: string | undefined) => (value ? Number(value) : null);
  return {
    purchaseId: hash.purchaseId,
    itemId: hash.itemId ?? '',
    buyerId: hash.buyerId ?? '',
    quantity: Number(hash.quantity || 0),
    status: hash.status as PurchaseStatus,
    ...(hash.reason ? { reason: hash.reason } : {}),
    ...(hash.originalPurchaseId ? { originalPurchaseId: hash.originalPurchaseId } : {}),
    admittedAt: optionalNumber(hash.admittedAt),
    admissionSeq: optionalNumber(hash.admissionSeq),
    idempotencyKey: hash.idempotencyKey || null,
  };
}

/** Runs one Redis call; a failure becomes a PurchaseGateError that says whether retrying can help. */
async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof PurchaseGateError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    // A script that fails to run (a bug, or a reply Redis cannot take) fails the same way next time.
    const scriptFailed = /user_script|Error running script/i.test(message);
    throw new PurchaseGateError(
      scriptFailed ? 'GATE_SCRIPT_FAILED' : 'GATE_UNAVAILABLE',
      `could not ${what}: ${message}`,
      { canRetry: !scriptFailed, cause: error },
    );
  }
}

function validateAdmit(req: AdmitRequest): void {
  requireText({
    itemId: req.itemId,
    buyerId: req.buyerId,
    idempotencyKey: req.idempotencyKey,
    requestHash: req.requestHash,
    purchaseId: req.purchaseId,
    gatewayId: req.gatewayId,
  });
  requireInt(req.quantity, 'quantity', 1);
}

function requireText(fields: Record<string, string>): void {
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string' || value.length === 0)
      throw invalidRequest(`${name} must be a non-empty string`);
  }
}

function requireInt(value: number, name: string, min = Number.MIN_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalidRequest(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

function optionalInt(value: number | null | undefined, name: string): Arg {
  if (value === null || value === undefined) return '';
  requireInt(value, name);
  return value;
}

function toInt(value: unknown, reply: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw unexpectedReply('admit', reply);
  return n;
}

function toText(value: unknown, reply: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw unexpectedReply('admit', reply);
  return value;
}

function unexpectedReply(script: string, reply: unknown): PurchaseGateError {
  return new PurchaseGateError('GATE_SCRIPT_FAILED', `unexpected ${script} reply: ${JSON.stringify(reply)}`, {
    canRetry: false,
  });
}

function invalidRequest(message: string): PurchaseGateError {
  return new PurchaseGateError('GATE_INVALID_REQUEST', message, { canRetry: false });
}

function invalidOptions(message: string): PurchaseGateError {
  return new PurchaseGateError('GATE_INVALID_OPTIONS', message, { canRetry: false });
}

/** A claimed admission's record (HGETALL as a flat list), as the reconciler publishes it again. */
export function toStuckAdmission(fields: string[]): StuckAdmission {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) hash[fields[i] as string] = fields[i + 1] as string;
  if (!hash.purchaseId || !hash.itemId || !hash.buyerId) throw unexpectedReply('stuck admission', fields);
  return {
    purchaseId: hash.purchaseId,
    itemId: hash.itemId,
    buyerId: hash.buyerId,
    quantity: Number(hash.quantity),
    idempotencyKey: hash.idempotencyKey ?? '',
    admittedAt: Number(hash.admittedAt),
    admissionSeq: Number(hash.admissionSeq),
    gatewayId: hash.gatewayId ?? '',
  };
}
