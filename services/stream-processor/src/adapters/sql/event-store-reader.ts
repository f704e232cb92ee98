// Reads the SQL event store (item_events) and the items rows (its snapshots) for the views' check.
import type pg from 'pg';
import type { StoredItemEvent } from '../../domain/event-store-tally.js';
import type { ItemRow } from '../../domain/view-differences.js';

export interface EventStoreContents {
  /** In (itemId, version) order. */
  events: StoredItemEvent[];
  rows: ItemRow[];
}

export async function readEventStore(client: pg.ClientBase): Promise<EventStoreContents> {
  // One snapshot for both reads, so rows and events agree with each other while writers carry on.
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const events = await client.query<{
      item_id: string;
      version: string;
      event_type: string;
      payload: unknown;
    }>('SELECT item_id, version, event_type, payload FROM item_events ORDER BY item_id, version');
    const rows = await client.query<{
      item_id: string;
      version: string;
      listed: number;
      sold: number;
      remaining: number;
    }>('SELECT item_id, version, listed, sold, remaining FROM items ORDER BY item_id');
    return {
      events: events.rows.map((row) => ({
        itemId: row.item_id,
        version: Number(row.version),
        type: row.event_type,
        payload: row.payload,
      })),
      rows: rows.rows.map((row) => ({
        itemId: row.item_id,
        version: Number(row.version),
        listed: row.listed,
        sold: row.sold,
        remaining: row.remaining,
      })),
    };
  } finally {
    await client.query('COMMIT');
  }
}
