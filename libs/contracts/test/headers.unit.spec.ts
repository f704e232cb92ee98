import { describe, expect, it } from 'vitest';
import { formatViewSource, parseViewSource } from '../src/index.js';

describe('the view-source header', () => {
  it('round-trips a partition and a 64-bit offset', () => {
    const source = { partition: 7, offset: 9_007_199_254_740_993n };
    expect(formatViewSource(source)).toBe('7:9007199254740993');
    expect(parseViewSource(formatViewSource(source))).toEqual(source);
  });

  it('reads an absent or malformed header as unknown', () => {
    for (const text of [undefined, '', '7', ':3', '7:', 'a:1', '1:-2', '1:2:3', ' 1:2']) {
      expect(parseViewSource(text)).toBeUndefined();
    }
  });
});
