// Turns an item decision into what the store writes: versioned events for the event store, every
// event for the outbox. The encoder is passed in so the domain stays free of the wire format.
import type { ItemEvent } from '@buy-now/contracts';
import type { ItemDecision } from './decide-item-commands.js';
import type { DecisionToPersist, OutboxRecord, StoredEvent } from './reservation-store.js';

export type EncodeItemEvent = (event: ItemEvent) => OutboxRecord;

export interface ItemDecisionToPersist extends DecisionToPersist {
  itemDecision: ItemDecision;
}

export function toDecisionToPersist(
  decision: ItemDecision,
  encodeItemEvent: EncodeItemEvent,
): ItemDecisionToPersist {
  return {
    itemDecision: decision,
    state: decision.stateChanged ? decision.state : null,
    purchases: decision.purchases,
    events: decision.events.flatMap(storedEventOf),
    outbox: decision.events.map(encodeItemEvent),
    processedCommandIds: decision.processedCommandIds,
  };
}

// A rejection changes nothing about the item and has no version of its own, so it is not an event of
// the item's stream; its outcome lives in purchases and on the topic.
function storedEventOf(event: ItemEvent): StoredEvent[] {
  if (event.name === 'PurchaseRejected') return [];
  return [
    {
      name: event.name,
      version: event.value.version,
      payload: event.value,
      occurredAt: event.value.occurredAt,
    },
  ];
}
