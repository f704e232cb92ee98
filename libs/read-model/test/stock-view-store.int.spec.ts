// The read model against a real Redis, under a prefix no other run uses.
import { getTestServers, uniqueName } from '@buy-now/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStockViewStore, type StockViewStore } from '../src/index.js';
import { sampleView } from './sample-view.js';

let redis: Redis;
let store: StockViewStore;
let prefix: string;

beforeAll(async () => {
  const servers = await getTestServers();
  redis = new Redis(servers.redisUrl, { lazyConnect: true });
  await redis.connect();
  prefix = `${uniqueName('read-model-test')}:`;
  store = createStockViewStore({ redis, prefix });
});

afterAll(async () => {
  await store?.deleteAll();
  redis?.disconnect();
});

describe('the stock view store', () => {
  it('writes a view and reads it back equal', async () => {
    const view = sampleView({ itemId: 'roundtrip' });
    expect(await store.apply(view)).toBe(true);
    expect(await store.get('roundtrip')).toEqual(view);
    expect(await redis.sismember(`${prefix}view-items`, 'roundtrip')).toBe(1);
  });

  it('keeps only strictly newer versions', async () => {
    const v5 = sampleView({ itemId: 'versioned', version: 5, sold: 5, available: 95 });
    expect(await store.apply(v5)).toBe(true);
    expect(await store.apply({ ...v5, sold: 999 })).toBe(false);
    expect(await store.apply({ ...v5, version: 4, sold: 4, available: 96 })).toBe(false);
    expect(await store.get('versioned')).toEqual(v5);
    const v6 = { ...v5, version: 6, sold: 6, available: 94 };
    expect(await store.apply(v6)).toBe(true);
    expect(await store.get('versioned')).toEqual(v6);
  });

  it('applies many at once, answering per view', async () => {
    const a = sampleView({ itemId: 'many-a', version: 1 });
    const b = sampleView({ itemId: 'many-b', version: 2 });
    expect(await store.applyMany([a, b])).toEqual([true, true]);
    expect(await store.applyMany([a, { ...b, version: 3 }])).toEqual([false, true]);
    const views = await store.getMany(['many-a', 'many-b', 'never-listed']);
    expect([...views.keys()].sort()).toEqual(['many-a', 'many-b']);
    expect(views.get('many-b')?.version).toBe(3);
  });

  it('refuses a view that breaks the contract and writes nothing', async () => {
    const bad = { ...sampleView({ itemId: 'bad' }), status: 'OPEN' as 'LIVE' };
    await expect(store.apply(bad)).rejects.toMatchObject({ code: 'READ_MODEL_REFUSED_VIEW' });
    expect(await store.get('bad')).toBeNull();
  });

  it('fails a read on a hash that is not a view, or reports it and reads the rest', async () => {
    await redis.hset(`${prefix}view:{item:legacy}`, 'version', '3', 'remaining', '2');
    await redis.sadd(`${prefix}view-items`, 'legacy');
    await expect(store.get('legacy')).rejects.toMatchObject({ code: 'READ_MODEL_INVALID_VIEW' });
    await expect(store.list()).rejects.toMatchObject({ code: 'READ_MODEL_INVALID_VIEW' });

    const invalid: string[] = [];
    const listed = await store.list({ onInvalid: (itemId) => invalid.push(itemId) });
    expect(invalid).toEqual(['legacy']);
    expect(listed.map((view) => view.itemId)).toEqual(['many-a', 'many-b', 'roundtrip', 'versioned']);
    // A real view replaces it once its version is newer.
    expect(await store.apply(sampleView({ itemId: 'legacy', version: 4 }))).toBe(true);
    expect(await store.get('legacy')).toEqual(sampleView({ itemId: 'legacy', version: 4 }));
  });

  it('lists every view by item id and deletes only its own keys', async () => {
    const other = createStockViewStore({ redis, prefix: `${prefix}other:` });
    await other.apply(sampleView({ itemId: 'elsewhere' }));
    const listed = await store.list();
    expect(listed.map((view) => view.itemId)).toEqual([
      'legacy',
      'many-a',
      'many-b',
      'roundtrip',
      'versioned',
    ]);

    // 5 view hashes and the item set.
    expect(await store.deleteAll()).toBe(6);
    expect(await store.list()).toEqual([]);
    expect(await store.get('roundtrip')).toBeNull();
    expect((await other.list()).map((view) => view.itemId)).toEqual(['elsewhere']);
    expect(await other.deleteAll()).toBe(2);
  });
});
