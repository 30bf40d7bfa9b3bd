import {
  type Document,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  throwIfAborted,
} from '@cbtm/core';
import { defaultRouteOptions, type RouteResult } from '@cbtm/route';
import type { Ensemble } from './ensemble.js';
import { mixSequence } from './mixture.js';
import { PerplexityAccumulator, type PerplexityStats } from './perplexity.js';
import { fixedRoute, UniformRouting } from './routing.js';
import { type EvalMethod, evalMethodName, type Scorer } from './scorers.js';
import { type PreparedSequence, prepareSequence } from './sequence.js';

/**
 * Options of {@link evaluate}.
 *
 * @example
 * ```ts
 * await evaluate(scorersFor(run), docs, { corpusName: 'valid', backend: run.backend });
 * ```
 */
export interface EvaluateOptions extends LongRunOptions {
  /**
   * The tensor backend that ran the experts, recorded in the results (`LoadedRun.backend`).
   * @default 'unknown'
   */
  readonly backend?: string;
  /** A label for the corpus in the results (e.g. its path). */
  readonly corpusName?: string;
  /**
   * Documents scored together, so each expert loads once per batch rather than per document.
   * @default 16
   */
  readonly batchDocuments?: number;
  /**
   * Score the end-of-document token after each text.
   * @default true
   */
  readonly appendEos?: boolean;
  /**
   * Score at most this many tokens per document.
   * @default Infinity
   */
  readonly maxTokensPerDocument?: number;
  /**
   * Prefix length for per-sequence routing.
   * @default 32
   */
  readonly sequencePrefixTokens?: number;
}

/**
 * Defaults of {@link EvaluateOptions}.
 *
 * @example
 * ```ts
 * await evaluate(scorers, docs, { ...defaultEvaluateOptions, batchDocuments: 4 });
 * ```
 */
export const defaultEvaluateOptions = Object.freeze({
  batchDocuments: 16,
  appendEos: true,
  maxTokensPerDocument: Number.POSITIVE_INFINITY,
  sequencePrefixTokens: 32,
});

/**
 * One method's results.
 *
 * @example
 * ```ts
 * results.methods['cbtm-top2'].perDomain.law.perplexity;
 * ```
 */
export interface MethodResult extends PerplexityStats {
  readonly method: EvalMethod;
  /** Mean number of distinct experts run per document. */
  readonly expertsPerDocument: number;
  readonly perDomain: Record<string, PerplexityStats>;
}

/**
 * What {@link evaluate} returns; `writeEvalResults` (from `@cbtm/ensemble/node`) saves it as
 * `<run>/eval/results.json`.
 *
 * @example
 * ```ts
 * const r: EvalResults = JSON.parse(await readFile('runs/demo/eval/results.json', 'utf8'));
 * ```
 */
export interface EvalResults {
  readonly format: 'cbtm-eval';
  readonly version: 1;
  readonly createdAt: string;
  readonly backend: string;
  readonly corpus: {
    readonly name: string | null;
    readonly documents: number;
    readonly domains: string[];
  };
  /** Tokens scored (the same for every method). */
  readonly tokens: number;
  readonly methods: Record<string, MethodResult>;
  readonly config: Record<string, unknown>;
}

interface ResolvedScorer {
  readonly name: string;
  readonly method: EvalMethod;
  readonly ensemble: Ensemble;
}

function resolveScorers(scorers: readonly Scorer[]): ResolvedScorer[] {
  const names = new Set<string>();
  return scorers.map(({ ensemble, method }) => {
    if (
      method.kind === 'expert' &&
      (!Number.isInteger(method.expert) || method.expert < 0 || method.expert >= ensemble.k)
    ) {
      throw new InvalidArgumentError(
        `Method expert-${method.expert}: there are ${ensemble.k} experts.`,
      );
    }
    const name = evalMethodName(method, ensemble.k);
    if (names.has(name))
      throw new InvalidArgumentError(`Two methods are both named "${name}"; give one a name.`);
    names.add(name);
    return { name, method, ensemble };
  });
}

/** The ensemble of the first scorer of a kind. */
function ensembleOf(
  scorers: readonly ResolvedScorer[],
  ...kinds: EvalMethod['kind'][]
): Ensemble | undefined {
  return scorers.find((s) => kinds.includes(s.method.kind))?.ensemble;
}

interface BatchDoc {
  readonly seq: PreparedSequence;
  readonly domain: string | undefined;
}

/**
 * Perplexity of a corpus under several scorers (c-BTM at several top-k, a single expert, the
 * dense and random-cluster baselines), overall and per domain. Documents are scored in
 * batches; each expert a batch needs runs once over the batch's documents that route to it,
 * and scorers that share an ensemble share those runs. Writes nothing: save the results with
 * `writeEvalResults` from `@cbtm/ensemble/node`.
 *
 * @example
 * ```ts
 * const run = await loadRun('runs/demo'); // from '@cbtm/ensemble/node'
 * const results = await evaluate(scorersFor(run), readCorpus('valid.jsonl.gz'), { backend: run.backend });
 * console.log(results.methods['cbtm-top2'].perplexity);
 * ```
 */
export async function evaluate(
  scorers: readonly Scorer[],
  corpus: Iterable<Document | string> | AsyncIterable<Document | string>,
  options: EvaluateOptions = {},
): Promise<EvalResults> {
  const batchSize = options.batchDocuments ?? defaultEvaluateOptions.batchDocuments;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InvalidArgumentError(`batchDocuments must be an integer ≥ 1, got ${batchSize}.`);
  }
  const appendEos = options.appendEos ?? defaultEvaluateOptions.appendEos;
  const maxTokens = options.maxTokensPerDocument ?? defaultEvaluateOptions.maxTokensPerDocument;
  const prefixTokens = options.sequencePrefixTokens ?? defaultEvaluateOptions.sequencePrefixTokens;
  const methods = resolveScorers(scorers);
  if (methods.length === 0) throw new InvalidArgumentError('evaluate needs at least one method.');
  const main = ensembleOf(methods, 'cbtm', 'expert') ?? methods[0]!.ensemble;
  // Every document is tokenized once, for all scorers.
  for (const m of methods) {
    if (m.ensemble.tokenizer !== main.tokenizer) {
      throw new InvalidArgumentError(
        `Method "${m.name}" uses another tokenizer than "${methods.find((x) => x.ensemble === main)!.name}"; the scorers of one evaluation must share one tokenizer (the run's).`,
      );
    }
  }
  const random = ensembleOf(methods, 'random');
  const acc = new Map(methods.map((m) => [m.name, new PerplexityAccumulator()]));
  const expertsRun = new Map(methods.map((m) => [m.name, 0]));
  const domains = new Set<string>();
  const progress = progressReporter('eval', options.onProgress, { unit: 'docs' });
  progress.start(`Evaluating ${methods.length} methods`);
  let documents = 0;
  let tokens = 0;

  const runBatch = async (batch: BatchDoc[]) => {
    // Plan every method's routes, then run each needed expert once over the whole batch.
    const plans = new Map<string, RouteResult[][]>();
    const needed = new Map<Ensemble, Map<number, Set<number>>>();
    for (const m of methods) {
      const routes: RouteResult[][] = [];
      for (let d = 0; d < batch.length; d++) {
        throwIfAborted(options.signal);
        const seq = batch[d]!.seq;
        let r: RouteResult[];
        if (m.method.kind === 'expert')
          r = new Array(seq.targets.length).fill(fixedRoute(m.method.expert));
        // A single-model ensemble routes everything to its one expert, with weight 1.
        else if (m.method.kind === 'dense') r = await m.ensemble.planRoutes(seq);
        else {
          r = await m.ensemble.planRoutes(seq, {
            topK: m.method.topK,
            temperature: m.method.temperature,
            weightsMode: m.method.weightsMode,
            sequencePrefixTokens: prefixTokens,
            ...(m.method.mixing ? { mixing: m.method.mixing } : {}),
            ...(m.method.prior ? { prior: m.method.prior } : {}),
          });
        }
        routes.push(r);
        const perEnsemble = needed.get(m.ensemble) ?? new Map<number, Set<number>>();
        needed.set(m.ensemble, perEnsemble);
        const used = new Set(r.flatMap((x) => x.experts));
        expertsRun.set(m.name, expertsRun.get(m.name)! + used.size);
        for (const j of used) {
          const docs = perEnsemble.get(j) ?? new Set<number>();
          docs.add(d);
          perEnsemble.set(j, docs);
        }
      }
      plans.set(m.name, routes);
    }
    const targets = new Map<Ensemble, Map<number, Map<number, Float64Array>>>();
    for (const [ensemble, perExpert] of needed) {
      const byEnsemble = new Map<number, Map<number, Float64Array>>();
      targets.set(ensemble, byEnsemble);
      for (const j of [...perExpert.keys()].sort((a, b) => a - b)) {
        throwIfAborted(options.signal);
        const docIdx = [...perExpert.get(j)!].sort((a, b) => a - b);
        const lps = await ensemble.expertLogProbs(
          j,
          docIdx.map((d) => batch[d]!.seq),
        );
        const byDoc = new Map<number, Float64Array>();
        docIdx.forEach((d, i) => {
          byDoc.set(d, lps[i]!);
        });
        byEnsemble.set(j, byDoc);
      }
    }
    for (const m of methods) {
      const routes = plans.get(m.name)!;
      const byEnsemble = targets.get(m.ensemble)!;
      for (let d = 0; d < batch.length; d++) {
        const rows = new Map<number, Float64Array>();
        for (const [j, byDoc] of byEnsemble) {
          const lp = byDoc.get(d);
          if (lp) rows.set(j, lp);
        }
        // The updating prior's weights come from the experts' likelihoods, known only now.
        const docRoutes =
          m.method.kind === 'cbtm' || m.method.kind === 'random'
            ? m.ensemble.finishRoutes(routes[d]!, rows, {
                ...(m.method.mixing ? { mixing: m.method.mixing } : {}),
                ...(m.method.prior ? { prior: m.method.prior } : {}),
                ...(m.method.topK !== undefined ? { topK: m.method.topK } : {}),
              })
            : routes[d]!;
        acc.get(m.name)!.add(mixSequence(rows, docRoutes), batch[d]!.domain);
      }
    }
    documents += batch.length;
    for (const b of batch) tokens += b.seq.targets.length;
    progress.update(documents, { metrics: { tokens } });
  };

  let batch: BatchDoc[] = [];
  for await (const item of corpus) {
    throwIfAborted(options.signal);
    const doc =
      typeof item === 'string' ? { id: String(documents + batch.length), text: item } : item;
    if (doc.text.length === 0) continue;
    if (doc.domain !== undefined) domains.add(doc.domain);
    batch.push({
      seq: prepareSequence(main.tokenizer, doc.text, { appendEos, maxTokens }),
      domain: doc.domain,
    });
    if (batch.length >= batchSize) {
      await runBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await runBatch(batch);
  if (documents === 0) {
    throw new InvalidArgumentError('The evaluation corpus has no non-empty documents.');
  }

  const results: EvalResults = {
    format: 'cbtm-eval',
    version: 1,
    createdAt: new Date().toISOString(),
    backend: options.backend ?? 'unknown',
    corpus: { name: options.corpusName ?? null, documents, domains: [...domains].sort() },
    tokens,
    methods: Object.fromEntries(
      methods.map((m) => {
        const a = acc.get(m.name)!;
        const result: MethodResult = {
          ...a.overall(),
          method: m.method,
          expertsPerDocument: expertsRun.get(m.name)! / documents,
          perDomain: a.perDomain(),
        };
        return [m.name, result];
      }),
    ),
    config: {
      k: main.k,
      embedder: main.embedder.kind ?? 'unknown',
      appendEos,
      maxTokensPerDocument: Number.isFinite(maxTokens) ? maxTokens : null,
      sequencePrefixTokens: prefixTokens,
      defaultTemperature: defaultRouteOptions.temperature,
      reembedStride: main.reembedStride,
      hasDense: ensembleOf(methods, 'dense') !== undefined,
      randomExperts: random?.k ?? 0,
      randomRouting: random
        ? random.router instanceof UniformRouting
          ? 'uniform'
          : 'router'
        : null,
    },
  };
  progress.done({ metrics: { tokens } });
  return results;
}
