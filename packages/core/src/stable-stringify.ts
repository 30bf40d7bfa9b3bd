/**
 * Deterministic JSON (object keys sorted), for hashing configs.
 *
 * @example
 * ```ts
 * stableStringify({ b: 1, a: 2 }) === '{"a":2,"b":1}';
 * ```
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
          a < b ? -1 : a > b ? 1 : 0,
        ),
      );
    }
    return v;
  });
}
