import type { Handler } from './handler.js';

/**
 * `GET /health` → `{ status, k, backend, queued }`; a 503 while shutting down or when the model
 * worker has stopped (died). It never waits for the model worker.
 */
export const health: Handler = async (_body, { reply }, state) => {
  const status = state.closing()
    ? 'shutting-down'
    : state.threads.some((t) => t.stopped)
      ? 'worker-stopped'
      : 'ok';
  reply.code(status === 'ok' ? 200 : 503);
  return { status, k: state.k, backend: state.backend, queued: state.queue.size };
};
