// The batch side of the views' check: each item's stock recomputed from the SQL event store, with
// arithmetic of its own (listed + deltas, minus quantities), not with the stream's fold, so a bug in
// one does not hide in the other. The `remaining` an event carries is checked against the arithmetic.

/** One row of item_events: the payload is the event's Avro fields as JSON. */
export interface StoredItemEvent {
  itemId: string;
  version: number;
  type: string;
  payload: unknown;
}

export interface ItemTally {
  itemId: string;
  /** Last version seen. */
  version: number;
  listed: number;
  sold: number;
  remaining: number;
  /** What in the stored events contradicts itself (gaps, bad payloads, a wrong `remaining`). */
  problems: string[];
}

/** Tallies events given in (itemId, version) order. */
export function tallyStoredEvents(events: readonly StoredItemEvent[]): Map<string, ItemTally> {
  const tallies = new Map<string, ItemTally>();
  for (const event of events) {
    let tally = tallies.get(event.itemId);
    if (tally === undefined) {
      tally = { itemId: event.itemId, version: 0, listed: 0, sold: 0, remaining: 0, problems: [] };
      tallies.set(event.itemId, tally);
    }
    const at = `${event.type} v${event.version}`;
    if (event.version !== tally.version + 1) {
      tally.problems.push(`${at} follows v${tally.version}`);
    }
    tally.version = event.version;
    const payload = (
      typeof event.payload === 'object' && event.payload !== null ? event.payload : {}
    ) as Record<string, unknown>;
    const count = (field: string): number => {
      const value = payload[field];
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      tally.problems.push(`${at}: ${field} is not an integer (${JSON.stringify(value)})`);
      return 0;
    };
    const expectRemaining = () => {
      const stated = count('remaining');
      if (stated !== tally.remaining) {
        tally.problems.push(`${at}: says remaining ${stated}, its events add up to ${tally.remaining}`);
      }
    };
    switch (event.type) {
      case 'ItemListed':
        if (event.version !== 1) tally.problems.push(`${at}: a listing must be version 1`);
        tally.listed = count('stock');
        tally.sold = 0;
        tally.remaining = tally.listed;
        break;
      case 'StockAdjusted': {
        const delta = count('delta');
        tally.listed += delta;
        tally.remaining += delta;
        expectRemaining();
        break;
      }
      case 'ItemBought': {
        const quantity = count('quantity');
        tally.sold += quantity;
        tally.remaining -= quantity;
        expectRemaining();
        break;
      }
      case 'OutOfStock':
        if (tally.remaining !== 0) tally.problems.push(`${at}: ${tally.remaining} units still remain`);
        break;
      default:
        tally.problems.push(`${at}: not an event of an item's stream`);
    }
  }
  return tallies;
}
