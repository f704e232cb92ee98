import { describe, expect, it } from 'vitest';
import { lagOf } from '../src/admin.js';

describe('lagOf', () => {
  const offsets = [
    { partition: 0, low: '0', high: '10' },
    { partition: 1, low: '5', high: '20' },
    { partition: 2, low: '0', high: '0' },
  ];
  it('adds end minus committed over the partitions', () => {
    expect(
      lagOf(offsets, [
        { partition: 0, offset: '7' },
        { partition: 1, offset: '20' },
        { partition: 2, offset: '0' },
      ]),
    ).toBe(3);
  });
  it('counts a partition never committed on from its first offset', () => {
    expect(lagOf(offsets, [{ partition: 0, offset: '-1' }])).toBe(25);
    expect(lagOf(offsets, [])).toBe(25);
  });
  it('is zero when caught up, never negative', () => {
    expect(
      lagOf(offsets, [
        { partition: 0, offset: '10' },
        { partition: 1, offset: '25' },
        { partition: 2, offset: '0' },
      ]),
    ).toBe(0);
  });
});
