import type { Document } from '@cbtm/core';
import type { Ensemble, MixingRule } from '@cbtm/ensemble';
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
  /** Address to listen on. Use `0.0.0.0` to accept connections from other machines. @default '127.0.0.1' */
  readonly host?: string;
  /** Experts kept loaded at once (least recently used are freed). @default 4 */
  readonly maxLoadedExperts?: number;
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
  mixing: 'distance' as MixingRule,
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
  /** The loaded ensemble. Use the server's endpoints rather than calling it while requests run. */
  readonly ensemble: Ensemble;
  /** The tensor backend the experts run on. */
  readonly backend: string;
  /** Stops accepting connections, lets running requests finish (up to `shutdownGraceMs`), frees the experts. */
  close(): Promise<void>;
  /** Settles once the server has shut down (after `close()` or the `signal`). */
  readonly closed: Promise<void>;
}
