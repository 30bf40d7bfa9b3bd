import type { Handler } from './handler.js';

/**
 * `GET /health` → `{ status, k, backend, queued }`; a 503 while shutting down
 * (`shutting-down`), while a crashed model worker restarts (`worker-restarting`), or once one
 * crashed too often to be restarted (`worker-stopped`). It never waits for the model worker.
 */
export const health: Handler = async (_body, { reply }, state) => {
  const status = state.closing()
    ? 'shutting-down'
    : state.workers.failed
      ? 'worker-stopped'
      : state.workers.restarting
        ? 'worker-restarting'
        : 'ok';
  reply.code(status === 'ok' ? 200 : 503);
  return { status, k: state.k, backend: state.backend, queued: state.queue.size };
};
