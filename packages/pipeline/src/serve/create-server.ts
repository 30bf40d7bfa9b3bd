import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { AbortError, CbtmError, InvalidArgumentError, throwIfAborted } from '@cbtm/core';
import type { Ensemble, GeneratedToken, LoadEnsembleOptions } from '@cbtm/ensemble';
import type { RouteOptions } from '@cbtm/route';
import type { z } from 'zod';
import { HttpError, readJsonBody, sendJson } from './http-json.js';
import {
  firstIssue,
  type GenerateRequest,
  generateRequestSchema,
  type RouteRequest,
  routeRequestSchema,
  type ScoreRequest,
  scoreRequestSchema,
} from './request-schemas.js';
import { SerialQueue } from './serial-queue.js';

/** Options of {@link createServer}. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one (read it back from `server.port`). @default 8080 */
  readonly port?: number;
  /** Address to listen on. Use `0.0.0.0` to accept connections from other machines. @default '127.0.0.1' */
  readonly host?: string;
  /** Experts kept loaded at once (least recently used are freed). @default 4 */
  readonly maxLoadedExperts?: number;
  /** Tensor backend for the experts. @default 'auto' */
  readonly backend?: LoadEnsembleOptions['backend'];
  /** Routing used when a request does not say (top-k experts and temperature T). @default all experts, T = 0.1 */
  readonly routing?: RouteOptions;
  /** Largest request body, in bytes; bigger ones get a 413. @default 1_048_576 */
  readonly maxBodyBytes?: number;
  /** Largest `maxTokens` a `/v1/generate` request may ask for. @default 1024 */
  readonly maxGenerateTokens?: number;
  /** On shutdown, how long running requests may finish before they are aborted. @default 10_000 */
  readonly shutdownGraceMs?: number;
  /** Aborting it shuts the server down gracefully (as `close()` does). */
  readonly signal?: AbortSignal;
  /** Told about every finished request (an access log). */
  readonly onRequest?: (info: ServedRequest) => void;
  /** Receives the backend line when the ensemble loads. @default console.error */
  readonly log?: (line: string) => void;
}

/**
 * Defaults of {@link ServeOptions}.
 *
 * @example
 * ```ts
 * await createServer('runs/demo', { ...defaultServeOptions, port: 0 });
 * ```
 */
export const defaultServeOptions = Object.freeze({
  port: 8080,
  host: '127.0.0.1',
  maxLoadedExperts: 4,
  maxBodyBytes: 1_048_576,
  maxGenerateTokens: 1024,
  shutdownGraceMs: 10_000,
});

/**
 * One finished request, as `onRequest` reports it.
 *
 * @example
 * ```ts
 * createServer(dir, { onRequest: (r) => console.error(`${r.method} ${r.path} ${r.status} ${r.ms.toFixed(0)} ms`) });
 * ```
 */
export interface ServedRequest {
  readonly method: string;
  readonly path: string;
  /** HTTP status sent (200 for a stream, even one that ended early). */
  readonly status: number;
  readonly ms: number;
  /** The work stopped early because the client disconnected or the server shut down. */
  readonly aborted: boolean;
  /** Tokens generated (for `/v1/generate`). */
  readonly tokens?: number;
}

/** A running inference server (see {@link createServer}). */
export interface InferenceServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly host: string;
  /** The port it listens on (the chosen one when `port: 0`). */
  readonly port: number;
  /** The run directory it serves (absolute). */
  readonly runDir: string;
  /** The loaded ensemble. Use the server's endpoints rather than calling it while requests run. */
  readonly ensemble: Ensemble;
  /** Stops accepting connections, lets running requests finish (up to `shutdownGraceMs`), frees the experts. */
  close(): Promise<void>;
  /** Settles once the server has shut down (after `close()` or the `signal`). */
  readonly closed: Promise<void>;
}

/** `error.code` values of errors thrown by the ensemble that are the client's fault. */
const CLIENT_ERROR_CODES = new Set(['E_INVALID_ARGUMENT']);

type Handler = (body: unknown, ctx: RequestContext) => Promise<void>;

interface RequestStats {
  status: number;
  aborted: boolean;
  tokens?: number;
}

interface RequestContext {
  /** Filled in by the handler for `onRequest`. */
  readonly stats: RequestStats;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Aborts when the client goes away or the server is forced down. */
  readonly signal: AbortSignal;
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const { field, message } = firstIssue(result.error);
    throw new HttpError(400, 'invalid_request', message, field || undefined);
  }
  return result.data;
}

const topKOf = (k: number | 'all' | undefined): number | undefined =>
  k === 'all' ? Number.POSITIVE_INFINITY : k;

function routeOptions(
  defaults: RouteOptions,
  req: { topK?: number | 'all'; temperature?: number },
): RouteOptions {
  const topK = req.topK !== undefined ? topKOf(req.topK) : defaults.topK;
  const temperature = req.temperature ?? defaults.temperature;
  return {
    ...(topK !== undefined ? { topK } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
  };
}

function wantsStream(req: IncomingMessage, body: GenerateRequest): boolean {
  return body.stream || /\btext\/event-stream\b/.test(req.headers.accept ?? '');
}

/** Writes one Server-Sent Event; resolves once the socket can take more. */
function writeEvent(res: ServerResponse, event: string, data: unknown): Promise<void> {
  const ok = res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  if (ok || res.destroyed) return Promise.resolve();
  return new Promise((done) => {
    const finish = () => {
      res.off('drain', finish);
      res.off('close', finish);
      done();
    };
    res.on('drain', finish);
    res.on('close', finish);
  });
}

/**
 * Serves a run's c-BTM ensemble over HTTP (node:http, JSON). It loads one `Ensemble` and runs
 * requests one at a time, in arrival order, so concurrent requests never interleave
 * TensorFlow.js work. Endpoints:
 *
 * - `GET /health` → `{ status, run, k, backend, queued }`
 * - `POST /v1/route` `{ text, topK?, temperature? }` → `{ experts, weights, distances }`
 * - `POST /v1/score` `{ text, topK?, temperature?, weightsMode?, maxTokens?, appendEos? }` →
 *   `{ tokens: [{ id, text, logProb, experts, weights }], nll, perplexity, expertsRun }`
 * - `POST /v1/generate` `{ prompt, maxTokens, temperature, topP, topK, seed, stop, routing?, stream? }`
 *   → `{ text, tokens: [{ token, id, experts, weights }], finishReason }`, or with `stream: true`
 *   (or `Accept: text/event-stream`) one `token` event per token and a final `done` event.
 *   A client that disconnects aborts its generation.
 *
 * Bad bodies get a 400 naming the field, unknown paths a 404, bodies over `maxBodyBytes` a 413.
 *
 * @example
 * ```ts
 * const server = await createServer('runs/demo', { port: 0 });
 * const res = await fetch(`${server.url}/v1/score`, { method: 'POST', body: JSON.stringify({ text: 'In the beginning' }) });
 * console.log((await res.json()).perplexity);
 * await server.close();
 * ```
 */
export async function createServer(
  runDir: string,
  options: ServeOptions = {},
): Promise<InferenceServer> {
  const o = { ...defaultServeOptions, ...options };
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65535)) {
    throw new InvalidArgumentError(`port must be an integer in 0..65535, got ${o.port}.`);
  }
  if (!(Number.isInteger(o.maxBodyBytes) && o.maxBodyBytes > 0)) {
    throw new InvalidArgumentError(
      `maxBodyBytes must be a positive integer, got ${o.maxBodyBytes}.`,
    );
  }
  if (!(Number.isInteger(o.maxGenerateTokens) && o.maxGenerateTokens > 0)) {
    throw new InvalidArgumentError(
      `maxGenerateTokens must be a positive integer, got ${o.maxGenerateTokens}.`,
    );
  }
  throwIfAborted(o.signal);
  const dir = resolve(runDir);
  const { Ensemble } = await import('@cbtm/ensemble');
  const ensemble = await Ensemble.load(dir, {
    maxLoadedExperts: o.maxLoadedExperts,
    ...(o.backend ? { backend: o.backend } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  const defaults: RouteOptions = o.routing ?? {};
  const queue = new SerialQueue();
  const generateSchema = generateRequestSchema(o.maxGenerateTokens);
  // Aborted when the shutdown grace period is over: every running request stops.
  const force = new AbortController();
  const active = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;

  const health: Handler = async (_body, { res, stats }) => {
    stats.status = closing ? 503 : 200;
    sendJson(res, stats.status, {
      status: closing ? 'shutting-down' : 'ok',
      run: dir,
      k: ensemble.k,
      backend: ensemble.backend,
      queued: queue.size,
    });
  };

  const route: Handler = async (body, { res, signal }) => {
    const r: RouteRequest = parse(routeRequestSchema, body);
    const result = await queue.run(async () => {
      throwIfAborted(signal);
      const vec = await ensemble.embedder.embedText(r.text);
      return ensemble.experts.routing!.route(vec, routeOptions(defaults, r));
    });
    sendJson(res, 200, {
      experts: result.experts,
      weights: Array.from(result.weights),
      distances: Array.from(result.distances),
    });
  };

  const score: Handler = async (body, { res, signal }) => {
    const r: ScoreRequest = parse(scoreRequestSchema, body);
    const s = await queue.run(() =>
      ensemble.scoreSequence(r.text, {
        ...routeOptions(defaults, r),
        ...(r.weightsMode ? { weightsMode: r.weightsMode } : {}),
        ...(r.maxTokens !== undefined ? { maxTokens: r.maxTokens } : {}),
        ...(r.appendEos !== undefined ? { appendEos: r.appendEos } : {}),
        signal,
      }),
    );
    sendJson(res, 200, {
      tokens: Array.from(s.tokens, (id, t) => ({
        id,
        text: ensemble.tokenizer.decode([id]),
        logProb: s.tokenLogProbs[t]!,
        experts: s.routes[t]!.experts,
        weights: Array.from(s.routes[t]!.weights),
      })),
      nll: s.nll,
      perplexity: s.perplexity,
      expertsRun: s.expertsRun,
    });
  };

  const generate: Handler = async (body, { req, res, signal, stats }) => {
    const r: GenerateRequest = parse(generateSchema, body);
    const stream = wantsStream(req, r);
    const routing = routeOptions(defaults, r.routing ?? {});
    const run = (onToken: (t: GeneratedToken) => Promise<void> | void) =>
      queue.run(async () => {
        let count = 0;
        stats.tokens = 0;
        for await (const t of ensemble.generate(r.prompt, {
          maxTokens: r.maxTokens,
          temperature: r.temperature,
          topP: r.topP,
          topK: r.topK,
          seed: r.seed,
          stop: r.stop,
          routing,
          signal,
        })) {
          count += 1;
          stats.tokens = count;
          await onToken(t);
          // Expert passes can resolve without leaving the microtask queue; yield to the event
          // loop so each event reaches the socket now and a disconnect is noticed.
          await yieldToEventLoop();
        }
        // Generation yields every token it samples unless end-of-document or a stop string ends it.
        return count === r.maxTokens ? ('length' as const) : ('stop' as const);
      });
    if (!stream) {
      const tokens: GeneratedToken[] = [];
      const finishReason = await run((t) => {
        tokens.push(t);
      });
      sendJson(res, 200, { text: tokens.map((t) => t.token).join(''), tokens, finishReason });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    let text = '';
    let count = 0;
    try {
      const finishReason = await run(async (t) => {
        text += t.token;
        count += 1;
        await writeEvent(res, 'token', t);
      });
      await writeEvent(res, 'done', { text, count, finishReason });
    } catch (err) {
      stats.aborted = err instanceof CbtmError && err.code === 'E_ABORTED';
      if (!res.destroyed) {
        const e = toHttpError(err, force.signal.aborted);
        await writeEvent(res, 'error', e.toBody().error);
      }
    }
    res.end();
  };

  const routes: Record<string, { method: 'GET' | 'POST'; handler: Handler }> = {
    '/health': { method: 'GET', handler: health },
    '/v1/route': { method: 'POST', handler: route },
    '/v1/score': { method: 'POST', handler: score },
    '/v1/generate': { method: 'POST', handler: generate },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const client = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) client.abort(new AbortError('The client disconnected.'));
    });
    const signal = AbortSignal.any([client.signal, force.signal]);
    const started = performance.now();
    const stats: RequestStats = { status: 200, aborted: false };
    let path = '';
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const endpoint = routes[path];
      if (!endpoint) {
        throw new HttpError(
          404,
          'not_found',
          `No endpoint ${path}. Try GET /health, POST /v1/route, POST /v1/score or POST /v1/generate.`,
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
      const body = endpoint.method === 'POST' ? await readJsonBody(req, o.maxBodyBytes) : undefined;
      await endpoint.handler(body, { req, res, signal, stats });
    } catch (err) {
      if (err instanceof CbtmError && err.code === 'E_ABORTED') stats.aborted = true;
      if (res.headersSent || res.destroyed) {
        if (!res.writableEnded) res.end();
      } else {
        const e = toHttpError(err, force.signal.aborted);
        stats.status = e.status;
        sendJson(res, e.status, e.toBody(), e.status === 413 ? { connection: 'close' } : {});
      }
    }
    o.onRequest?.({
      method: req.method ?? '',
      path,
      status: stats.status,
      ms: performance.now() - started,
      aborted: stats.aborted,
      ...(stats.tokens !== undefined ? { tokens: stats.tokens } : {}),
    });
  };

  const server: Server = createHttpServer((req, res) => {
    const p = handle(req, res).finally(() => active.delete(p));
    active.add(p);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port, o.host, () => {
      server.off('error', fail);
      ok();
    });
  }).catch(async (err: NodeJS.ErrnoException) => {
    await ensemble.dispose();
    throw new CbtmError(
      'E_INVALID_ARGUMENT',
      `Cannot listen on ${o.host}:${o.port}: ${err.message}.${err.code === 'EADDRINUSE' ? ' Pick another --port (0 picks a free one).' : ''}`,
      { cause: err },
    );
  });
  const address = server.address() as AddressInfo;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((ok) => {
    resolveClosed = ok;
  });

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      const grace = new Promise<void>((ok) => setTimeout(ok, o.shutdownGraceMs).unref());
      await Promise.race([Promise.allSettled([...active]), grace]);
      if (active.size > 0) {
        force.abort(new AbortError('The server is shutting down.'));
        await Promise.allSettled([...active]);
      }
      server.closeAllConnections();
      await stopped;
      await queue.run(() => ensemble.dispose());
      o.signal?.removeEventListener('abort', onAbort);
      resolveClosed();
    })();
    return closing;
  };
  const onAbort = () => void close();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) void close();

  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    host: address.address,
    port: address.port,
    runDir: dir,
    ensemble,
    close,
    closed,
  };
}

function toHttpError(err: unknown, forced: boolean): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof CbtmError && err.code === 'E_ABORTED') {
    return forced
      ? new HttpError(503, 'shutting_down', 'The server shut down before the request finished.')
      : new HttpError(499, 'cancelled', 'The request was cancelled.');
  }
  if (err instanceof CbtmError && CLIENT_ERROR_CODES.has(err.code)) {
    return new HttpError(400, 'invalid_request', err.message);
  }
  return new HttpError(500, 'internal', err instanceof Error ? err.message : String(err));
}
