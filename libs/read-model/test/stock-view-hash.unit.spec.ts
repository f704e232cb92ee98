import { describe, expect, it } from 'vitest';
import { fromHash, stockViewKeys, toHashFields } from '../src/index.js';
import { sampleView } from './sample-view.js';

const asHash = (pairs: string[]): Record<string, string> => {
  const hash: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) hash[pairs[i]!] = pairs[i + 1]!;
  return hash;
};

describe('a stock view as a Redis hash', () => {
  it('comes back equal, nulls included', () => {
    const views = [
      sampleView(),
      sampleView({ startsAt: null, lastSaleAt: null, soldOutAt: 1_750_000_009_000, status: 'SOLD_OUT' }),
    ];
    for (const view of views) expect(fromHash('k', asHash(toHashFields(view)))).toEqual(view);
  });

  it('is absent when the hash does not exist', () => {
    expect(fromHash('k', {})).toBeNull();
  });

  it('refuses a hash that is not a stock view, naming every problem', () => {
    const hash = asHash(toHashFields(sampleView()));
    delete hash.available;
    hash.sold = 'many';
    hash.status = 'OPEN';
    let thrown: unknown;
    try {
      fromHash('bn:view:{item:item-1}', hash);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'READ_MODEL_INVALID_VIEW', canRetry: false });
    const { message } = thrown as Error;
    expect(message).toContain('available missing');
    expect(message).toContain('sold is not an integer');
    expect(message).toContain('status is not one of');
  });
});

describe('the key layout', () => {
  it('hash-tags each view by item and keeps the item set apart', () => {
    const keys = stockViewKeys('bn:');
    expect(keys.view('abc')).toBe('bn:view:{item:abc}');
    expect(keys.items).toBe('bn:view-items');
    expect(keys.viewPattern).toBe('bn:view:{item:*}');
  });

  it('escapes glob characters of the prefix in the scan pattern', () => {
    expect(stockViewKeys('a*b?[c]:').viewPattern).toBe('a\\*b\\?\\[c\\]:view:{item:*}');
  });
});
