import { describe, expect, it } from 'vitest';
import { slidingWindowStart } from './sliding-window.js';

describe('slidingWindowStart', () => {
  it('starts at 0 while the text fits, then at the smallest stride multiple that fits', () => {
    expect(slidingWindowStart(128, 128)).toBe(0);
    expect(slidingWindowStart(130, 128)).toBe(2);
    // 130 − 128 = 2 tokens too many: the next multiple of 32 is 32 (98 tokens left).
    expect(slidingWindowStart(130, 128, 32)).toBe(32);
    expect(slidingWindowStart(160, 128, 32)).toBe(32);
    expect(slidingWindowStart(161, 128, 32)).toBe(64);
  });

  it('refuses a stride outside [1, contextLength]', () => {
    expect(() => slidingWindowStart(10, 8, 0)).toThrow(
      'slideStride must be an integer in [1, contextLength = 8], got 0.',
    );
    expect(() => slidingWindowStart(10, 8, 9)).toThrow(/got 9/);
  });
});
