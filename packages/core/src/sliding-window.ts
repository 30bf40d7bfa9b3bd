import { InvalidArgumentError } from './errors.js';

/**
 * Where the window a model reads starts, for a text of `length` tokens and a context of
 * `contextLength`, when the window slides by `slideStride` tokens at a time: 0 while the text
 * fits, else the smallest multiple of the stride that leaves at most `contextLength` tokens.
 * The window then holds between contextLength − slideStride + 1 and contextLength tokens, and
 * depends on the length alone, so a cached and an uncached decoder read the same tokens.
 * A stride of 1 is the plain sliding window: the last `contextLength` tokens.
 *
 * @example
 * ```ts
 * slidingWindowStart(100, 128, 1); // 0
 * slidingWindowStart(130, 128, 1); // 2: the last 128 tokens
 * slidingWindowStart(130, 128, 32); // 32: 98 tokens, and 30 more steps before the next slide
 * ```
 */
export function slidingWindowStart(length: number, contextLength: number, slideStride = 1): number {
  if (!Number.isInteger(slideStride) || slideStride < 1 || slideStride > contextLength) {
    throw new InvalidArgumentError(
      `slideStride must be an integer in [1, contextLength = ${contextLength}], got ${slideStride}.`,
    );
  }
  if (length <= contextLength) return 0;
  return Math.ceil((length - contextLength) / slideStride) * slideStride;
}
