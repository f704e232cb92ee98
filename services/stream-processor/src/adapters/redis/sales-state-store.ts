// Where each sales series keeps its state between batches: one Redis hash per series (hash-tagged like
// the item's other keys) holding the state as JSON, a revision for optimistic concurrency, and the last
// counted version of each item (one field per item; the '*' series has one per item it ever counted).
// A sorted set (in a slot of its own) says when each series next needs the timer.
import type { Redis, Result } from 'ioredis';
import { StreamProcessorError } from '../../domain/errors.js';
import { emptySalesState, type SalesState } from '../../domain/sales-metrics.js';

// KEYS[1] the series hash. ARGV[1] the revision read, ARGV[2] the new state (JSON), ARGV[3..] pairs of
// (itemId, last counted version). Writes only if nobody wrote since the read.
const COMMIT_SALES_STATE = `
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', rev + 1, 'state', ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'v:' .. ARGV[i], ARGV[i + 1])
end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    streamProcessorCommitSalesState(
      seriesKey: string,
      revision: string,
      state: string,
      ...versions: string[]
    ): Result<number, Context>;
  }
}

export interface SalesSnapshot {
  /** 0 for a series never written. */
  revision: number;
  state: SalesState;
  /** Last counted version of the items asked for (absent: none counted). */
  counted: Map<string, number>;
}

export interface SalesStateStore {
  read(series: string, itemIds: readonly string[]): Promise<SalesSnapshot>;
  /** Writes the state if the revision is still the one read; false when another writer came first. */
  commit(
    series: string,
    revision: number,
    state: SalesState,
    counted: ReadonlyMap<string, number>,
  ): Promise<boolean>;
  /** Records when the series next needs the timer; null: never (nothing open, nothing unpublished). */
  setDueAt(series: string, at: number | null): Promise<void>;
  /** Series due at or before `now`, earliest first. */
  dueSeries(now: number, limit: number): Promise<string[]>;
}

export function salesStateKeys(prefix: string) {
  return {
    series: (key: string) => `${prefix}sales:{item:${key}}`,
    due: `${prefix}sales-due`,
  };
}

export function createSalesStateStore(options: { redis: Redis; prefix: string }): SalesStateStore {
  const { redis } = options;
  const keys = salesStateKeys(options.prefix);
  redis.defineCommand('streamProcessorCommitSalesState', { numberOfKeys: 1, lua: COMMIT_SALES_STATE });

  return {
    async read(series, itemIds) {
      const fields = ['rev', 'state', ...itemIds.map((itemId) => `v:${itemId}`)];
      const [revision, state, ...versions] = await redis.hmget(keys.series(series), ...fields);
      const counted = new Map<string, number>();
      itemIds.forEach((itemId, index) => {
        const version = versions[index];
        if (version !== null && version !== undefined) counted.set(itemId, Number(version));
      });
      return {
        revision: revision === null || revision === undefined ? 0 : Number(revision),
        state: state === null || state === undefined ? emptySalesState : parseState(series, state),
        counted,
      };
    },
    async commit(series, revision, state, counted) {
      const versions = [...counted].flatMap(([itemId, version]) => [itemId, String(version)]);
      const written = await redis.streamProcessorCommitSalesState(
        keys.series(series),
        String(revision),
        JSON.stringify(state),
        ...versions,
      );
      return written === 1;
    },
    async setDueAt(series, at) {
      if (at === null) await redis.zrem(keys.due, series);
      else await redis.zadd(keys.due, at, series);
    },
    async dueSeries(now, limit) {
      return redis.zrangebyscore(keys.due, '-inf', now, 'LIMIT', 0, limit);
    },
  };
}

function parseState(series: string, text: string): SalesState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StreamProcessorError('SALES_STATE_INVALID', `sales state of ${series} is not JSON`, {
      cause: error,
    });
  }
  const state = parsed as Partial<SalesState> | null;
  if (
    typeof state !== 'object' ||
    state === null ||
    typeof state.totalOrders !== 'number' ||
    typeof state.totalUnits !== 'number' ||
    !Array.isArray(state.unpublished) ||
    !state.unpublished.every(
      (entry) => typeof entry?.closedAt === 'number' && typeof entry.record === 'object',
    )
  ) {
    throw new StreamProcessorError('SALES_STATE_INVALID', `sales state of ${series} is not a sales state`);
  }
  return { ...emptySalesState, ...state };
}
