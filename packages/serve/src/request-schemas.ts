import { z } from 'zod';

const routeTopK = z.union([z.number().int().min(1), z.literal('all')], {
  error: 'expected an integer ≥ 1 or "all"',
});
const routeTemperature = z.number().positive().finite();
const mixing = z.enum(['distance', 'cached-prior', 'updating-prior']);

/** A text of at most `maxChars` characters, with an error that names the server's limit. */
const boundedText = (maxChars: number, min = 1) =>
  z
    .string()
    .min(min)
    .max(maxChars, {
      error: `at most ${maxChars} characters on this server (maxTextChars, --max-text-chars)`,
    });

/** `POST /v1/route`: the experts (and weights) for a text. */
export function routeRequestSchema(maxTextChars: number) {
  return z.strictObject({
    text: boundedText(maxTextChars),
    topK: routeTopK.optional(),
    temperature: routeTemperature.optional(),
  });
}

/** `POST /v1/score`: per-token log-probabilities of a text under the mixture. */
export const scoreRequestSchema = (maxTextChars: number) =>
  z.strictObject({
    text: boundedText(maxTextChars),
    topK: routeTopK.optional(),
    temperature: routeTemperature.optional(),
    weightsMode: z.enum(['per-token', 'per-sequence']).optional(),
    /** How experts are weighted (c-BTM distance, BTM cached or updating prior). */
    mixing: mixing.optional(),
    /** Score at most this many tokens. */
    maxTokens: z.number().int().min(1).optional(),
    /** Also score the end-of-document token after the text. */
    appendEos: z.boolean().optional(),
  });

/**
 * `POST /v1/generate`. `temperature`, `topP` and `topK` are sampling options (as in
 * `Ensemble.generate`); the routing has its own under `routing`.
 */
export function generateRequestSchema(maxTokensLimit: number, maxTextChars: number) {
  return z.strictObject({
    prompt: boundedText(maxTextChars, 0),
    maxTokens: z.number().int().min(0).max(maxTokensLimit).default(64),
    temperature: z.number().min(0).finite().default(1),
    topP: z.number().gt(0).max(1).default(1),
    topK: z.number().int().min(0).default(0),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    stop: z
      .union([z.string().min(1), z.array(z.string().min(1)).max(16)])
      .transform((s) => (typeof s === 'string' ? [s] : s))
      .default([]),
    stream: z.boolean().default(false),
    mixing: mixing.optional(),
    routing: z
      .strictObject({ topK: routeTopK.optional(), temperature: routeTemperature.optional() })
      .optional(),
  });
}

/** `schema`, where `null` or a missing field means `fallback` (OpenAI clients send `null`). */
const or = <S extends z.ZodType>(schema: S, fallback: z.output<S>) =>
  schema.nullish().transform((v) => (v ?? fallback) as z.output<S>);

/** Unsupported OpenAI options are accepted only at their neutral value. */
const neutral = <T extends number>(value: T, what: string) =>
  z.literal(value, { error: `${what}; send ${value} or leave it out` }).nullish();

/**
 * `POST /v1/completions`, OpenAI's legacy completions request. `top_k`, `routing` and `mixing`
 * are cbtm extensions (send them with the client's `extra_body`).
 */
export function completionRequestSchema(maxTokensLimit: number, maxTextChars: number) {
  return z.strictObject({
    model: z.string().min(1),
    prompt: z.union(
      [boundedText(maxTextChars, 0), z.array(boundedText(maxTextChars, 0)).min(1).max(16)],
      {
        error: `expected a string or an array of 1 to 16 strings of at most ${maxTextChars} characters each (maxTextChars, --max-text-chars; token arrays are not supported)`,
      },
    ),
    max_tokens: or(z.number().int().min(0).max(maxTokensLimit), 16),
    temperature: or(z.number().min(0).max(2), 1),
    top_p: or(z.number().gt(0).max(1), 1),
    n: or(z.number().int().min(1).max(16), 1),
    stop: or(
      z
        .union([z.string().min(1), z.array(z.string().min(1)).max(16)])
        .transform((s) => (typeof s === 'string' ? [s] : s)),
      [],
    ),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
    stream: or(z.boolean(), false),
    stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
    logprobs: z.number().int().min(0).max(5).nullish(),
    echo: or(z.boolean(), false),
    best_of: neutral(1, 'cbtm has no best_of'),
    frequency_penalty: neutral(0, 'cbtm has no frequency_penalty'),
    presence_penalty: neutral(0, 'cbtm has no presence_penalty'),
    user: z.string().optional(),
    top_k: z.number().int().min(0).optional(),
    mixing: mixing.optional(),
    routing: z
      .strictObject({ topK: routeTopK.optional(), temperature: routeTemperature.optional() })
      .optional(),
  });
}

/**
 * A validated `/v1/route` body.
 *
 * @example
 * ```ts
 * const body: RouteRequest = { text: 'In the beginning', topK: 2, temperature: 0.1 };
 * ```
 */
export type RouteRequest = z.output<ReturnType<typeof routeRequestSchema>>;
/**
 * A validated `/v1/score` body.
 *
 * @example
 * ```ts
 * const body: ScoreRequest = { text: 'In the beginning', topK: 'all', weightsMode: 'per-token' };
 * ```
 */
export type ScoreRequest = z.output<ReturnType<typeof scoreRequestSchema>>;
/**
 * A validated `/v1/generate` body (defaults filled in).
 *
 * @example
 * ```ts
 * const body: Partial<GenerateRequest> = { prompt: 'Once', maxTokens: 32, seed: 7, stop: ['\n'], stream: true };
 * ```
 */
export type GenerateRequest = z.output<ReturnType<typeof generateRequestSchema>>;

/**
 * A validated `/v1/completions` body (defaults filled in).
 *
 * @example
 * ```ts
 * const body: Partial<CompletionRequest> = { model: 'cbtm', prompt: 'Once', max_tokens: 32, seed: 7, n: 2 };
 * ```
 */
export type CompletionRequest = z.output<ReturnType<typeof completionRequestSchema>>;

/** The first problem of a failed parse: the field (dotted path) and what is wrong with it. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const field = [...issue.path, key].join('.');
    return { field, message: `unknown field "${field}"` };
  }
  const field = issue.path.join('.');
  return field === ''
    ? { field: '', message: `body: ${issue.message}` }
    : { field, message: `field "${field}": ${issue.message}` };
}
