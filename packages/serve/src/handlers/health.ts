import type { Handler } from './handler.js';

/** `GET /health` → `{ status, k, backend, queued }`; a 503 while shutting down. */
export const health: Handler = async (_body, { reply }, state) => {
  const closing = state.closing();
  reply.code(closing ? 503 : 200);
  return {
    status: closing ? 'shutting-down' : 'ok',
    k: state.ensemble.k,
    backend: state.backend,
    queued: state.queue.size,
  };
};
