import type { ServedRequest } from './server-options.js';

/**
 * One access-log line for a finished request: time, method, path, status, milliseconds, and the
 * tokens generated when there were any. It never holds headers, bodies or the query string.
 *
 * @example
 * ```ts
 * formatAccessLog({ method: 'POST', path: '/v1/completions', status: 200, ms: 812.4, aborted: false, tokens: 16 });
 * // '2026-12-04T17:00:00.000Z POST /v1/completions 200 812ms 16 tokens'
 * ```
 */
export function formatAccessLog(r: ServedRequest, now: Date = new Date()): string {
  return [
    now.toISOString(),
    r.method,
    r.path,
    String(r.status),
    `${Math.round(r.ms)}ms`,
    ...(r.tokens !== undefined ? [`${r.tokens} tokens`] : []),
    ...(r.aborted ? ['aborted'] : []),
  ].join(' ');
}
