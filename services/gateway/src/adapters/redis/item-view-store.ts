// The read model behind GET /items: one Redis hash per item, folded from item-events and applied
// only when the event's version is newer than the view's, so a replayed event never counts twice.
// `available` is taken live from the gate (what a buyer can still get), the rest from the events.
import type { Redis, Result } from 'ioredis';
import type { ItemEvent } from '@buy-now/contracts';
import type { ItemCatalogue, ItemStatus, ItemView } from '../../domain/ports.js';

// KEYS[1] view hash. ARGV[1] item id, ARGV[2] version, then pairs of (field, value); a field
// starting with '+' is incremented by value instead of set. The set of item ids lives in another
// hash slot, so it is written outside the script (SADD is idempotent).
const APPLY_VIEW_EVENT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local version = tonumber(ARGV[2])
if version <= current then return 0 end
for i = 3, #ARGV, 2 do
  local field = ARGV[i]
  if string.sub(field, 1, 1) == '+' then
    redis.call('HINCRBY', KEYS[1], string.sub(field, 2), ARGV[i + 1])
  else
    redis.call('HSET', KEYS[1], field, ARGV[i + 1])
  end
end
redis.call('HSET', KEYS[1], 'version', ARGV[2])
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    applyViewEvent(
      viewKey: string,
      itemId: string,
      version: number,
      ...pairs: string[]
    ): Result<number, Context>;
  }
}

export interface ItemSnapshot {
  itemId: string;
  version: number;
  title: string;
  priceMinor: number;
  currency: string;
  perBuyerLimit: number;
  startsAt: number | null;
  listed: number;
  sold: number;
  remaining: number;
}

export interface ItemViewStore extends ItemCatalogue {
  /** Folds one event into the view; false when the view already had this version. */
  apply(event: ItemEvent): Promise<boolean>;
  /** Sets the view from a snapshot of the store of record (after Redis lost its data). */
  restore(snapshot: ItemSnapshot): Promise<boolean>;
}

export interface ItemViewStoreOptions {
  redis: Redis;
  prefix: string;
  /** Live availability from the gate; null when the gate does not know the item. */
  availability: (itemId: string) => Promise<{ available: number } | null>;
  clock: () => number;
}

export function createItemViewStore(options: ItemViewStoreOptions): ItemViewStore {
  const { redis, prefix } = options;
  redis.defineCommand('applyViewEvent', { numberOfKeys: 1, lua: APPLY_VIEW_EVENT });
  const viewKey = (itemId: string) => `${prefix}view:{item:${itemId}}`;
  const itemsKey = `${prefix}view-items`;

  const pairsOf = (event: ItemEvent): { version: number; pairs: (string | number)[] } | null => {
    switch (event.name) {
      case 'ItemListed': {
        const e = event.value;
        return {
          version: e.version,
          pairs: [
            'title',
            e.title,
            'priceMinor',
            e.priceMinor,
            'currency',
            e.currency,
            'perBuyerLimit',
            e.perBuyerLimit,
            'startsAt',
            e.startsAt ?? '',
            'listed',
            e.stock,
            'remaining',
            e.stock,
            'sold',
            0,
          ],
        };
      }
      case 'StockAdjusted':
        return {
          version: event.value.version,
          pairs: ['+listed', event.value.delta, 'remaining', event.value.remaining],
        };
      case 'ItemBought':
        return {
          version: event.value.version,
          pairs: ['+sold', event.value.quantity, 'remaining', event.value.remaining],
        };
      case 'OutOfStock':
        return { version: event.value.version, pairs: ['remaining', 0] };
      case 'PurchaseRejected':
        // Does not change the item (its version is the one decided against).
        return null;
    }
  };

  const toView = async (itemId: string, hash: Record<string, string>): Promise<ItemView | null> => {
    if (!hash.version || !hash.title) return null;
    const gate = await options.availability(itemId);
    const remaining = Number(hash.remaining ?? 0);
    const available = Math.max(0, Math.min(gate?.available ?? remaining, remaining));
    const startsAt = hash.startsAt ? Number(hash.startsAt) : null;
    const status: ItemStatus =
      available === 0 ? 'sold-out' : startsAt !== null && startsAt > options.clock() ? 'scheduled' : 'live';
    return {
      itemId,
      title: hash.title,
      priceMinor: Number(hash.priceMinor ?? 0),
      currency: hash.currency ?? '',
      perBuyerLimit: Number(hash.perBuyerLimit ?? 1),
      startsAt,
      listed: Number(hash.listed ?? 0),
      available,
      sold: Number(hash.sold ?? 0),
      status,
      version: Number(hash.version),
    };
  };

  return {
    async apply(event) {
      const change = pairsOf(event);
      if (!change) return false;
      const itemId = event.value.itemId;
      if (event.name === 'ItemListed') await redis.sadd(itemsKey, itemId);
      const applied = await redis.applyViewEvent(
        viewKey(itemId),
        itemId,
        change.version,
        ...change.pairs.map(String),
      );
      return applied === 1;
    },
    async restore(s) {
      await redis.sadd(itemsKey, s.itemId);
      const pairs = [
        'title',
        s.title,
        'priceMinor',
        s.priceMinor,
        'currency',
        s.currency,
        'perBuyerLimit',
        s.perBuyerLimit,
        'startsAt',
        s.startsAt ?? '',
        'listed',
        s.listed,
        'remaining',
        s.remaining,
        'sold',
        s.sold,
      ];
      return (await redis.applyViewEvent(viewKey(s.itemId), s.itemId, s.version, ...pairs.map(String))) === 1;
    },
    async getItem(itemId) {
      return toView(itemId, await redis.hgetall(viewKey(itemId)));
    },
    async listItems() {
      const ids = (await redis.smembers(itemsKey)).sort();
      const views = await Promise.all(ids.map(async (id) => toView(id, await redis.hgetall(viewKey(id)))));
      return views.filter((v): v is ItemView => v !== null);
    },
  };
}
