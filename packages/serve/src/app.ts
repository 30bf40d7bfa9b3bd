import type { ServerResponse } from 'node:http';
import { AbortError, CbtmError } from '@cbtm/core';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { completions } from './handlers/completions.js';
import { generate } from './handlers/generate.js';
import { type Handler, parse, type RequestStats, type ServerState } from './handlers/handler.js';
import { health } from './handlers/health.js';
import { listModels, retrieveModel } from './handlers/models.js';
import { route } from './handlers/route.js';
import { score } from './handlers/score.js';
import { HttpError } from './http-error.js';
import { type GuardPolicy, guardRequest, requireJsonBody } from './request-guard.js';
import type { ServedRequest } from './server-options.js';
import { toHttpError } from './to-http-error.js';

/** What the app keeps per request, for the handler and the access log. */
interface RequestState {
  readonly started: number;
  readonly stats: RequestStats;
  readonly signal: AbortSignal;
  /** Settles when the route's handler has finished (streams included). */
  running?: Promise<unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    cbtm: RequestState;
  }
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
 * A signal that aborts with a 504 when the request has taken `ms` (0: never); the timer stops
 * when the response is done.
 */
function deadline(res: ServerResponse, ms: number): AbortSignal | undefined {
  if (ms <= 0) return undefined;
  const timer = new AbortController();
  const id = setTimeout(
    () =>
      timer.abort(
        new HttpError(
          504,
          'timeout',
          `The request took longer than ${ms} ms (requestTimeoutMs, --request-timeout) and was stopped. Ask for fewer tokens, or retry when the server is less busy.`,
        ),
      ),
    ms,
  );
  id.unref();
  res.once('close', () => clearTimeout(id));
  return timer.signal;
}

/** Fastify's own errors, as the server's HTTP errors. */
function fromFastify(err: {
  code?: string;
  message: string;
  statusCode?: number;
}): HttpError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(
        413,
        'payload_too_large',
        `${err.message.replace(/\.?$/, '.')} The limit is maxBodyBytes (--max-body-bytes).`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'unsupported_media_type', err.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'invalid_json', err.message);
    default:
      return undefined;
  }
}

/**
 * The server's HTTP layer on Fastify: the routes, bodies validated by the zod request schemas,
 * the request guard (host, origin, API key, JSON content type) as an `onRequest` hook, OpenAI's
 * error shape for every error, and one `onRequest` report per finished request.
 */
export function buildApp(
  state: ServerState,
  options: {
    readonly maxBodyBytes: number;
    /** Longest a request may take (0: no limit). */
    readonly requestTimeoutMs: number;
    readonly policy: GuardPolicy;
    readonly onRequest: (info: ServedRequest) => void;
  },
): { app: FastifyInstance; active: Set<Promise<unknown>> } {
  const app = Fastify({
    bodyLimit: options.maxBodyBytes,
    logger: false,
    // The server answers its own 503s while it shuts down (and keeps /health up).
    return503OnClosing: false,
    forceCloseConnections: false,
  });
  const active = new Set<Promise<unknown>>();

  app.setValidatorCompiler(({ schema }) => (data: unknown) => {
    try {
      return { value: parse(schema as unknown as z.ZodType, data) };
    } catch (err) {
      return { error: err as Error };
    }
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    if ((text as string).trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text as string));
    } catch (err) {
      done(
        new HttpError(
          400,
          'invalid_json',
          `The request body is not valid JSON: ${(err as Error).message}`,
        ),
        undefined,
      );
    }
  });

  app.decorateRequest('cbtm', null as unknown as RequestState);
  app.addHook('onRequest', async (request, reply): Promise<unknown> => {
    const stats: RequestStats = { status: 200, aborted: false };
    const timeout = deadline(reply.raw, options.requestTimeoutMs);
    request.cbtm = {
      started: performance.now(),
      stats,
      signal: AbortSignal.any([clientGone(reply.raw), state.force, ...(timeout ? [timeout] : [])]),
    };
    reply.raw.once('close', () => {
      const { started, running } = request.cbtm;
      void Promise.resolve(running)
        .catch(() => undefined)
        .then(() =>
          options.onRequest({
            method: request.method,
            path: request.url.split('?')[0] ?? '',
            status: reply.raw.statusCode,
            ms: performance.now() - started,
            aborted: stats.aborted,
            ...(stats.tokens !== undefined ? { tokens: stats.tokens } : {}),
          }),
        );
    });
    reply.header('cache-control', 'no-store');
    const path = request.url.split('?')[0] ?? '';
    if (guardRequest(request.raw, reply.raw, path, options.policy)) {
      return reply.code(204).send();
    }
    if (request.is404) return undefined;
    if (state.closing() && path !== '/health') {
      throw new HttpError(
        503,
        'shutting_down',
        'The server is shutting down; retry on another instance.',
      );
    }
    if (request.method === 'POST') requireJsonBody(request.raw);
    return undefined;
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (
      (err instanceof CbtmError && err.code === 'E_ABORTED') ||
      request.cbtm?.signal.aborted === true
    )
      request.cbtm.stats.aborted = true;
    const e =
      err instanceof HttpError
        ? err
        : (fromFastify(err) ?? toHttpError(err, state.force.aborted, state.log));
    if (e.status === 413) reply.header('connection', 'close');
    if (e.retryAfter !== undefined) reply.header('retry-after', String(e.retryAfter));
    return reply.code(e.status).send(e.toBody());
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const methods = ENDPOINTS.filter((e) => e.url === path).map((e) => e.method);
    if (methods.length > 0) {
      reply.header('allow', methods.join(', '));
      throw new HttpError(
        405,
        'method_not_allowed',
        `${path} takes ${methods.join(' or ')}, not ${request.method}.`,
      );
    }
    throw new HttpError(
      404,
      'not_found',
      `No endpoint ${path}. Try GET /health, GET /v1/models, POST /v1/completions, POST /v1/route, POST /v1/score or POST /v1/generate.`,
    );
  });

  const schemas: Record<string, z.ZodType | undefined> = {
    '/v1/route': state.routeSchema,
    '/v1/score': state.scoreSchema,
    '/v1/generate': state.generateSchema,
    '/v1/completions': state.completionSchema,
  };
  for (const { method, url, handler } of ENDPOINTS) {
    const schema = schemas[url];
    app.route({
      method,
      url,
      ...(schema ? { schema: { body: schema } } : {}),
      handler: (request, reply) => run(handler, request, reply),
    });
  }

  function run(handler: Handler, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const ctx = {
      req: request.raw,
      res: reply.raw,
      reply,
      params: request.params as Record<string, string>,
      signal: request.cbtm.signal,
      stats: request.cbtm.stats,
    };
    const p = handler(request.body, ctx, state);
    request.cbtm.running = p;
    active.add(p);
    const untrack = () => active.delete(p);
    p.then(untrack, untrack);
    return p;
  }

  return { app, active };
}

const ENDPOINTS: readonly { method: 'GET' | 'POST'; url: string; handler: Handler }[] = [
  { method: 'GET', url: '/health', handler: health },
  { method: 'GET', url: '/v1/models', handler: listModels },
  { method: 'GET', url: '/v1/models/:id', handler: retrieveModel },
  { method: 'POST', url: '/v1/completions', handler: completions },
  { method: 'POST', url: '/v1/route', handler: route },
  { method: 'POST', url: '/v1/score', handler: score },
  { method: 'POST', url: '/v1/generate', handler: generate },
];
