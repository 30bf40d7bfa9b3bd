import {
  assertUnreachable,
  CbtmError,
  type Document,
  deriveSeed,
  InvalidArgumentError,
  Rng,
  throwIfAborted,
} from '@cbtm/core';
import type { RouteOptions, RouteResult } from '@cbtm/route';
import { CompletedWords, createContextState } from './context-state.js';
import { ExpertDecoders } from './expert-decoders.js';
import type { ExpertPool } from './expert-pool.js';
import { ExpertSubsetRouting } from './expert-set.js';
import type { ExpertStepBatcher } from './expert-step-batcher.js';
import { mixDistributions, mixSequence, topLogProbs } from './mixture.js';
import {
  type MixingRule,
  posteriorWeights,
  topWeightsRoute,
  updatingPriorRoutes,
} from './posterior.js';
import { type Routing, routeOrPrior, UniformRouting } from './routing.js';
import { resolveSamplingOptions, type SamplingOptions, sampleToken } from './sampling.js';
import {
  expertTargetLogProbs,
  type PreparedSequence,
  perTokenContexts,
  prepareSequence,
  sequenceContext,
} from './sequence.js';
import { StopSequenceBuffer } from './stop-sequences.js';
import type { ContextEmbedder, EnsembleTokenizer, ExpertModel } from './types.js';

/**
 * How mixture weights follow the text: re-routed at every position (`'per-token'`), or routed
 * once on the text's first tokens (`'per-sequence'`).
 *
 * @example
 * ```ts
 * const mode: WeightsMode = 'per-sequence';
 * await ensemble.scoreSequence(text, { weightsMode: mode, topK: 1 });
 * ```
 */
export type WeightsMode = 'per-token' | 'per-sequence';

/**
 * Options of {@link Ensemble.scoreSequence}.
 *
 * @example
 * ```ts
 * await ensemble.scoreSequence(text, { topK: 2, weightsMode: 'per-token' });
 * ```
 */
export interface ScoreOptions extends RouteOptions {
  /**
   * `'per-token'`: re-route at every position on the complete words before it.
   * `'per-sequence'`: route once on the first `sequencePrefixTokens` tokens and use those
   * weights everywhere (those first positions are scored with weights that saw them).
   * @default 'per-token'
   */
  readonly weightsMode?: WeightsMode;
  /**
   * Prefix length, in tokens, that per-sequence routing embeds.
   * @default 32
   */
  readonly sequencePrefixTokens?: number;
  /**
   * Score the end-of-document token after the text.
   * @default true
   */
  readonly appendEos?: boolean;
  /**
   * Score at most this many tokens of the text.
   * @default Infinity
   */
  readonly maxTokens?: number;
  /**
   * How experts are weighted: by centroid distance (c-BTM), by a cached prior, or by the
   * posterior given the text so far (BTM); see {@link MixingRule}. The prior rules ignore
   * `weightsMode` and `temperature`.
   * @default 'distance'
   */
  readonly mixing?: MixingRule;
  /**
   * π_j per expert id (length k, ≥ 0, normalized here), e.g. from {@link Ensemble.estimatePrior}.
   * Required by `'cached-prior'`; the starting point of `'updating-prior'` (uniform when absent).
   */
  readonly prior?: ArrayLike<number>;
  /** Cancels scoring. */
  readonly signal?: AbortSignal;
}

/**
 * Options of {@link Ensemble.estimatePrior}.
 *
 * @example
 * ```ts
 * await ensemble.estimatePrior(heldOut, { maxDocuments: 32, maxTokensPerDocument: 256 });
 * ```
 */
export interface EstimatePriorOptions {
  /**
   * Documents read from the corpus.
   * @default 16
   */
  readonly maxDocuments?: number;
  /**
   * Tokens scored per document.
   * @default 256
   */
  readonly maxTokensPerDocument?: number;
  /** Cancels the estimate. */
  readonly signal?: AbortSignal;
}

/**
 * Defaults of {@link EstimatePriorOptions}.
 *
 * @example
 * ```ts
 * await ensemble.estimatePrior(docs, { ...defaultEstimatePriorOptions, maxDocuments: 100 });
 * ```
 */
export const defaultEstimatePriorOptions = Object.freeze({
  maxDocuments: 16,
  maxTokensPerDocument: 256,
});

/**
 * Defaults of {@link ScoreOptions} (routing defaults come from `@cbtm/route`: T = 0.1, all
 * experts).
 *
 * @example
 * ```ts
 * const opts = { ...defaultScoreOptions, topK: 4 };
 * ```
 */
export const defaultScoreOptions = Object.freeze({
  weightsMode: 'per-token' as WeightsMode,
  mixing: 'distance' as MixingRule,
  sequencePrefixTokens: 32,
  appendEos: true,
  maxTokens: Number.POSITIVE_INFINITY,
});

/**
 * The mixture's score of one text.
 *
 * @example
 * ```ts
 * const s = await ensemble.scoreSequence('In the beginning');
 * s.perplexity; s.tokenLogProbs[0]; s.routes[0].experts;
 * ```
 */
export interface SequenceScore {
  /** The scored token ids (the text's tokens, then end-of-document unless turned off). */
  readonly tokens: Int32Array;
  /** log p_mixture(tokens[t] | tokens[<t]) per position, in nats. */
  readonly tokenLogProbs: Float64Array;
  /** The route used at each position (positions with the same context share one object). */
  readonly routes: readonly RouteResult[];
  /** The experts that ran, each once over the whole sequence. */
  readonly expertsRun: number[];
  /** Mean negative log-likelihood per token. */
  readonly nll: number;
  /** exp(nll). */
  readonly perplexity: number;
}

/**
 * Options of {@link Ensemble.generate}. `temperature`, `topP` and `topK` are sampling
 * options; routing has its own under `routing`.
 *
 * @example
 * ```ts
 * ensemble.generate('Once', { maxTokens: 20, temperature: 0.8, topP: 0.95, seed: 1, routing: { topK: 2 } });
 * ```
 */
export interface GenerateOptions extends SamplingOptions {
  /**
   * Most tokens to generate.
   * @default 64
   */
  readonly maxTokens?: number;
  /**
   * Seed of the sampler; the same seed (and options) gives the same text. It is hashed
   * (`deriveSeed(seed, 'generate')`) before it seeds the generator: xoroshiro128+ seeded with a
   * small number directly draws ≈ 1.0 first, which picked the least likely candidate token.
   * @default 0
   */
  readonly seed?: number;
  /**
   * Generation ends when the text contains one of these; the stop string is not yielded.
   * @default []
   */
  readonly stop?: readonly string[];
  /** Routing of each step (top-k experts and temperature of the weights). */
  readonly routing?: RouteOptions;
  /**
   * How experts are weighted at each step; see {@link MixingRule}. With `'updating-prior'`
   * every expert runs at every step (each one's likelihood of the text is needed).
   * @default 'distance'
   */
  readonly mixing?: MixingRule;
  /** π_j per expert id, for the prior mixing rules (see {@link ScoreOptions.prior}). */
  readonly prior?: ArrayLike<number>;
  /**
   * Keep a key/value cache per expert (for experts that have one, like `GptModel`), so each
   * step reads one new token instead of the whole window. The tokens are the same as without
   * it (within float rounding of the log-probabilities); `false` is the reference path.
   * @default true
   */
  readonly cache?: boolean;
  /**
   * How an expert's window slides once the text is longer than its context. 1 reads the last
   * `contextLength` tokens at every step (exact; past the context every step re-reads a whole
   * window, cached or not). N > 1 slides N tokens at a time, re-reading the window once every
   * N steps: each expert then sees at least contextLength − N + 1 tokens, and the cached path
   * stays incremental in between. Cached and uncached generation agree for any stride.
   * @default 1
   */
  readonly slideStride?: number;
  /**
   * Shared by concurrent generations, runs the cached steps that use the same expert as one
   * batch (see {@link ExpertStepBatcher}). Ignored with `cache: false`.
   */
  readonly batcher?: ExpertStepBatcher;
  /**
   * Report the mixture's log-probabilities with each token (before the sampling temperature,
   * top-p and top-k): the chosen token's, and the `logprobs` most likely alternatives (0 for the
   * chosen token's alone). They come from the step that sampled the token, so they cost no
   * extra pass (OpenAI's `logprobs`).
   */
  readonly logprobs?: number;
  /** Cancels generation; the iterator throws an `AbortError`. */
  readonly signal?: AbortSignal;
}

/**
 * Defaults of {@link GenerateOptions}.
 *
 * @example
 * ```ts
 * ensemble.generate('Once', { ...defaultGenerateOptions, seed: 7 });
 * ```
 */
export const defaultGenerateOptions = Object.freeze({
  maxTokens: 64,
  seed: 0,
  stop: [] as readonly string[],
  temperature: 1,
  topP: 1,
  topK: 0,
  cache: true,
  slideStride: 1,
});

/**
 * One generated token.
 *
 * @example
 * ```ts
 * for await (const t of ensemble.generate('Once')) process.stdout.write(t.token);
 * ```
 */
export interface GeneratedToken {
  /** The text this token adds (may be '' while a multi-byte character is incomplete). */
  readonly token: string;
  /** The token id. */
  readonly id: number;
  /** The experts mixed for this step, nearest first. */
  readonly experts: number[];
  /** Their weights. */
  readonly weights: number[];
  /** The mixture's log-probability of this token (with {@link GenerateOptions.logprobs}). */
  readonly logProb?: number;
  /**
   * The mixture's most likely tokens at this step, most likely first, as `[id, logProb]`
   * (with {@link GenerateOptions.logprobs}; ties keep the lower id first).
   */
  readonly top?: readonly (readonly [number, number])[];
}

/**
 * The parts of an {@link Ensemble}. `loadRun` (from `@cbtm/ensemble/node`) builds them from a
 * run directory; tests and browsers build them from models in memory.
 *
 * @example
 * ```ts
 * const ensemble = new Ensemble({ tokenizer, embedder, experts: new ExpertPool(k, load), router });
 * ```
 */
export interface EnsembleParts {
  readonly tokenizer: EnsembleTokenizer;
  readonly embedder: ContextEmbedder;
  /** The experts, loaded on first use. */
  readonly experts: ExpertPool;
  /**
   * Weights the experts for a context. A single model (the dense baseline) takes
   * `new UniformRouting(1, embedder.dimension)`.
   */
  readonly router: Routing;
  /**
   * For embedders without incremental prefixes: re-embed the prefix every this many words.
   * @default 8
   */
  readonly reembedStride?: number;
}

/**
 * A c-BTM sparse ensemble: a tokenizer, an embedder, experts and a router. It routes each
 * position's context to the nearest experts, runs only those experts, and mixes their
 * next-token distributions, p(x_t) = Σ_j w_j(t) p_j(x_t). The baselines are ensembles too: the
 * dense model is one expert under `UniformRouting(1, d)`, the random-cluster experts are k
 * experts under their own router (or `UniformRouting(k, d)`).
 *
 * @example
 * ```ts
 * const { cbtm: ensemble } = await loadRun('runs/demo'); // from '@cbtm/ensemble/node'
 * const { perplexity } = await ensemble.scoreSequence('In the beginning God created', { topK: 2 });
 * for await (const t of ensemble.generate('In the beginning', { maxTokens: 20, seed: 1 })) process.stdout.write(t.token);
 * ```
 */
export class Ensemble {
  /** Turns text into the ids every expert shares. */
  readonly tokenizer: EnsembleTokenizer;
  /** Embeds the context that routing sees. */
  readonly embedder: ContextEmbedder;
  /** The experts, each loaded on first use. */
  readonly experts: ExpertPool;
  /** Weights the experts for a context embedding. */
  readonly router: Routing;
  /** Words between re-embeddings, for embedders without incremental prefixes. */
  readonly reembedStride: number;

  constructor(parts: EnsembleParts) {
    if (parts.router.dimension !== parts.embedder.dimension) {
      throw new CbtmError(
        'E_MODEL',
        `The router has dimension ${parts.router.dimension} but the embedder makes ${parts.embedder.dimension}. Rebuild the router from this run's clusters.`,
      );
    }
    if (parts.router.k !== parts.experts.count) {
      throw new CbtmError(
        'E_MODEL',
        `The router has ${parts.router.k} centroids but there are ${parts.experts.count} experts.`,
      );
    }
    this.tokenizer = parts.tokenizer;
    this.embedder = parts.embedder;
    this.experts = parts.experts;
    this.router = parts.router;
    this.reembedStride = parts.reembedStride ?? 8;
  }

  /**
   * Number of experts.
   *
   * @example
   * ```ts
   * ensemble.k; // 4
   * ```
   */
  get k(): number {
    return this.experts.count;
  }

  /**
   * Per-token log-probabilities of `text` under the mixture. Each expert that some position
   * routes to runs once over the whole text.
   *
   * @example
   * ```ts
   * const s = await ensemble.scoreSequence('The court held that', { topK: 2 });
   * console.log(s.perplexity, s.expertsRun);
   * ```
   */
  async scoreSequence(text: string, options: ScoreOptions = {}): Promise<SequenceScore> {
    throwIfAborted(options.signal);
    const seq = prepareSequence(this.tokenizer, text, options);
    const planned = await this.planRoutes(seq, options);
    const expertsRun = [...new Set(planned.flatMap((r) => r.experts))].sort((a, b) => a - b);
    const targets = new Map<number, Float64Array>();
    for (const j of expertsRun) {
      throwIfAborted(options.signal);
      targets.set(j, (await this.expertLogProbs(j, [seq]))[0]!);
    }
    const routes = this.finishRoutes(planned, targets, options);
    const tokenLogProbs = mixSequence(targets, routes);
    let nll = 0;
    for (const lp of tokenLogProbs) nll -= lp;
    nll /= tokenLogProbs.length;
    return {
      tokens: seq.targets,
      tokenLogProbs,
      routes,
      expertsRun,
      nll,
      perplexity: Math.exp(nll),
    };
  }

  /**
   * The route of every position of a prepared sequence: the experts each position mixes and
   * their weights. A {@link UniformRouting} ignores the context, so nothing is embedded for it.
   *
   * @example
   * ```ts
   * const routes = await ensemble.planRoutes(prepareSequence(ensemble.tokenizer, text), { topK: 2 });
   * ```
   */
  async planRoutes(seq: PreparedSequence, options: ScoreOptions = {}): Promise<RouteResult[]> {
    const routing = this.router;
    const mode = options.weightsMode ?? defaultScoreOptions.weightsMode;
    const mixing = options.mixing ?? defaultScoreOptions.mixing;
    const routeOptions: RouteOptions = { topK: options.topK, temperature: options.temperature };
    const n = seq.targets.length;
    switch (mixing) {
      case 'distance':
        break;
      case 'cached-prior': {
        const route = this.#priorRoute(options.prior, options.topK, mixing);
        return new Array<RouteResult>(n).fill(route);
      }
      case 'updating-prior': {
        // Every expert with prior weight runs; finishRoutes turns their likelihoods into weights.
        const route = this.#priorRoute(options.prior, undefined, mixing);
        return new Array<RouteResult>(n).fill(route);
      }
      default:
        return assertUnreachable(mixing, 'mixing');
    }
    if (routing instanceof UniformRouting) {
      const route = routeOrPrior(routing, new Float32Array(routing.dimension), routeOptions);
      return new Array<RouteResult>(n).fill(route);
    }
    switch (mode) {
      case 'per-token': {
        const { vectors, index } = await perTokenContexts(
          this.tokenizer,
          this.embedder,
          seq.targets,
          this.reembedStride,
        );
        const byVector = vectors.map((v) => routeOrPrior(routing, v, routeOptions));
        return Array.from(index, (i) => byVector[i]!);
      }
      case 'per-sequence': {
        const prefix = options.sequencePrefixTokens ?? defaultScoreOptions.sequencePrefixTokens;
        if (!Number.isInteger(prefix) || prefix < 0) {
          throw new InvalidArgumentError(
            `sequencePrefixTokens must be an integer ≥ 0, got ${prefix}.`,
          );
        }
        const vec = await sequenceContext(this.tokenizer, this.embedder, seq.targets, prefix);
        const route = routeOrPrior(routing, vec, routeOptions);
        return new Array<RouteResult>(n).fill(route);
      }
      default:
        return assertUnreachable(mode, 'weightsMode');
    }
  }

  /**
   * The routes to mix with, once the planned experts' log-probabilities of the targets are
   * known. Only `'updating-prior'` needs them: position t gets the posterior given the tokens
   * before t, cut to `topK`. The other rules return the plan unchanged.
   *
   * @param targetLogProbs - per expert id, log p_j of each target (every planned expert).
   *
   * @example
   * ```ts
   * const plan = await ensemble.planRoutes(seq, { mixing: 'updating-prior' });
   * const lps = new Map(plan[0].experts.map((j) => [j, lpOf(j)]));
   * const routes = ensemble.finishRoutes(plan, lps, { mixing: 'updating-prior', topK: 2 });
   * ```
   */
  finishRoutes(
    planned: RouteResult[],
    targetLogProbs: ReadonlyMap<number, ArrayLike<number>>,
    options: ScoreOptions = {},
  ): RouteResult[] {
    if ((options.mixing ?? defaultScoreOptions.mixing) !== 'updating-prior') return planned;
    const active = this.activeExperts();
    const full = this.#priorVector(options.prior, 'updating-prior');
    // An expert with prior 0 keeps posterior 0 and was not planned to run.
    const keep = active.map((_, i) => i).filter((i) => full[i]! > 0);
    const experts = keep.map((i) => active[i]!);
    const rows = experts.map((j) => {
      const row = targetLogProbs.get(j);
      if (!row) throw new InvalidArgumentError(`Expert ${j} was not run; the posterior needs it.`);
      return row;
    });
    return updatingPriorRoutes(
      experts,
      rows,
      keep.map((i) => full[i]!),
      options.topK,
    );
  }

  /**
   * The experts that take part: all k, minus those removed (see {@link ExpertSubsetRouting}).
   *
   * @example
   * ```ts
   * ensemble.activeExperts(); // [0, 1, 3] after `cbtm remove-expert --expert 2`
   * ```
   */
  activeExperts(): number[] {
    if (this.router instanceof ExpertSubsetRouting) return [...this.router.active];
    return Array.from({ length: this.k }, (_, j) => j);
  }

  /**
   * BTM's cached prior: a distribution over experts estimated once from held-out text. Each
   * document's posterior, p(j | doc) ∝ p_j(doc) under a uniform prior, is computed from every
   * active expert's log-likelihood of its first tokens, and the prior is their mean over the
   * documents. Removed experts get 0. The result is indexed by expert id (length k).
   *
   * @example
   * ```ts
   * const prior = await ensemble.estimatePrior(readCorpus('held-out.jsonl', { limit: 16 }));
   * await ensemble.scoreSequence(text, { mixing: 'cached-prior', prior, topK: 2 });
   * ```
   */
  async estimatePrior(
    docs: Iterable<Document | string> | AsyncIterable<Document | string>,
    options: EstimatePriorOptions = {},
  ): Promise<Float64Array> {
    const maxDocs = options.maxDocuments ?? defaultEstimatePriorOptions.maxDocuments;
    const maxTokens =
      options.maxTokensPerDocument ?? defaultEstimatePriorOptions.maxTokensPerDocument;
    const seqs: PreparedSequence[] = [];
    for await (const item of docs) {
      if (seqs.length >= maxDocs) break;
      const text = typeof item === 'string' ? item : item.text;
      if (text.length === 0) continue;
      seqs.push(prepareSequence(this.tokenizer, text, { maxTokens }));
    }
    if (seqs.length === 0) {
      throw new InvalidArgumentError('Estimating a prior needs at least one non-empty document.');
    }
    const experts = this.activeExperts();
    const ll = seqs.map(() => new Float64Array(experts.length));
    for (const [i, j] of experts.entries()) {
      throwIfAborted(options.signal);
      const lps = await this.expertLogProbs(j, seqs);
      lps.forEach((lp, d) => {
        for (const x of lp) ll[d]![i]! += x;
      });
    }
    const prior = new Float64Array(this.k);
    for (const row of ll) {
      const post = posteriorWeights(row);
      experts.forEach((j, i) => {
        prior[j]! += post[i]! / seqs.length;
      });
    }
    return prior;
  }

  /** π over the active experts (uniform when absent), checked. */
  #priorVector(prior: ArrayLike<number> | undefined, mixing: MixingRule): Float64Array {
    const experts = this.activeExperts();
    if (prior === undefined) {
      if (mixing === 'cached-prior') {
        throw new InvalidArgumentError(
          "mixing 'cached-prior' needs a prior: estimate one with ensemble.estimatePrior(heldOutDocs).",
        );
      }
      return new Float64Array(experts.length).fill(1 / experts.length);
    }
    if (prior.length !== this.k) {
      throw new InvalidArgumentError(
        `The prior has ${prior.length} entries but there are ${this.k} experts.`,
      );
    }
    const out = Float64Array.from(experts, (j) => prior[j]!);
    let sum = 0;
    out.forEach((p, i) => {
      if (!(p >= 0) || !Number.isFinite(p)) {
        throw new InvalidArgumentError(
          `Prior of expert ${experts[i]} is ${p}; it must be finite and ≥ 0.`,
        );
      }
      sum += p;
    });
    if (!(sum > 0)) throw new InvalidArgumentError('The prior gives every active expert 0.');
    for (let i = 0; i < out.length; i++) out[i]! /= sum;
    return out;
  }

  #priorRoute(
    prior: ArrayLike<number> | undefined,
    topK: number | undefined,
    mixing: MixingRule,
  ): RouteResult {
    return topWeightsRoute(this.activeExperts(), this.#priorVector(prior, mixing), topK);
  }

  /**
   * Log-probability of every target of each prepared sequence under expert `expert` alone:
   * one causal pass per sequence, the expert loaded once for all of them.
   *
   * @example
   * ```ts
   * const [lp] = await ensemble.expertLogProbs(2, [prepareSequence(ensemble.tokenizer, 'The court')]);
   * ```
   */
  async expertLogProbs(
    expert: number,
    sequences: readonly PreparedSequence[],
  ): Promise<Float64Array[]> {
    return this.experts.use(expert, async (m) => {
      this.#checkVocab(m);
      const out: Float64Array[] = [];
      for (const seq of sequences) out.push(await expertTargetLogProbs(m, seq));
      return out;
    });
  }

  /**
   * Generates text after `prompt`, one token per step. The routing is updated as the text
   * grows (at each completed word), the top-k experts are mixed, and the next token is
   * sampled with a seeded generator: the same seed gives the same text. Stops at
   * end-of-document, `maxTokens`, or a stop string. Each expert keeps a key/value cache for the
   * generation (see {@link GenerateOptions.cache}) and catches up on the tokens of the steps it
   * sat out when routing brings it back.
   *
   * @example
   * ```ts
   * for await (const t of ensemble.generate('In the beginning', { maxTokens: 30, seed: 7, stop: ['\n'] })) {
   *   process.stdout.write(t.token);
   * }
   * ```
   */
  async *generate(prompt: string, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    const sampling = resolveSamplingOptions(options);
    const logprobs = options.logprobs;
    if (logprobs !== undefined && (!Number.isInteger(logprobs) || logprobs < 0)) {
      throw new InvalidArgumentError(`logprobs must be an integer ≥ 0, got ${logprobs}.`);
    }
    const maxTokens = options.maxTokens ?? defaultGenerateOptions.maxTokens;
    if (!Number.isInteger(maxTokens) || maxTokens < 0) {
      throw new InvalidArgumentError(`maxTokens must be an integer ≥ 0, got ${maxTokens}.`);
    }
    const rng = new Rng(deriveSeed(options.seed ?? defaultGenerateOptions.seed, 'generate'));
    const stops = new StopSequenceBuffer<GeneratedToken>(
      options.stop ?? defaultGenerateOptions.stop,
    );
    const routing = this.router;
    const tok = this.tokenizer;
    const context: number[] = [tok.eosId];
    const words = new CompletedWords(tok);
    const ctx = createContextState(this.embedder, this.reembedStride);
    for (const id of tok.encode(prompt)) {
      context.push(id);
      ctx.push(words.append(id));
    }
    const generated: number[] = [];
    let emittedText = '';
    let route: RouteResult | undefined;
    const mixing = options.mixing ?? defaultScoreOptions.mixing;
    const active = this.activeExperts();
    const prior = mixing === 'distance' ? undefined : this.#priorVector(options.prior, mixing);
    // Updating prior: each expert's log-likelihood of the text so far, prompt included.
    const ll =
      mixing === 'updating-prior' ? await this.#promptLogLikelihoods(active, context) : null;
    const decoders = new ExpertDecoders({
      cache: options.cache ?? defaultGenerateOptions.cache,
      slideStride: options.slideStride ?? defaultGenerateOptions.slideStride,
      ...(options.batcher ? { batcher: options.batcher } : {}),
    });
    const nextRow = (j: number) =>
      this.experts.use(j, (m) => {
        this.#checkVocab(m);
        return decoders.next(j, m, context);
      });
    // With a batcher, every expert's request of this step joins the same batch round.
    const rowsOf = async (experts: readonly number[]): Promise<Float32Array[]> => {
      if (options.batcher) return Promise.all(experts.map(nextRow));
      const rows: Float32Array[] = [];
      for (const j of experts) rows.push(await nextRow(j));
      return rows;
    };
    try {
      for (let step = 0; step < maxTokens; step++) {
        throwIfAborted(options.signal);
        const rowOf = new Map<number, Float32Array>();
        if (ll) {
          const all = await rowsOf(active);
          active.forEach((j, i) => {
            rowOf.set(j, all[i]!);
          });
          route = topWeightsRoute(active, posteriorWeights(ll, prior), options.routing?.topK);
        } else if (prior) {
          route ??= topWeightsRoute(active, prior, options.routing?.topK);
        } else if (!route || ctx.dirty) {
          route = routeOrPrior(routing, await ctx.vector(), options.routing);
        }
        const rows = ll ? route.experts.map((j) => rowOf.get(j)!) : await rowsOf(route.experts);
        const mixed = mixDistributions(rows, route.weights);
        const id = sampleToken(mixed, sampling, rng);
        if (ll)
          active.forEach((j, i) => {
            ll[i]! += rowOf.get(j)![id]!;
          });
        if (id === tok.eosId) break;
        context.push(id);
        generated.push(id);
        ctx.push(words.append(id));
        // Text delta of this token; a trailing U+FFFD is an incomplete character, held back.
        let text = tok.decode(generated);
        if (text.endsWith('\uFFFD')) text = text.replace(/\uFFFD+$/u, '');
        const piece: GeneratedToken = {
          token: text.length >= emittedText.length ? text.slice(emittedText.length) : '',
          id,
          experts: [...route.experts],
          weights: Array.from(route.weights),
          ...(logprobs !== undefined
            ? { logProb: mixed[id]!, top: topLogProbs(mixed, logprobs) }
            : {}),
        };
        emittedText = text.length >= emittedText.length ? text : emittedText;
        const { release, stopped } = stops.push(piece, piece.token);
        for (const r of release) yield r;
        if (stopped) return;
      }
      for (const r of stops.flush()) yield r;
    } finally {
      // Also when the consumer stops early (return() on the generator) or a step throws.
      decoders.dispose();
    }
  }

  /**
   * Disposes every loaded expert.
   *
   * @example
   * ```ts
   * await ensemble.dispose();
   * ```
   */
  async dispose(): Promise<void> {
    await this.experts.dispose();
  }

  /** Each expert's log-likelihood of the context after its first token (the last C tokens). */
  async #promptLogLikelihoods(
    experts: readonly number[],
    context: readonly number[],
  ): Promise<Float64Array> {
    const ll = new Float64Array(experts.length);
    if (context.length < 2) return ll;
    for (const [i, j] of experts.entries()) {
      ll[i] = await this.experts.use(j, async (m) => {
        this.#checkVocab(m);
        const window = context.slice(Math.max(0, context.length - 1 - m.config.contextLength));
        const seq: PreparedSequence = {
          input: Int32Array.from(window.slice(0, -1)),
          targets: Int32Array.from(window.slice(1)),
        };
        let sum = 0;
        for (const x of await expertTargetLogProbs(m, seq)) sum += x;
        return sum;
      });
    }
    return ll;
  }

  #checkVocab(model: ExpertModel): void {
    if (model.config.vocabSize !== this.tokenizer.vocabSize) {
      throw new CbtmError(
        'E_MODEL',
        `An expert has vocabulary size ${model.config.vocabSize} but the tokenizer has ${this.tokenizer.vocabSize}; they come from different runs.`,
      );
    }
  }
}
