import { AbortError } from '@cbtm/core';
import type { FastifyInstance } from 'fastify';

/**
 * Stops `app` gracefully: no new connections, running requests (`active`) get `graceMs` to
 * finish, then `force` aborts the rest and every connection is closed.
 */
export async function shutdown(
  app: FastifyInstance,
  active: ReadonlySet<Promise<unknown>>,
  force: AbortController,
  graceMs: number,
): Promise<void> {
  const stopped = app.close();
  app.server.closeIdleConnections();
  const grace = new Promise<void>((ok) => setTimeout(ok, graceMs).unref());
  await Promise.race([Promise.allSettled([...active]), grace]);
  if (active.size > 0) {
    force.abort(new AbortError('The server is shutting down.'));
    await Promise.allSettled([...active]);
  }
  app.server.closeAllConnections();
  await stopped;
}
