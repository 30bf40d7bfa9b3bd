import { join } from 'node:path';
import {
  assertUnreachable,
  type Document,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  throwIfAborted,
  writeJsonAtomic,
} from '@cbtm/core';
import { defaultRouteOptions, type RouteResult } from '@cbtm/route';
import { Ensemble, type ExpertSet, type WeightsMode } from './ensemble.js';
import { mixSequence } from './mixture.js';
import { PerplexityAccumulator, type PerplexityStats } from './perplexity.js';
import { fixedRoute, UniformRouting } from './routing.js';
import { type PreparedSequence, prepareSequence } from './sequence.js';

/**
 * One way of scoring the corpus.
 *
 * - `cbtm`: the c-BTM mixture (default name `cbtm-top<k>` or `cbtm-all`, `-seq` when per-sequence).
 * - `expert`: one fixed c-BTM expert for every document (`expert-<j>`).
 * - `dense`: the dense baseline model in `<run>/dense/`.
 * - `random`: the random-cluster experts in `<run>/random/experts/`, routed by
 *   `<run>/random/router/` when present, else mixed uniformly (then only `topK` = all).
 *
 * @example
 * ```ts
 * const methods: EvalMethod[] = [{ kind: 'cbtm', topK: 2 }, { kind: 'dense' }, { kind: 'expert', expert: 0 }];
 * ```
 */
export type EvalMethod =
  | {
      readonly kind: 'cbtm' | 'random';
      readonly name?: string;
      readonly topK?: number;
      readonly temperature?: number;
      readonly weightsMode?: WeightsMode;
    }
  | { readonly kind: 'expert'; readonly name?: string; readonly expert: number }
  | { readonly kind: 'dense'; readonly name?: string };

/**
 * Options of {@link Ensemble.evaluate}.
 *
 * @example
 * ```ts
 * await ensemble.evaluate(docs, { methods: [{ kind: 'cbtm', topK: 1 }], corpusName: 'valid' });
 * ```
 */
export interface EvaluateOptions extends LongRunOptions {
  /**
   * Methods to compare. The default: c-BTM at top-1, 2, 4 (those below k) and all; a single
   * expert (`single-expert`: each document scored by its one nearest expert, routed on its
   * first 32 tokens); `dense` and `random-all` (plus `random-top1` when the random experts
   * have a router) when the run has them.
   */
  readonly methods?: readonly EvalMethod[];
  /**
   * Where to write the results; `false` writes nothing.
   * @default '<runDir>/eval/results.json' (nothing when the ensemble has no run directory)
   */
  readonly outFile?: string | false;
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
 * ensemble.evaluate(docs, { ...defaultEvaluateOptions, batchDocuments: 4 });
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
 * Contents of `eval/results.json`.
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

interface ResolvedMethod {
  readonly name: string;
  readonly method: EvalMethod;
  readonly set: ExpertSet;
  readonly setName: 'experts' | 'dense' | 'random';
}

function defaultMethods(ensemble: Ensemble): EvalMethod[] {
  const out: EvalMethod[] = [];
  for (const topK of [1, 2, 4]) if (topK < ensemble.k) out.push({ kind: 'cbtm', topK });
  out.push({ kind: 'cbtm' });
  out.push({ kind: 'cbtm', name: 'single-expert', topK: 1, weightsMode: 'per-sequence' });
  if (ensemble.dense) out.push({ kind: 'dense' });
  if (ensemble.random) {
    if (!(ensemble.random.routing instanceof UniformRouting) && ensemble.random.pool.count > 1) {
      out.push({ kind: 'random', topK: 1 });
    }
    out.push({ kind: 'random' });
  }
  return out;
}

function methodName(m: EvalMethod, k: number): string {
  if (m.name) return m.name;
  switch (m.kind) {
    case 'cbtm':
    case 'random': {
      const top = m.topK === undefined || m.topK >= k ? 'all' : `top${m.topK}`;
      const seq = m.weightsMode === 'per-sequence' ? '-seq' : '';
      const temp = m.temperature === undefined ? '' : `-T${m.temperature}`;
      return `${m.kind}-${top}${seq}${temp}`;
    }
    case 'expert':
      return `expert-${m.expert}`;
    case 'dense':
      return 'dense';
    default:
      return assertUnreachable(m, 'method');
  }
}

function resolveMethods(ensemble: Ensemble, methods: readonly EvalMethod[]): ResolvedMethod[] {
  const out: ResolvedMethod[] = [];
  const names = new Set<string>();
  for (const method of methods) {
    let set: ExpertSet | undefined;
    let setName: ResolvedMethod['setName'];
    switch (method.kind) {
      case 'cbtm':
        set = ensemble.experts;
        setName = 'experts';
        break;
      case 'expert':
        set = ensemble.experts;
        setName = 'experts';
        if (!Number.isInteger(method.expert) || method.expert < 0 || method.expert >= ensemble.k) {
          throw new InvalidArgumentError(
            `Method expert-${method.expert}: there are ${ensemble.k} experts.`,
          );
        }
        break;
      case 'dense':
        set = ensemble.dense;
        setName = 'dense';
        break;
      case 'random':
        set = ensemble.random;
        setName = 'random';
        break;
      default:
        return assertUnreachable(method, 'method');
    }
    if (!set) {
      throw new InvalidArgumentError(
        `Method "${method.kind}" needs ${setName === 'dense' ? '<run>/dense/' : '<run>/random/experts/'}, which this run does not have.`,
      );
    }
    const name = methodName(method, set.pool.count);
    if (names.has(name))
      throw new InvalidArgumentError(`Two methods are both named "${name}"; give one a name.`);
    names.add(name);
    out.push({ name, method, set, setName });
  }
  return out;
}

interface BatchDoc {
  readonly seq: PreparedSequence;
  readonly domain: string | undefined;
}

/**
 * Implementation of {@link Ensemble.evaluate}.
 *
 * @example
 * ```ts
 * const results = await evaluateEnsemble(ensemble, docs, { outFile: false });
 * ```
 */
export async function evaluateEnsemble(
  ensemble: Ensemble,
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
  const methods = resolveMethods(ensemble, options.methods ?? defaultMethods(ensemble));
  if (methods.length === 0) throw new InvalidArgumentError('evaluate needs at least one method.');
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
    const needed = new Map<ExpertSet, Map<number, Set<number>>>();
    for (const m of methods) {
      const routes: RouteResult[][] = [];
      for (let d = 0; d < batch.length; d++) {
        throwIfAborted(options.signal);
        const seq = batch[d]!.seq;
        let r: RouteResult[];
        if (m.method.kind === 'dense') r = new Array(seq.targets.length).fill(fixedRoute(0));
        else if (m.method.kind === 'expert')
          r = new Array(seq.targets.length).fill(fixedRoute(m.method.expert));
        else {
          r = await ensemble.planRoutes(seq, m.set.routing!, {
            topK: m.method.topK,
            temperature: m.method.temperature,
            weightsMode: m.method.weightsMode,
            sequencePrefixTokens: prefixTokens,
          });
        }
        routes.push(r);
        const perSet = needed.get(m.set) ?? new Map<number, Set<number>>();
        needed.set(m.set, perSet);
        const used = new Set(r.flatMap((x) => x.experts));
        expertsRun.set(m.name, expertsRun.get(m.name)! + used.size);
        for (const j of used) {
          const docs = perSet.get(j) ?? new Set<number>();
          docs.add(d);
          perSet.set(j, docs);
        }
      }
      plans.set(m.name, routes);
    }
    const targets = new Map<ExpertSet, Map<number, Map<number, Float64Array>>>();
    for (const [set, perExpert] of needed) {
      const bySet = new Map<number, Map<number, Float64Array>>();
      targets.set(set, bySet);
      for (const j of [...perExpert.keys()].sort((a, b) => a - b)) {
        throwIfAborted(options.signal);
        const docIdx = [...perExpert.get(j)!].sort((a, b) => a - b);
        const lps = await Ensemble.targetsFor(
          ensemble,
          set,
          j,
          docIdx.map((d) => batch[d]!.seq),
        );
        const byDoc = new Map<number, Float64Array>();
        docIdx.forEach((d, i) => {
          byDoc.set(d, lps[i]!);
        });
        bySet.set(j, byDoc);
      }
    }
    for (const m of methods) {
      const routes = plans.get(m.name)!;
      const bySet = targets.get(m.set)!;
      for (let d = 0; d < batch.length; d++) {
        const rows = new Map<number, Float64Array>();
        for (const [j, byDoc] of bySet) {
          const lp = byDoc.get(d);
          if (lp) rows.set(j, lp);
        }
        acc.get(m.name)!.add(mixSequence(rows, routes[d]!), batch[d]!.domain);
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
      seq: prepareSequence(ensemble.tokenizer, doc.text, { appendEos, maxTokens }),
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
    backend: ensemble.backend,
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
      k: ensemble.k,
      embedder: ensemble.embedder.kind ?? 'unknown',
      appendEos,
      maxTokensPerDocument: Number.isFinite(maxTokens) ? maxTokens : null,
      sequencePrefixTokens: prefixTokens,
      defaultTemperature: defaultRouteOptions.temperature,
      reembedStride: ensemble.reembedStride,
      hasDense: ensemble.dense !== undefined,
      randomExperts: ensemble.random?.pool.count ?? 0,
      randomRouting: ensemble.random
        ? ensemble.random.routing instanceof UniformRouting
          ? 'uniform'
          : 'router'
        : null,
    },
  };
  const outFile =
    options.outFile ?? (ensemble.runDir ? join(ensemble.runDir, 'eval', 'results.json') : false);
  if (outFile) await writeJsonAtomic(outFile, results);
  progress.done({ metrics: { tokens } });
  return results;
}
