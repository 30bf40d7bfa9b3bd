import type { Server } from 'node:http';
import { AbortError } from '@cbtm/core';

/**
 * Stops `server` gracefully: no new connections, running requests (`active`) get `graceMs` to
 * finish, then `force` aborts the rest and every connection is closed.
 */
export async function shutdown(
  server: Server,
  active: ReadonlySet<Promise<void>>,
  force: AbortController,
  graceMs: number,
): Promise<void> {
  const stopped = new Promise<void>((ok) => server.close(() => ok()));
  server.closeIdleConnections();
  const grace = new Promise<void>((ok) => setTimeout(ok, graceMs).unref());
  await Promise.race([Promise.allSettled([...active]), grace]);
  if (active.size > 0) {
    force.abort(new AbortError('The server is shutting down.'));
    await Promise.allSettled([...active]);
  }
  server.closeAllConnections();
  await stopped;
}
