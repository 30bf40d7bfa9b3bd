import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MixingRule } from '@cbtm/ensemble';
import type { RouteOptions } from '@cbtm/route';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { HttpError } from '../http-error.js';
import {
  type completionRequestSchema,
  firstIssue,
  type generateRequestSchema,
  type routeRequestSchema,
  type scoreRequestSchema,
} from '../request-schemas.js';
import type { WorkQueue } from '../work-queue.js';
import type { WorkerPool } from '../worker-pool.js';
import type { Task, TaskEvent } from '../worker-protocol.js';

/** What every handler shares: the model worker and the queue its work goes through. */
export interface ServerState {
  /** The run directory, for the server's own use: no response may show it. */
  readonly dir: string;
  /**
   * The model worker threads, each with its own copy of the ensemble (and dense baseline); queue
   * slot s runs on worker s mod workers.size, restarted when it crashes.
   */
  readonly workers: WorkerPool;
  /** Experts of the c-BTM ensemble. */
  readonly k: number;
  /** The models of `/v1/models` and `/v1/completions`: `cbtm`, and `dense` when the run has it. */
  readonly models: readonly string[];
  /** When the server started, in seconds since 1970 (the models' `created`). */
  readonly created: number;
  /** The tensor backend the experts run on. */
  readonly backend: string;
  readonly queue: WorkQueue;
  /** Routing used when a request does not say. */
  readonly defaults: RouteOptions;
  /** Mixing rule used when a request does not say. */
  readonly mixing: MixingRule;
  /** Whether the worker holds a cached prior over experts. */
  readonly hasPrior: boolean;
  /** Most tokens one request may generate, all its choices together. */
  readonly maxRequestTokens: number;
  /** The `/v1/route` and `/v1/score` body schemas, bounded by `maxTextChars`. */
  readonly routeSchema: ReturnType<typeof routeRequestSchema>;
  readonly scoreSchema: ReturnType<typeof scoreRequestSchema>;
  /** The `/v1/generate` body schema, bounded by `maxGenerateTokens`. */
  readonly generateSchema: ReturnType<typeof generateRequestSchema>;
  /** The `/v1/completions` body schema, bounded by `maxGenerateTokens`. */
  readonly completionSchema: ReturnType<typeof completionRequestSchema>;
  /** Aborted once the shutdown grace period is over. */
  readonly force: AbortSignal;
  /** Where unexpected errors are logged. */
  readonly log: (line: string) => void;
  /** True once `close()` began. */
  closing(): boolean;
}

/** Filled in by the handler for `onRequest`. */
export interface RequestStats {
  status: number;
  aborted: boolean;
  tokens?: number;
}

/** One request, as a handler sees it. */
export interface RequestContext {
  readonly stats: RequestStats;
  readonly req: IncomingMessage;
  /** The raw response, for streams (after `reply.hijack()`). */
  readonly res: ServerResponse;
  readonly reply: FastifyReply;
  /** Path parameters (`id` of `/v1/models/:id`). */
  readonly params: Readonly<Record<string, string>>;
  /** Aborts when the client goes away, the request times out or the server is forced down. */
  readonly signal: AbortSignal;
}

/**
 * Runs `task` in a model worker with a free place once the requests queued before it have started; `onEvent` gets
 * its events (tokens) as the worker produces them. Rejects at once with the reason of
 * `ctx.signal` when it aborts (the worker then stops at its next check), and with a
 * `QueueFullError` when the queue is full.
 */
export function work<R>(
  state: ServerState,
  ctx: Pick<RequestContext, 'signal'>,
  task: Task,
  onEvent?: (e: TaskEvent) => void,
): Promise<R> {
  return state.queue.run(
    async (signal, slot) => (await state.workers.thread(slot)).run<R>(task, signal, onEvent),
    ctx.signal,
  );
}

/**
 * Answers one endpoint's requests, given the body its schema validated: returns the JSON answer,
 * or streams it itself after `ctx.reply.hijack()` and returns nothing.
 */
export type Handler = (body: unknown, ctx: RequestContext, state: ServerState) => Promise<unknown>;

/** The body checked against `schema`, or a 400 naming the first bad field. */
export function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const { field, message } = firstIssue(result.error);
    throw new HttpError(400, 'invalid_request', message, field || undefined);
  }
  return result.data;
}

const topKOf = (k: number | 'all' | undefined): number | undefined =>
  k === 'all' ? Number.POSITIVE_INFINITY : k;

/** The request's routing, falling back to the server's defaults field by field. */
export function routeOptions(
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

/** The request's mixing rule (or the server's); a 400 when it needs a prior the server lacks. */
export function mixingOf(
  state: Pick<ServerState, 'mixing' | 'hasPrior'>,
  req: { mixing?: MixingRule | undefined },
): MixingRule {
  const mixing = req.mixing ?? state.mixing;
  if (mixing === 'cached-prior' && !state.hasPrior) {
    throw new HttpError(
      400,
      'invalid_request',
      "This server has no cached prior; start it with a prior (cbtm serve --prior-corpus) to use mixing 'cached-prior'.",
      'mixing',
    );
  }
  return mixing;
}

/** A 400 when a request would generate more than `maxRequestTokens` tokens. */
export function checkRequestTokens(
  state: Pick<ServerState, 'maxRequestTokens'>,
  total: number,
  how: string,
  field: string,
): void {
  if (total > state.maxRequestTokens) {
    throw new HttpError(
      400,
      'invalid_request',
      `This request could generate ${total} tokens (${how}); the limit is ${state.maxRequestTokens} per request (maxRequestTokens, --max-request-tokens). Ask for fewer tokens or choices.`,
      field,
    );
  }
}
