// The read model of stock: one Redis hash per item holding its latest StockView. Writers apply whole
// views, each kept only if its version is newer than the stored one, so replays, duplicates and two
// writers racing during a rebalance can never move a view backwards.
import { violationsOf, type StockView } from '@buy-now/contracts';
import type { ChainableCommander, Redis, Result } from 'ioredis';
import { isReadModelError, ReadModelError } from './errors.js';
import { stockViewKeys, type StockViewKeys } from './keys.js';
import { fromHash, toHashFields } from './stock-view-hash.js';

// KEYS[1] the view hash. ARGV[1] the view's version, ARGV[2..] every field/value pair (version too).
// A stored version that is not a number counts as 0, so a real view replaces garbage.
const APPLY_STOCK_VIEW = `
local stored = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') or 0
if tonumber(ARGV[1]) <= stored then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    readModelApplyStockView(viewKey: string, version: string, ...pairs: string[]): Result<number, Context>;
  }
}

export interface StockViewStore {
  readonly keys: StockViewKeys;
  /** Stores the view if its version is newer than the stored one; false when it was not. */
  apply(view: StockView): Promise<boolean>;
  /** apply() for many views in one round trip; one answer per view, in order. */
  applyMany(views: readonly StockView[]): Promise<boolean[]>;
  get(itemId: string): Promise<StockView | null>;
  /** The stored views of these items; items without one are absent from the map. */
  getMany(itemIds: readonly string[], options?: ReadOptions): Promise<Map<string, StockView>>;
  /** Every view, by itemId. */
  list(options?: ReadOptions): Promise<StockView[]>;
  /** Deletes every view and the item set under this prefix; returns the number of keys deleted. */
  deleteAll(): Promise<number>;
}

export interface ReadOptions {
  /**
   * Called for a stored hash that is not a view (READ_MODEL_INVALID_VIEW), which is then left out
   * instead of failing the whole read: one bad key must not stop every other item.
   */
  onInvalid?: (itemId: string, error: ReadModelError) => void;
}

export interface StockViewStoreOptions {
  redis: Redis;
  /** Prepended to every key, e.g. 'bn:'; lets several systems (or test runs) share one Redis. */
  prefix: string;
}

const SCAN_COUNT = 500;

export function createStockViewStore(options: StockViewStoreOptions): StockViewStore {
  const { redis } = options;
  const keys = stockViewKeys(options.prefix);
  redis.defineCommand('readModelApplyStockView', { numberOfKeys: 1, lua: APPLY_STOCK_VIEW });

  const refuseInvalid = (view: StockView): void => {
    const violations = violationsOf('StockView', view);
    if (violations.length === 0) return;
    throw new ReadModelError(
      'READ_MODEL_REFUSED_VIEW',
      `not a valid StockView for ${String(view.itemId)}: ${violations.map((v) => v.message).join('; ')}`,
    );
  };

  async function applyMany(views: readonly StockView[]): Promise<boolean[]> {
    if (views.length === 0) return [];
    views.forEach(refuseInvalid);
    // The item set is in another hash slot, so it cannot join the script; it is written first, so an
    // item with a view is always listed (a listed item without a view is skipped by list()).
    const pipeline = redis.pipeline().sadd(keys.items, ...new Set(views.map((view) => view.itemId)));
    for (const view of views) {
      pipeline.readModelApplyStockView(keys.view(view.itemId), String(view.version), ...toHashFields(view));
    }
    const results = await runPipeline('apply views', pipeline);
    return results.slice(1).map((applied) => applied === 1);
  }

  async function getMany(
    itemIds: readonly string[],
    options: ReadOptions = {},
  ): Promise<Map<string, StockView>> {
    const unique = [...new Set(itemIds)];
    const views = new Map<string, StockView>();
    if (unique.length === 0) return views;
    const pipeline = redis.pipeline();
    for (const itemId of unique) pipeline.hgetall(keys.view(itemId));
    const results = await runPipeline('read views', pipeline);
    unique.forEach((itemId, index) => {
      let view: StockView | null;
      try {
        view = fromHash(keys.view(itemId), (results[index] ?? {}) as Record<string, string>);
      } catch (error) {
        if (options.onInvalid === undefined || !isReadModelError(error, 'READ_MODEL_INVALID_VIEW'))
          throw error;
        options.onInvalid(itemId, error);
        return;
      }
      if (view !== null) views.set(itemId, view);
    });
    return views;
  }

  return {
    keys,
    async apply(view) {
      const [applied] = await applyMany([view]);
      return applied === true;
    },
    applyMany,
    async get(itemId) {
      const hash = await run('read a view', () => redis.hgetall(keys.view(itemId)));
      return fromHash(keys.view(itemId), hash);
    },
    getMany,
    async list(options) {
      const itemIds = await run('list items', () => redis.smembers(keys.items));
      const views = await getMany(itemIds, options);
      return [...views.values()].sort((a, b) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
    },
    async deleteAll() {
      let deleted = 0;
      let cursor = '0';
      do {
        const [next, found] = await run('scan views', () =>
          redis.scan(cursor, 'MATCH', keys.viewPattern, 'COUNT', SCAN_COUNT),
        );
        cursor = next;
        if (found.length > 0) deleted += await run('delete views', () => redis.del(...found));
      } while (cursor !== '0');
      deleted += await run('delete the item set', () => redis.del(keys.items));
      return deleted;
    },
  };
}

/** Runs a Redis call, turning its failure into READ_MODEL_UNAVAILABLE. */
async function run<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw unavailable(what, error);
  }
}

/** Runs a pipeline; the results of its commands, in order, or READ_MODEL_UNAVAILABLE if any failed. */
async function runPipeline(what: string, pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await run(what, () => pipeline.exec());
  if (results === null) throw unavailable(what, new Error('the pipeline was discarded'));
  const failed = results.find(([error]) => error !== null);
  if (failed !== undefined) throw unavailable(what, failed[0]);
  return results.map(([, result]) => result);
}

function unavailable(what: string, error: unknown): ReadModelError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ReadModelError('READ_MODEL_UNAVAILABLE', `Redis failed to ${what}: ${reason}`, { cause: error });
}
