import { resolve } from 'node:path';
import { type Document, throwIfAborted } from '@cbtm/core';
import { defaultEstimatePriorOptions } from '@cbtm/ensemble';
import type { RouteOptions } from '@cbtm/route';
import { formatAccessLog } from './access-log.js';
import { allowedHostNames, isLoopback } from './allowed-hosts.js';
import { apiKeyDigest } from './api-key.js';
import { buildApp } from './app.js';
import { checkServeOptions } from './check-serve-options.js';
import type { ServerState } from './handlers/handler.js';
import { listen } from './listen.js';
import {
  completionRequestSchema,
  generateRequestSchema,
  routeRequestSchema,
  scoreRequestSchema,
} from './request-schemas.js';
import {
  defaultServeOptions,
  type InferenceServer,
  type ServedRequest,
  type ServeOptions,
} from './server-options.js';
import { shutdown } from './shutdown.js';
import { WorkQueue } from './work-queue.js';
import { WorkerPool } from './worker-pool.js';

/**
 * Serves a run's c-BTM ensemble over HTTP (Fastify, JSON), OpenAI-compatible. The ensemble is
 * loaded once, in a model worker thread (or `workers` of them, each with its own copy), which starts
 * requests in arrival order and runs up to `requestsPerWorker` at once, batching their generation
 * steps per expert; the HTTP side stays on the main thread, so `/health` and every refusal answer
 * at once however long a generation runs. Tokens stream from the worker as they are sampled.
 * Endpoints:
 *
 * - `GET /v1/models`, `GET /v1/models/{id}`: OpenAI's model list: `cbtm` (the ensemble) and
 *   `dense` when the run has its dense baseline.
 * - `POST /v1/completions`: OpenAI's completions API (`prompt` string or array, `max_tokens`,
 *   `temperature`, `top_p`, `n`, `stop`, `seed`, `stream` as `data:` chunks ending in
 *   `data: [DONE]`, `logprobs`, `echo`, `usage`), so any OpenAI client can use the server.
 * - `GET /health` → `{ status, k, backend, queued }`
 * - `POST /v1/route` `{ text, topK?, temperature? }` → `{ experts, weights, distances }`
 * - `POST /v1/score` `{ text, topK?, temperature?, weightsMode?, mixing?, maxTokens?, appendEos? }` →
 *   `{ tokens: [{ id, text, logProb, experts, weights }], nll, perplexity, expertsRun }`
 * - `POST /v1/generate` `{ prompt, maxTokens, temperature, topP, topK, seed, stop, routing?, mixing?, stream? }`
 *   → `{ text, tokens: [{ token, id, experts, weights }], finishReason }`, or with `stream: true`
 *   (or `Accept: text/event-stream`) one `token` event per token and a final `done` event.
 *   A client that disconnects aborts its generation.
 *
 * Never stalled: at most `maxQueue` requests wait for a place in a worker (then a 429 with `Retry-After`);
 * a request that takes longer than `requestTimeoutMs` is aborted with a 504; a client that
 * disconnects frees the worker at its next token. Texts longer than `maxTextChars` and requests
 * for more than `maxRequestTokens` tokens are a 400 naming the field.
 *
 * `mixing` picks c-BTM's distance weights or BTM's cached or updating prior (`options.mixing` when
 * a request does not say); the cached prior is `options.prior`, or estimated at start from
 * `options.priorDocuments`.
 *
 * Security: it listens on loopback by default and then only answers loopback `Host` names (403);
 * with `apiKey`, `/v1/*` needs `Authorization: Bearer <key>` (401); POST bodies must be
 * `application/json` (415); browsers are refused (403) unless their origin is in `cors`. No
 * response shows a file path. One access-log line per request goes to `log`.
 *
 * Bad bodies get a 400 naming the field, unknown paths a 404, bodies over `maxBodyBytes` a 413;
 * every error is in OpenAI's shape, `{ error: { message, type, param, code } }`.
 *
 * @example
 * ```ts
 * const server = await createServer('runs/demo', { port: 0 });
 * const res = await fetch(`${server.url}/v1/score`, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ text: 'In the beginning' }),
 * });
 * console.log((await res.json()).perplexity);
 * await server.close();
 * ```
 */
export async function createServer(
  runDir: string,
  options: ServeOptions = {},
): Promise<InferenceServer> {
  const o = { ...defaultServeOptions, ...options };
  checkServeOptions(o);
  const log = o.log ?? ((line: string) => console.error(line));
  const policy = {
    hosts: allowedHostNames(o.host, o.allowedHosts),
    corsOrigins: o.cors,
    apiKey: o.apiKey !== undefined ? apiKeyDigest(o.apiKey) : undefined,
  };
  const onRequest = (info: ServedRequest) => {
    if (o.accessLog) log(formatAccessLog(info));
    o.onRequest?.(info);
  };
  throwIfAborted(o.signal);
  const dir = resolve(runDir);
  const init = {
    runDir: dir,
    maxLoadedExperts: o.maxLoadedExperts,
    kvCache: o.kvCache,
    ...(o.slideStride !== undefined ? { slideStride: o.slideStride } : {}),
    ...(o.backend ? { backend: o.backend } : {}),
    ...(o.prior ? { prior: o.prior } : {}),
    ...(o.priorDocuments !== undefined
      ? {
          priorDocuments: await firstDocuments(o.priorDocuments, o.priorMaxDocuments),
          ...(o.priorMaxDocuments !== undefined ? { priorMaxDocuments: o.priorMaxDocuments } : {}),
        }
      : {}),
  };
  const workers = await WorkerPool.start(init, {
    workers: o.workers,
    concurrency: o.requestsPerWorker,
    log,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const { k, backend, models, hasPrior } = workers.info;
  // Slot s runs on worker s mod workers, so the first requests spread over the workers.
  const queue = new WorkQueue({
    slots: workers.size * o.requestsPerWorker,
    maxWaiting: o.maxQueue,
  });
  // Aborted when the shutdown grace period is over: every running request stops.
  const force = new AbortController();
  let closing: Promise<void> | undefined;
  const state: ServerState = {
    dir,
    workers,
    k,
    backend,
    queue,
    defaults: (o.routing ?? {}) satisfies RouteOptions,
    mixing: o.mixing,
    hasPrior,
    models,
    created: Math.floor(Date.now() / 1000),
    maxRequestTokens: o.maxRequestTokens,
    routeSchema: routeRequestSchema(o.maxTextChars),
    scoreSchema: scoreRequestSchema(o.maxTextChars),
    generateSchema: generateRequestSchema(o.maxGenerateTokens, o.maxTextChars),
    completionSchema: completionRequestSchema(o.maxGenerateTokens, o.maxTextChars),
    force: force.signal,
    log,
    closing: () => closing !== undefined,
  };

  const { app, active } = buildApp(state, {
    maxBodyBytes: o.maxBodyBytes,
    requestTimeoutMs: o.requestTimeoutMs,
    policy,
    onRequest,
  });
  const disposeAll = () => workers.dispose();
  const address = await listen(app, o.port, o.host).catch(async (err: unknown) => {
    await disposeAll();
    throw err;
  });
  if (!isLoopback(o.host) && o.apiKey === undefined) {
    log(
      `Warning: listening on ${o.host} without an API key; anyone who can reach this port can use the server. Set --api-key (or CBTM_API_KEY).`,
    );
  }
  let resolveClosed!: () => void;
  const closed = new Promise<void>((ok) => {
    resolveClosed = ok;
  });
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await shutdown(app, active, force, o.shutdownGraceMs);
      // Abandoned work may still be stopping in the worker; it must end before the models are
      // freed (and the queue's depth limit must not refuse the shutdown).
      await queue.idle();
      await disposeAll();
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
    models,
    ensemble: { k },
    backend,
    close,
    closed,
  };
}

/**
 * The first `max` non-empty documents of `docs`, to send to the model worker (which estimates the
 * prior from them, as `Ensemble.estimatePrior` would from `docs`).
 */
async function firstDocuments(
  docs: Iterable<Document | string> | AsyncIterable<Document | string>,
  max: number = defaultEstimatePriorOptions.maxDocuments,
): Promise<(Document | string)[]> {
  const out: (Document | string)[] = [];
  for await (const d of docs) {
    if (out.length >= max) break;
    if ((typeof d === 'string' ? d : d.text).length > 0) out.push(d);
  }
  return out;
}
