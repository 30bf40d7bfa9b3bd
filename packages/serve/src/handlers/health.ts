import { sendJson } from '../http-json.js';
import type { Handler } from './handler.js';

/** `GET /health` → `{ status, k, backend, queued }`; a 503 while shutting down. */
export const health: Handler = async (_body, { res, stats }, state) => {
  const closing = state.closing();
  stats.status = closing ? 503 : 200;
  sendJson(res, stats.status, {
    status: closing ? 'shutting-down' : 'ok',
    k: state.ensemble.k,
    backend: state.backend,
    queued: state.queue.size,
  });
};
