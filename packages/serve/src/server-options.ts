import type { Document } from '@cbtm/core';
import type { MixingRule } from '@cbtm/ensemble';
import type { LoadRunOptions } from '@cbtm/ensemble/node';
import type { RouteOptions } from '@cbtm/route';

/**
 * Options of {@link createServer}.
 *
 * @example
 * ```ts
 * const server = await createServer('runs/demo', { port: 0, maxLoadedExperts: 2, routing: { topK: 2 } });
 * ```
 */
export interface ServeOptions {
  /** TCP port; 0 picks a free one (read it back from `server.port`). @default 8080 */
  readonly port?: number;
  /**
   * Address to listen on. The default accepts connections from this machine only; use `0.0.0.0`
   * to accept other machines (and set `apiKey`).
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * Requests to `/v1/*` must send `Authorization: Bearer <apiKey>`, or get a 401 (`/health`
   * stays open for probes). Compared in constant time. No key: no authentication.
   */
  readonly apiKey?: string;
  /**
   * Extra host names the `Host` header may carry. On a loopback `host` only `localhost`,
   * `127.0.0.1` and `::1` are accepted by default (a 403 otherwise, against DNS rebinding); on
   * any other `host` the header is checked only when this is given.
   */
  readonly allowedHosts?: readonly string[];
  /**
   * Origins a browser may call the server from (`'*'` for any); CORS headers are sent only to
   * them. Requests with any other `Origin` get a 403.
   * @default [] (no browser access)
   */
  readonly cors?: readonly string[];
  /** Write one line per finished request to `log` (see `formatAccessLog`). @default true */
  readonly accessLog?: boolean;
  /** Experts kept loaded at once (least recently used are freed). @default 4 */
  readonly maxLoadedExperts?: number;
  /**
   * Keep a key/value cache per expert while generating, so each token reads one new token
   * instead of the whole window. `false` recomputes the window at every token, as the server did
   * before the cache: the reference path, kept for comparison (the streams benchmark).
   * @default true
   */
  readonly kvCache?: boolean;
  /**
   * How each expert's window slides once a generation is longer than its context: N tokens at a
   * time, so the window is re-read once every N steps and the cache stays incremental in
   * between; each expert then sees at least contextLength − N + 1 tokens (as llama.cpp's context
   * shift does, with N = contextLength / 2). 1 is exact sliding: every step past the context
   * re-reads a whole window. An integer in [1, contextLength].
   * @default a quarter of the experts' context length (32 for context 128)
   */
  readonly slideStride?: number;
  /** Tensor backend for the experts. @default 'auto' */
  readonly backend?: LoadRunOptions['backend'];
  /** Routing used when a request does not say (top-k experts and temperature T). @default all experts, T = 0.1 */
  readonly routing?: RouteOptions;
  /**
   * How experts are weighted when a request does not say: c-BTM's centroid distances, or BTM's
   * cached or updating prior (see `MixingRule` in `@cbtm/ensemble`).
   * @default 'distance'
   */
  readonly mixing?: MixingRule;
  /**
   * The cached prior π per expert id, for `'cached-prior'` (and as the updating prior's start).
   * Give this or `priorDocuments`.
   */
  readonly prior?: readonly number[];
  /**
   * Held-out documents to estimate the cached prior from when the server starts
   * (`ensemble.estimatePrior`, the first `priorMaxDocuments`).
   */
  readonly priorDocuments?: Iterable<Document | string> | AsyncIterable<Document | string>;
  /** How many of `priorDocuments` are read. @default 16 */
  readonly priorMaxDocuments?: number;
  /** Largest request body, in bytes; bigger ones get a 413. @default 1_048_576 */
  readonly maxBodyBytes?: number;
  /** Largest `maxTokens` a `/v1/generate` request (or `max_tokens` a completion) may ask for. @default 1024 */
  readonly maxGenerateTokens?: number;
  /**
   * Most tokens one request may generate, all its choices together (a completion's prompts × `n`
   * × `max_tokens`); more is a 400 before any work starts.
   * @default 4096
   */
  readonly maxRequestTokens?: number;
  /**
   * Longest `text` of `/v1/route` and `/v1/score`, and longest prompt, in characters; longer is a
   * 400 naming the field. Bounds the work of one scoring request.
   * @default 16_384
   */
  readonly maxTextChars?: number;
  /**
   * Model worker threads. Each loads its own copy of the ensemble (memory × workers) and runs
   * `requestsPerWorker` requests at once; more workers are worth it only with a core (or device)
   * per worker to spare.
   * @default 1
   */
  readonly workers?: number;
  /**
   * Requests each model worker runs at once. Their generation steps that use the same expert run
   * as one batched step (`ExpertStepBatcher`), so concurrent completions share the work of each
   * expert instead of waiting for one another; other work (routing, scoring) interleaves between
   * steps. Each generation gives the tokens it gives alone, within float rounding of the
   * log-probabilities. 1 runs one request at a time.
   * @default 8
   */
  readonly requestsPerWorker?: number;
  /**
   * Requests that may wait for the model while every worker runs `requestsPerWorker` requests.
   * One more gets a 429 with a `Retry-After` header.
   * @default 32
   */
  readonly maxQueue?: number;
  /**
   * Longest a request to `/v1/*` may take, waiting in the queue included, in milliseconds; then
   * its work is aborted and it gets a 504 (or, on a stream already started, an error event).
   * 0: no limit.
   * @default 120_000
   */
  readonly requestTimeoutMs?: number;
  /** On shutdown, how long running requests may finish before they are aborted. @default 10_000 */
  readonly shutdownGraceMs?: number;
  /** Aborting it shuts the server down gracefully (as `close()` does). */
  readonly signal?: AbortSignal;
  /** Told about every finished request (an access log). */
  readonly onRequest?: (info: ServedRequest) => void;
  /**
   * Receives the backend line when the ensemble loads, the access log, and unexpected errors
   * (whose details never go into a response).
   * @default console.error
   */
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
  kvCache: true,
  cors: Object.freeze([]) as readonly string[],
  accessLog: true,
  mixing: 'distance' as MixingRule,
  maxBodyBytes: 1_048_576,
  maxGenerateTokens: 1024,
  maxRequestTokens: 4096,
  maxTextChars: 16_384,
  workers: 1,
  requestsPerWorker: 8,
  maxQueue: 32,
  requestTimeoutMs: 120_000,
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
  /** The work stopped early because the client disconnected, it timed out, or the server shut down. */
  readonly aborted: boolean;
  /** Tokens generated (for `/v1/generate`). */
  readonly tokens?: number;
}

/**
 * A running inference server (see {@link createServer}).
 *
 * @example
 * ```ts
 * const server = await createServer('runs/demo', { port: 0 });
 * console.log(`${server.url}: ${server.ensemble.k} experts on ${server.backend}`);
 * await server.close();
 * ```
 */
export interface InferenceServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly host: string;
  /** The port it listens on (the chosen one when `port: 0`). */
  readonly port: number;
  /** The run directory it serves (absolute). */
  readonly runDir: string;
  /** The model ids of `/v1/models` and `/v1/completions`: `cbtm`, and `dense` when the run has one. */
  readonly models: readonly string[];
  /**
   * The served ensemble, as seen from this thread: its expert count. The ensemble itself lives
   * in the model worker thread; use the server's endpoints to run it.
   */
  readonly ensemble: { readonly k: number };
  /** The tensor backend the experts run on. */
  readonly backend: string;
  /** Stops accepting connections, lets running requests finish (up to `shutdownGraceMs`), frees the experts. */
  close(): Promise<void>;
  /** Settles once the server has shut down (after `close()` or the `signal`). */
  readonly closed: Promise<void>;
}
