// Follows item-events: keeps the Redis gate in step with SQL (versioned), records purchase outcomes, and
// wakes requests (and WebSocket watchers) waiting for those outcomes. One consumer group shared by every
// gateway instance: each event is applied once, and every step is idempotent by version anyway. The item
// views are the stream processor's, not folded here.
import { decodeRecordAs, schemasOnTopic, Topics, type ItemEvent } from '@buy-now/contracts';
import {
  runBatchConsumer,
  type BatchConsumer,
  type BatchStats,
  type DurableProducer,
  type KafkaClient,
} from '@buy-now/kafka';
import type { Logger } from '@buy-now/observability';
import { PurchaseGateError } from '../../domain/purchase-gate-error.js';
import type { PurchaseGate } from '../../domain/purchase-gate.js';
import type { OutcomeBus } from '../redis/outcome-bus.js';

export interface EventFollowerDeps {
  client: KafkaClient;
  groupId: string;
  /** item-events, possibly with a prefix. */
  topic: string;
  gate: PurchaseGate;
  bus: OutcomeBus;
  logger: Logger;
  producerForDlq?: DurableProducer;
  sessionTimeoutMs?: number;
  /** See the batch consumer's fetchIntervalMs. */
  fetchIntervalMs?: number;
  /** See the batch consumer's commitIntervalMs. */
  commitIntervalMs?: number;
  onApplied?: (event: ItemEvent) => void;
  onBatchHandled?: (stats: BatchStats) => void;
}

/** Events applied with one round trip; their waiters are woken before the next chunk. */
const APPLY_CHUNK = 256;

export async function applyItemEvent(
  deps: Pick<EventFollowerDeps, 'gate'>,
  event: ItemEvent,
): Promise<string | null> {
  switch (event.name) {
    case 'ItemListed': {
      const e = event.value;
      await deps.gate.applyListing({
        itemId: e.itemId,
        version: e.version,
        stock: e.stock,
        perBuyerLimit: e.perBuyerLimit,
        startsAt: e.startsAt,
        title: e.title,
        priceMinor: e.priceMinor,
        currency: e.currency,
      });
      return null;
    }
    case 'StockAdjusted': {
      const applied = await deps.gate.applyStockAdjusted({
        itemId: event.value.itemId,
        version: event.value.version,
        delta: event.value.delta,
        remaining: event.value.remaining,
      });
      // Its listing came first in the log, so a missing gate means Redis lost its data. Passing over the
      // restock now would lose it for good (the rebuild may read SQL before it); failing the batch
      // retries it once the gate is back, where it applies or is already in the rebuilt version.
      if (!applied && (await deps.gate.getAvailability(event.value.itemId)) === null) {
        throw new PurchaseGateError(
          'GATE_UNAVAILABLE',
          `the gate of item ${event.value.itemId} is missing (Redis lost its data); StockAdjusted v${event.value.version} waits for the rebuild`,
          { canRetry: true },
        );
      }
      return null;
    }
    case 'ItemBought': {
      const e = event.value;
      await deps.gate.applyOutcome({
        itemId: e.itemId,
        purchaseId: e.purchaseId,
        status: 'confirmed',
        version: e.version,
        remaining: e.remaining,
        buyerId: e.buyerId,
        quantity: e.quantity,
        admissionSeq: e.admissionSeq,
        admittedAt: e.admittedAt,
      });
      return e.purchaseId;
    }
    case 'PurchaseRejected': {
      const e = event.value;
      await deps.gate.applyOutcome({
        itemId: e.itemId,
        purchaseId: e.purchaseId,
        status: 'rejected',
        reason: e.reason,
        originalPurchaseId: e.originalPurchaseId,
        version: e.version,
        remaining: e.remaining,
        buyerId: e.buyerId,
        quantity: e.quantity,
        admissionSeq: e.admissionSeq,
      });
      return e.purchaseId;
    }
    case 'OutOfStock':
      await deps.gate.applySoldState({
        itemId: event.value.itemId,
        version: event.value.version,
        remaining: 0,
      });
      return null;
  }
}

export function startEventFollower(deps: EventFollowerDeps): Promise<BatchConsumer> {
  const allowed = schemasOnTopic[Topics.itemEvents];
  return runBatchConsumer<ItemEvent>(deps.client, {
    groupId: deps.groupId,
    topics: [deps.topic],
    fromBeginning: true,
    logger: deps.logger,
    ...(deps.producerForDlq ? { producerForDlq: deps.producerForDlq } : {}),
    ...(deps.sessionTimeoutMs ? { sessionTimeoutMs: deps.sessionTimeoutMs } : {}),
    ...(deps.fetchIntervalMs ? { fetchIntervalMs: deps.fetchIntervalMs } : {}),
    ...(deps.commitIntervalMs ? { commitIntervalMs: deps.commitIntervalMs } : {}),
    ...(deps.onBatchHandled ? { onBatchHandled: deps.onBatchHandled } : {}),
    decode: (record) => {
      const decoded = decodeRecordAs(allowed, record);
      return { name: decoded.name, value: decoded.value } as ItemEvent;
    },
    handleBatch: async (records) => {
      for (let start = 0; start < records.length; start += APPLY_CHUNK) {
        const chunk = records.slice(start, start + APPLY_CHUNK);
        // Issued together and in log order on one connection, which keeps that order: an item's versions
        // still apply one after the other, and a chunk costs one round trip instead of one per event
        // (behind a flood of admissions, a round trip each made the winners wait seconds). Should one
        // fail, the whole batch is retried, and every step is idempotent by version.
        const applied = await Promise.all(chunk.map((record) => applyItemEvent(deps, record.message)));
        const decided: string[] = [];
        for (const [i, purchaseId] of applied.entries()) {
          const event = (chunk[i] as (typeof chunk)[number]).message;
          if (purchaseId) {
            decided.push(purchaseId);
            deps.logger.debug(
              { purchaseId, itemId: event.value.itemId, event: event.name },
              'purchase outcome applied to the gate',
            );
          }
          deps.onApplied?.(event);
        }
        // The waiters of this chunk wake now, not once the whole batch is applied.
        await deps.bus.announce(decided);
      }
    },
  });
}
