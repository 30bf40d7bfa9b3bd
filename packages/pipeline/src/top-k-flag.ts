import { InvalidArgumentError } from 'commander';
import type { TopK } from './config/schema.js';

/**
 * Parses one `--top-k` value: a positive integer or `all`. The single parser behind every
 * command's `--top-k` (eval, generate, serve, export-web); commander prints the error with the
 * flag's name.
 *
 * @example
 * ```ts
 * parseTopK('2'); // 2
 * parseTopK('all'); // 'all'
 * ```
 */
export function parseTopK(value: string): TopK {
  const t = value.trim();
  if (t === 'all') return 'all';
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected an integer ≥ 1 or "all", got "${value}".`);
  }
  return n;
}

/**
 * Parses a comma-separated `--top-k` list (`1,2,all`), each item as {@link parseTopK} does;
 * repeated settings are kept once, in order.
 *
 * @example
 * ```ts
 * parseTopKList('1, 2,all,2'); // [1, 2, 'all']
 * ```
 */
export function parseTopKList(value: string): TopK[] {
  const items = value.split(',').map((s) => {
    try {
      return parseTopK(s);
    } catch {
      throw new InvalidArgumentError(
        `expected comma-separated integers ≥ 1 or "all" (such as 1,2,all), got "${value}".`,
      );
    }
  });
  return [...new Set(items)];
}

/**
 * `'all'` as "no limit" for the APIs that take an optional number of experts.
 *
 * @example
 * ```ts
 * expertLimit('all'); // undefined
 * expertLimit(2); // 2
 * ```
 */
export function expertLimit(topK: TopK | undefined): number | undefined {
  return topK === 'all' ? undefined : topK;
}
