import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ensemble, MixingRule } from '@cbtm/ensemble';
import type { RouteOptions } from '@cbtm/route';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { HttpError } from '../http-error.js';
import {
  type completionRequestSchema,
  firstIssue,
  type generateRequestSchema,
} from '../request-schemas.js';
import type { SerialQueue } from '../serial-queue.js';

/** What every handler shares: the loaded ensemble and the queue its work goes through. */
export interface ServerState {
  /** The run directory, for the server's own use: no response may show it. */
  readonly dir: string;
  /** The c-BTM ensemble (of `/v1/route`, `/v1/score`, `/v1/generate`). */
  readonly ensemble: Ensemble;
  /** The models of `/v1/models` and `/v1/completions`, by id: `cbtm`, and `dense` when the run has it. */
  readonly models: ReadonlyMap<string, Ensemble>;
  /** When the server started, in seconds since 1970 (the models' `created`). */
  readonly created: number;
  /** The tensor backend the experts run on. */
  readonly backend: string;
  readonly queue: SerialQueue;
  /** Routing used when a request does not say. */
  readonly defaults: RouteOptions;
  /** Mixing rule used when a request does not say. */
  readonly mixing: MixingRule;
  /** The cached prior over experts, when the server has one. */
  readonly prior?: readonly number[];
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
  /** Aborts when the client goes away or the server is forced down. */
  readonly signal: AbortSignal;
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

/** The request's mixing rule (or the server's), with the server's prior when it has one. */
export function mixingOptions(
  state: Pick<ServerState, 'mixing' | 'prior'>,
  req: { mixing?: MixingRule | undefined },
): { mixing: MixingRule; prior?: readonly number[] } {
  const mixing = req.mixing ?? state.mixing;
  if (mixing === 'cached-prior' && state.prior === undefined) {
    throw new HttpError(
      400,
      'invalid_request',
      "This server has no cached prior; start it with a prior (cbtm serve --prior-corpus) to use mixing 'cached-prior'.",
      'mixing',
    );
  }
  return { mixing, ...(state.prior ? { prior: state.prior } : {}) };
}
