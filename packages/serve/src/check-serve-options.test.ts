import { describe, expect, it } from 'vitest';
import { checkServeOptions } from './check-serve-options.js';
import { defaultServeOptions } from './server-options.js';

describe('checkServeOptions', () => {
  it('accepts the defaults, and 0 for the queue depth and the timeout (none / no limit)', () => {
    expect(() => checkServeOptions(defaultServeOptions)).not.toThrow();
    expect(() =>
      checkServeOptions({ ...defaultServeOptions, maxQueue: 0, requestTimeoutMs: 0 }),
    ).not.toThrow();
  });

  it('names the first out-of-range limit', () => {
    const bad = (o: object) => () => checkServeOptions({ ...defaultServeOptions, ...o });
    expect(bad({ maxTextChars: 0 })).toThrow('maxTextChars must be a positive integer, got 0.');
    expect(bad({ maxRequestTokens: 1.5 })).toThrow(
      'maxRequestTokens must be a positive integer, got 1.5.',
    );
    expect(bad({ requestsPerWorker: 0 })).toThrow(
      'requestsPerWorker must be a positive integer, got 0.',
    );
    expect(bad({ slideStride: 0.5 })).toThrow('slideStride must be a positive integer, got 0.5.');
    expect(bad({ maxQueue: -1 })).toThrow('maxQueue must be an integer ≥ 0, got -1.');
    expect(bad({ requestTimeoutMs: Number.NaN })).toThrow(
      'requestTimeoutMs must be an integer ≥ 0, got NaN.',
    );
  });
});
