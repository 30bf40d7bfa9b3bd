import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import { CompletedWords, type ContextState, createContextState } from './context-state.js';
import type { ContextEmbedder, EnsembleTokenizer, ExpertModel } from './types.js';

/**
 * A text ready to score: `input[t]` is the context token at position t and `targets[t]` the
 * token predicted there. The input starts with the end-of-document token (the context every
 * training document starts from), so the first real token is scored too.
 *
 * @example
 * ```ts
 * const seq = prepareSequence(tokenizer, 'Hello world', { appendEos: true });
 * // input = [eos, h, w], targets = [h, w, eos]
 * ```
 */
export interface PreparedSequence {
  /** Context tokens: end-of-document, then the targets shifted right by one. */
  readonly input: Int32Array;
  /** The tokens scored, one per position. */
  readonly targets: Int32Array;
}

/**
 * Options of {@link prepareSequence}.
 *
 * @example
 * ```ts
 * prepareSequence(tokenizer, text, { appendEos: false, maxTokens: 512 });
 * ```
 */
export interface PrepareSequenceOptions {
  /**
   * Score the end-of-document token after the text too, as the experts were trained to
   * predict it.
   * @default true
   */
  readonly appendEos?: boolean;
  /**
   * Keep at most this many scored tokens (the rest of a long document is dropped).
   * @default Infinity
   */
  readonly maxTokens?: number;
}

/**
 * Tokenizes `text` into a {@link PreparedSequence}.
 *
 * @example
 * ```ts
 * const { input, targets } = prepareSequence(tokenizer, 'Hello world');
 * ```
 */
export function prepareSequence(
  tokenizer: EnsembleTokenizer,
  text: string,
  options: PrepareSequenceOptions = {},
): PreparedSequence {
  const ids = tokenizer.encode(text);
  if (options.appendEos ?? true) ids.push(tokenizer.eosId);
  const max = options.maxTokens ?? Number.POSITIVE_INFINITY;
  if (!(max >= 1)) throw new InvalidArgumentError(`maxTokens must be ≥ 1, got ${max}.`);
  if (ids.length > max) ids.length = max;
  const targets = Int32Array.from(ids);
  const input = new Int32Array(targets.length);
  input[0] = tokenizer.eosId;
  input.set(targets.subarray(0, targets.length - 1), 1);
  return { input, targets };
}

/**
 * Context embeddings for every position of `targets`, per token at word granularity: the
 * vector for position t embeds the complete words of targets[0..t) (see
 * {@link CompletedWords}), so it changes only when a word completes.
 *
 * @returns the distinct vectors and, per position, the index of its vector.
 *
 * @example
 * ```ts
 * const { vectors, index } = await perTokenContexts(tokenizer, embedder, seq.targets);
 * router.route(vectors[index[t]]);
 * ```
 */
export async function perTokenContexts(
  tokenizer: EnsembleTokenizer,
  embedder: ContextEmbedder,
  targets: ArrayLike<number>,
  reembedStride = 8,
): Promise<{ vectors: Float32Array[]; index: Uint32Array }> {
  const words = new CompletedWords(tokenizer);
  const ctx: ContextState = createContextState(embedder, reembedStride);
  const vectors: Float32Array[] = [];
  const index = new Uint32Array(targets.length);
  for (let t = 0; t < targets.length; t++) {
    if (ctx.dirty || vectors.length === 0) vectors.push(await ctx.vector());
    index[t] = vectors.length - 1;
    ctx.push(words.append(targets[t]!));
  }
  return { vectors, index };
}

/**
 * The single context embedding of per-sequence routing: the text of the first
 * `prefixTokens` targets (special tokens dropped), embedded once.
 *
 * @example
 * ```ts
 * const vec = await sequenceContext(tokenizer, embedder, seq.targets, 32);
 * ```
 */
export async function sequenceContext(
  tokenizer: EnsembleTokenizer,
  embedder: ContextEmbedder,
  targets: ArrayLike<number>,
  prefixTokens: number,
): Promise<Float32Array> {
  const ids: number[] = [];
  for (let t = 0; t < Math.min(prefixTokens, targets.length); t++) {
    if (!tokenizer.isSpecial(targets[t]!)) ids.push(targets[t]!);
  }
  const ctx = createContextState(embedder, 1);
  if (ids.length > 0) ctx.push(tokenizer.decode(ids));
  return ctx.vector();
}

/**
 * Runs one expert over a whole sequence (one causal pass gives every position) and keeps
 * the log-probability of each target token.
 *
 * @example
 * ```ts
 * const lp = await expertTargetLogProbs(model, seq); // lp[t] = log p(targets[t] | input[..t])
 * ```
 */
export async function expertTargetLogProbs(
  model: ExpertModel,
  sequence: PreparedSequence,
): Promise<Float64Array> {
  const V = model.config.vocabSize;
  const rows = await model.logProbs(sequence.input);
  const n = sequence.targets.length;
  if (rows.length !== n * V) {
    throw new CbtmError(
      'E_MODEL',
      `An expert returned ${rows.length} log-probabilities for ${n} positions × ${V} tokens.`,
    );
  }
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) out[t] = rows[t * V + sequence.targets[t]!]!;
  return out;
}
