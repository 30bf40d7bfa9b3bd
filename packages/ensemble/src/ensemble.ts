import {
  assertUnreachable,
  CbtmError,
  type Document,
  InvalidArgumentError,
  Rng,
  throwIfAborted,
} from '@cbtm/core';
import type { RouteOptions, RouteResult } from '@cbtm/route';
import { CompletedWords, createContextState } from './context-state.js';
import { type EvalResults, type EvaluateOptions, evaluateEnsemble } from './evaluate.js';
import type { ExpertPool } from './expert-pool.js';
import type { LoadEnsembleOptions } from './load-ensemble.js';
import { mixDistributions, mixSequence } from './mixture.js';
import { type Routing, routeOrPrior } from './routing.js';
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

/** How mixture weights follow the text. */
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
  /** Cancels scoring. */
  readonly signal?: AbortSignal;
}

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
   * Seed of the sampler; the same seed (and options) gives the same text.
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
}

/**
 * A group of experts with the routing that mixes them: the c-BTM experts, the random-cluster
 * baseline, or the dense model (one expert, fixed route).
 *
 * @example
 * ```ts
 * const set: ExpertSet = { pool, routing: router };
 * ```
 */
export interface ExpertSet {
  readonly pool: ExpertPool;
  /** Omitted for a single fixed model (dense). */
  readonly routing?: Routing;
}

/**
 * The parts of an ensemble; {@link Ensemble.load} builds them from a run directory.
 *
 * @example
 * ```ts
 * const ensemble = new Ensemble({ tokenizer, embedder, experts: { pool, routing: router } });
 * ```
 */
export interface EnsembleParts {
  readonly tokenizer: EnsembleTokenizer;
  readonly embedder: ContextEmbedder;
  readonly experts: ExpertSet;
  readonly dense?: ExpertSet;
  readonly random?: ExpertSet;
  /** The run directory, where `evaluate` writes `eval/results.json`. */
  readonly runDir?: string;
  /**
   * Tensor backend name for reports.
   * @default 'unknown'
   */
  readonly backend?: string;
  /**
   * For embedders without incremental prefixes: re-embed the prefix every this many words.
   * @default 8
   */
  readonly reembedStride?: number;
}

/**
 * A c-BTM sparse ensemble: routes each position's context to the nearest experts, runs only
 * those experts, and mixes their next-token distributions, p(x_t) = Σ_j w_j(t) p_j(x_t).
 *
 * @example
 * ```ts
 * const ensemble = await Ensemble.load('runs/demo');
 * const { perplexity } = await ensemble.scoreSequence('In the beginning God created', { topK: 2 });
 * for await (const t of ensemble.generate('In the beginning', { maxTokens: 20, seed: 1 })) process.stdout.write(t.token);
 * ```
 */
export class Ensemble {
  readonly tokenizer: EnsembleTokenizer;
  readonly embedder: ContextEmbedder;
  readonly experts: ExpertSet;
  readonly dense: ExpertSet | undefined;
  readonly random: ExpertSet | undefined;
  readonly runDir: string | undefined;
  readonly backend: string;
  readonly reembedStride: number;

  constructor(parts: EnsembleParts) {
    if (!parts.experts.routing) {
      throw new InvalidArgumentError('The c-BTM expert set needs a routing (a Router).');
    }
    this.tokenizer = parts.tokenizer;
    this.embedder = parts.embedder;
    this.experts = parts.experts;
    this.dense = parts.dense;
    this.random = parts.random;
    this.runDir = parts.runDir;
    this.backend = parts.backend ?? 'unknown';
    this.reembedStride = parts.reembedStride ?? 8;
    for (const [name, set] of [
      ['experts', parts.experts],
      ['random', parts.random],
    ] as const) {
      if (set?.routing && set.routing.dimension !== parts.embedder.dimension) {
        throw new CbtmError(
          'E_MODEL',
          `The ${name} router has dimension ${set.routing.dimension} but the embedder makes ${parts.embedder.dimension}. Rebuild the router from this run's clusters.`,
        );
      }
      if (set?.routing && set.routing.k !== set.pool.count) {
        throw new CbtmError(
          'E_MODEL',
          `The ${name} router has ${set.routing.k} centroids but there are ${set.pool.count} experts.`,
        );
      }
    }
  }

  /**
   * Opens a run directory: the tokenizer, the embedder and the router now, each expert
   * lazily on first use, with at most `maxLoadedExperts` loaded at once. Also finds the dense
   * baseline (`<run>/dense/`) and the random-cluster experts (`<run>/random/experts/<j>/`).
   *
   * @example
   * ```ts
   * const ensemble = await Ensemble.load('runs/demo', { maxLoadedExperts: 2 });
   * ```
   */
  static async load(runDir: string, options: LoadEnsembleOptions = {}): Promise<Ensemble> {
    // Loaded on demand so importing @cbtm/ensemble does not pull in TensorFlow.js.
    const { loadEnsemble } = await import('./load-ensemble.js');
    return loadEnsemble(runDir, options);
  }

  /** Number of c-BTM experts. */
  get k(): number {
    return this.experts.pool.count;
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
    const routes = await this.planRoutes(seq, this.experts.routing!, options);
    const expertsRun = [...new Set(routes.flatMap((r) => r.experts))].sort((a, b) => a - b);
    const targets = new Map<number, Float64Array>();
    for (const j of expertsRun) {
      throwIfAborted(options.signal);
      targets.set(j, await this.experts.pool.use(j, (m) => this.#checked(m, seq)));
    }
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
   * The route of every position of a prepared sequence under `routing`.
   *
   * @example
   * ```ts
   * const routes = await ensemble.planRoutes(prepareSequence(ensemble.tokenizer, text), router, { topK: 2 });
   * ```
   */
  async planRoutes(
    seq: PreparedSequence,
    routing: Routing,
    options: ScoreOptions = {},
  ): Promise<RouteResult[]> {
    const mode = options.weightsMode ?? defaultScoreOptions.weightsMode;
    const routeOptions: RouteOptions = { topK: options.topK, temperature: options.temperature };
    const n = seq.targets.length;
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
   * Perplexity of a corpus under several methods (c-BTM at several top-k, a single expert,
   * the dense and random-cluster baselines when the run has them), overall and per domain.
   * Writes `<run>/eval/results.json` unless told otherwise. See {@link EvaluateOptions}.
   *
   * @example
   * ```ts
   * const results = await ensemble.evaluate(readCorpus('valid.jsonl.gz'));
   * console.log(results.methods['cbtm-top2'].perplexity);
   * ```
   */
  evaluate(
    corpus: Iterable<Document | string> | AsyncIterable<Document | string>,
    options: EvaluateOptions = {},
  ): Promise<EvalResults> {
    return evaluateEnsemble(this, corpus, options);
  }

  /**
   * Generates text after `prompt`, one token per step. The routing is updated as the text
   * grows (at each completed word), the top-k experts are mixed, and the next token is
   * sampled with a seeded generator: the same seed gives the same text. Stops at
   * end-of-document, `maxTokens`, or a stop string.
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
    const maxTokens = options.maxTokens ?? defaultGenerateOptions.maxTokens;
    if (!Number.isInteger(maxTokens) || maxTokens < 0) {
      throw new InvalidArgumentError(`maxTokens must be an integer ≥ 0, got ${maxTokens}.`);
    }
    const rng = new Rng(options.seed ?? defaultGenerateOptions.seed);
    const stops = new StopSequenceBuffer<GeneratedToken>(
      options.stop ?? defaultGenerateOptions.stop,
    );
    const routing = this.experts.routing!;
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
    for (let step = 0; step < maxTokens; step++) {
      throwIfAborted(options.signal);
      if (!route || ctx.dirty) route = routeOrPrior(routing, await ctx.vector(), options.routing);
      const rows: Float32Array[] = [];
      for (const j of route.experts) {
        rows.push(await this.experts.pool.use(j, (m) => this.#nextTokenRow(m, context)));
      }
      const mixed = mixDistributions(rows, route.weights);
      const id = sampleToken(mixed, sampling, rng);
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
      };
      emittedText = text.length >= emittedText.length ? text : emittedText;
      const { release, stopped } = stops.push(piece, piece.token);
      for (const r of release) yield r;
      if (stopped) return;
    }
    for (const r of stops.flush()) yield r;
  }

  /** Disposes every loaded model. */
  async dispose(): Promise<void> {
    await this.experts.pool.dispose();
    await this.dense?.pool.dispose();
    await this.random?.pool.dispose();
  }

  /** Target log-probabilities of `seq` under `model`, after checking the vocabulary. @internal */
  async #checked(model: ExpertModel, seq: PreparedSequence): Promise<Float64Array> {
    this.#checkVocab(model);
    return expertTargetLogProbs(model, seq);
  }

  async #nextTokenRow(model: ExpertModel, context: readonly number[]): Promise<Float32Array> {
    this.#checkVocab(model);
    const C = model.config.contextLength;
    const V = model.config.vocabSize;
    const window = Int32Array.from(context.slice(Math.max(0, context.length - C)));
    const rows = await model.logProbs(window);
    return rows.slice((window.length - 1) * V, window.length * V);
  }

  #checkVocab(model: ExpertModel): void {
    if (model.config.vocabSize !== this.tokenizer.vocabSize) {
      throw new CbtmError(
        'E_MODEL',
        `An expert has vocabulary size ${model.config.vocabSize} but the tokenizer has ${this.tokenizer.vocabSize}; they come from different runs.`,
      );
    }
  }

  /** Scores a prepared sequence under one expert set (used by evaluate). @internal */
  static async targetsFor(
    ensemble: Ensemble,
    set: ExpertSet,
    expert: number,
    sequences: readonly PreparedSequence[],
  ): Promise<Float64Array[]> {
    return set.pool.use(expert, async (m) => {
      const out: Float64Array[] = [];
      for (const seq of sequences) out.push(await ensemble.#checked(m, seq));
      return out;
    });
  }
}
