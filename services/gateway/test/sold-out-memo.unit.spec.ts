// The sold-out memo repeats only what the gate said: never for a buyer who holds units of the item,
// never past its bound, never after something that may have put units back, never from a stale answer.
import { describe, expect, it } from 'vitest';
import { createSoldOutMemo } from '../src/domain/sold-out-memo.js';

function memoAt(ttlMs = 1_000) {
  let now = 1_000_000;
  const memo = createSoldOutMemo({ clock: () => now, ttlMs });
  return { memo, advance: (ms: number) => (now += ms) };
}

const soldOutAt = (version: number, buyersWithUnits: string[] = []) => ({
  version,
  perBuyerLimit: 2,
  buyersWithUnits,
});

describe('the sold-out memo', () => {
  it('repeats the gate’s SOLD_OUT for its bound, except to buyers who hold units of the item', () => {
    const { memo, advance } = memoAt(1_000);
    expect(memo.refusal('i', 'carol')).toBeNull();
    expect(memo.remember('i', memo.generation('i'), soldOutAt(7, ['alice']))).toBe(true);
    expect(memo.refusal('i', 'carol')).toEqual({ version: 7, perBuyerLimit: 2 });
    // Alice's retry may be a replay of her purchase: only the gate can answer it.
    expect(memo.refusal('i', 'alice')).toBeNull();
    expect(memo.refusal('other-item', 'carol')).toBeNull();
    advance(999);
    expect(memo.refusal('i', 'carol')).not.toBeNull();
    advance(1);
    expect(memo.refusal('i', 'carol')).toBeNull();
    expect(memo.remembered()).toBe(0);
  });

  it('forgets an item the moment units may be back', () => {
    const { memo } = memoAt();
    memo.remember('i', memo.generation('i'), soldOutAt(7));
    memo.reopen('i');
    expect(memo.refusal('i', 'carol')).toBeNull();
  });

  it('does not remember an answer when a reopening was heard while it was on its way', () => {
    const { memo } = memoAt();
    const asked = memo.generation('i');
    memo.reopen('i');
    expect(memo.remember('i', asked, soldOutAt(7))).toBe(false);
    expect(memo.refusal('i', 'carol')).toBeNull();
  });

  it('is reopened by a newer view with units, not by an older or empty one', () => {
    const { memo } = memoAt();
    memo.remember('i', memo.generation('i'), soldOutAt(7));
    memo.observeView('i', 7, 3);
    memo.observeView('i', 8, 0);
    expect(memo.refusal('i', 'carol')).not.toBeNull();
    memo.observeView('i', 8, 5);
    expect(memo.refusal('i', 'carol')).toBeNull();
    // An answer older than a view with units already seen is stale.
    expect(memo.remember('i', memo.generation('i'), soldOutAt(7))).toBe(false);
    expect(memo.remember('i', memo.generation('i'), soldOutAt(9))).toBe(true);
  });

  it('is off with a bound of 0', () => {
    const { memo } = memoAt(0);
    expect(memo.remember('i', memo.generation('i'), soldOutAt(7))).toBe(false);
    expect(memo.refusal('i', 'carol')).toBeNull();
  });
});
