import type { IncomingMessage, ServerResponse } from 'node:http';
import { AbortError, CbtmError } from '@cbtm/core';
import { completions } from './handlers/completions.js';
import { generate } from './handlers/generate.js';
import type { Handler, RequestStats, ServerState } from './handlers/handler.js';
import { health } from './handlers/health.js';
import { listModels, retrieveModel } from './handlers/models.js';
import { route } from './handlers/route.js';
import { score } from './handlers/score.js';
import { HttpError, readJsonBody, sendJson } from './http-json.js';
import { type GuardPolicy, guardRequest, requireJsonBody } from './request-guard.js';
import type { ServedRequest } from './server-options.js';
import { toHttpError } from './to-http-error.js';

const ENDPOINTS: Readonly<Record<string, { method: 'GET' | 'POST'; handler: Handler }>> =
  Object.freeze({
    '/health': { method: 'GET', handler: health },
    '/v1/models': { method: 'GET', handler: listModels },
    '/v1/completions': { method: 'POST', handler: completions },
    '/v1/route': { method: 'POST', handler: route },
    '/v1/score': { method: 'POST', handler: score },
    '/v1/generate': { method: 'POST', handler: generate },
  });

const MODEL_ENDPOINT = Object.freeze({ method: 'GET' as const, handler: retrieveModel });

/** The endpoint for `path`, or the 404 / 405 / 503 a request to it gets. */
function endpointFor(req: IncomingMessage, res: ServerResponse, path: string, closing: boolean) {
  const endpoint = ENDPOINTS[path] ?? (path.startsWith('/v1/models/') ? MODEL_ENDPOINT : undefined);
  if (!endpoint) {
    throw new HttpError(
      404,
      'not_found',
      `No endpoint ${path}. Try GET /health, GET /v1/models, POST /v1/completions, POST /v1/route, POST /v1/score or POST /v1/generate.`,
    );
  }
  if (req.method !== endpoint.method && !(endpoint.method === 'GET' && req.method === 'HEAD')) {
    res.setHeader('allow', endpoint.method);
    throw new HttpError(
      405,
      'method_not_allowed',
      `${path} takes ${endpoint.method}, not ${req.method}.`,
    );
  }
  if (closing && path !== '/health') {
    throw new HttpError(
      503,
      'shutting_down',
      'The server is shutting down; retry on another instance.',
    );
  }
  return endpoint;
}

/** A signal that aborts when the client disconnects before its response is finished. */
function clientGone(res: ServerResponse): AbortSignal {
  const client = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) client.abort(new AbortError('The client disconnected.'));
  });
  return client.signal;
}

/**
 * Answers one request: checks its host, origin and API key, finds its endpoint, reads the JSON
 * body, runs the handler, turns a thrown error into a JSON error response, and reports the
 * request to `onRequest`.
 */
export async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  state: ServerState,
  options: {
    readonly maxBodyBytes: number;
    readonly policy: GuardPolicy;
    readonly onRequest?: (info: ServedRequest) => void;
  },
): Promise<void> {
  const signal = AbortSignal.any([clientGone(res), state.force]);
  const started = performance.now();
  const stats: RequestStats = { status: 200, aborted: false };
  let path = '';
  try {
    path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (guardRequest(req, res, path, options.policy)) {
      stats.status = 204;
    } else {
      const endpoint = endpointFor(req, res, path, state.closing());
      if (endpoint.method === 'POST') requireJsonBody(req);
      const body =
        endpoint.method === 'POST' ? await readJsonBody(req, options.maxBodyBytes) : undefined;
      await endpoint.handler(body, { req, res, signal, stats }, state);
    }
  } catch (err) {
    if (err instanceof CbtmError && err.code === 'E_ABORTED') stats.aborted = true;
    if (res.headersSent || res.destroyed) {
      if (!res.writableEnded) res.end();
    } else {
      const e = toHttpError(err, state.force.aborted, state.log);
      stats.status = e.status;
      sendJson(res, e.status, e.toBody(), e.status === 413 ? { connection: 'close' } : {});
    }
  }
  options.onRequest?.({
    method: req.method ?? '',
    path,
    status: stats.status,
    ms: performance.now() - started,
    aborted: stats.aborted,
    ...(stats.tokens !== undefined ? { tokens: stats.tokens } : {}),
  });
}
