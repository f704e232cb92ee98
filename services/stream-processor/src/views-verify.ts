// The batch side of the views' check: every item's sold, remaining (available), listed and version
// recomputed from the SQL event store, cross-checked with its items row, and compared with the streaming
// views in the Redis read model. Differences are printed one per line: item, field, sql, view.
import { sqlDatabaseOf } from '@buy-now/config';
import { createStockViewStore } from '@buy-now/read-model';
import { createReservationReads, type ReservationReads } from '@buy-now/sql-schema';
import { Redis } from 'ioredis';
import type { StreamProcessorConfig } from './config.js';
import { tallyStoredEvents } from './domain/event-store-tally.js';
import { sqlViewDifferences, type ViewDifference } from './domain/view-differences.js';

export interface VerifyOptions {
  /** Check again until equal or this long has passed (the views may still be catching up). */
  waitMs: number;
}

/** Exit codes of `views:verify`. */
export const VerifyExit = { equal: 0, different: 1, failed: 2 } as const;

interface Verdict {
  items: number;
  views: number;
  differences: ViewDifference[];
}

export async function verifyViews(
  config: StreamProcessorConfig,
  options: VerifyOptions,
  print: (line: string) => void,
): Promise<number> {
  const sql = openEventStore(config);
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await Promise.all([sql.ping(), redis.connect()]);
    const views = createStockViewStore({ redis, prefix: config.REDIS_KEY_PREFIX });
    const check = async (): Promise<Verdict> => {
      const store = await sql.eventStoreSnapshot();
      const tallies = tallyStoredEvents(store.events);
      const rows = new Map(store.items.map((row) => [row.itemId, row]));
      const unreadable = new Map<string, string>();
      const onInvalid = (itemId: string, error: Error) => unreadable.set(itemId, error.message);
      const listed = await views.list({ onInvalid });
      const itemIds = [
        ...new Set([...tallies.keys(), ...rows.keys(), ...listed.map((v) => v.itemId), ...unreadable.keys()]),
      ].sort();
      const live = await views.getMany(itemIds, { onInvalid });
      const differences = itemIds.flatMap((itemId): ViewDifference[] => {
        const tally = tallies.get(itemId);
        const reason = unreadable.get(itemId);
        if (reason === undefined) {
          return sqlViewDifferences(itemId, tally, rows.get(itemId), live.get(itemId) ?? null);
        }
        const expected = tally === undefined ? '(none)' : `version ${tally.version}`;
        return [
          ...sqlViewDifferences(itemId, tally, rows.get(itemId), null).filter((d) => d.subject !== 'view'),
          { itemId, subject: 'view', field: 'view', expected, actual: `(unreadable: ${reason})` },
        ];
      });
      return { items: new Set([...tallies.keys(), ...rows.keys()]).size, views: live.size, differences };
    };

    const deadline = Date.now() + options.waitMs;
    let verdict = await check();
    while (verdict.differences.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      verdict = await check();
    }
    for (const d of verdict.differences) print(describeDifference(d));
    const differing = new Set(verdict.differences.map((d) => d.itemId)).size;
    print(
      `verify: ${verdict.items} items in SQL, ${verdict.views} views; ` +
        `${verdict.items - differing} equal, ${differing} different (${verdict.differences.length} differences)`,
    );
    return verdict.differences.length === 0 ? VerifyExit.equal : VerifyExit.different;
  } finally {
    redis.disconnect();
    await sql.close();
  }
}

/**
 * The reservation's event store, read through the one module that knows both dialects, on the database
 * the config names. Builds the pool; connects on first use. A connection lost between two checks fails
 * the next read, which reports it; the event alone must not crash the command.
 */
export function openEventStore(
  config: Pick<StreamProcessorConfig, 'DATABASE_URL' | 'SQL_DIALECT'>,
): Pick<ReservationReads, 'dialect' | 'eventStoreSnapshot' | 'ping' | 'close'> {
  return createReservationReads(sqlDatabaseOf(config), { poolSize: 1, onPoolError: () => undefined });
}

function describeDifference(d: ViewDifference): string {
  switch (d.subject) {
    case 'view':
      return `item ${d.itemId}: ${d.field} sql=${d.expected} view=${d.actual}`;
    case 'items-row':
      return `item ${d.itemId}: items.${d.field} item_events=${d.expected} items=${d.actual}`;
    case 'item-events':
      return `item ${d.itemId}: item_events ${d.actual}`;
  }
}
