import { assertUnreachable, InvalidArgumentError } from '@cbtm/core';
import type { Ensemble, WeightsMode } from './ensemble.js';
import type { MixingRule } from './posterior.js';
import { UniformRouting } from './routing.js';

/**
 * How a {@link Scorer} scores, and the label its results carry.
 *
 * - `cbtm`: the ensemble's routed mixture (named `cbtm-top<k>` or `cbtm-all`, `-seq` when
 *   per-sequence, `-T<T>` with a temperature, `-cached-prior` or `-updating-prior` with a BTM
 *   mixing rule, which takes its `prior` per expert id).
 * - `random`: the same for the random-cluster baseline (`random-top<k>`, `random-all`).
 * - `expert`: one fixed expert of the ensemble for every document (`expert-<j>`).
 * - `dense`: a single-model ensemble, the dense baseline (`dense`).
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
      readonly mixing?: MixingRule;
      readonly prior?: readonly number[];
    }
  | { readonly kind: 'expert'; readonly name?: string; readonly expert: number }
  | { readonly kind: 'dense'; readonly name?: string };

/**
 * One way of scoring a corpus: an ensemble and the method that uses it.
 *
 * @example
 * ```ts
 * const scorers: Scorer[] = [{ ensemble: cbtm, method: { kind: 'cbtm', topK: 2 } }, { ensemble: dense, method: { kind: 'dense' } }];
 * ```
 */
export interface Scorer {
  readonly ensemble: Ensemble;
  readonly method: EvalMethod;
}

/**
 * The ensembles of one run: the c-BTM experts and, when the run has them, the baselines.
 * `loadRun` (from `@cbtm/ensemble/node`) returns one.
 *
 * @example
 * ```ts
 * const run: RunEnsembles = { cbtm, dense };
 * ```
 */
export interface RunEnsembles {
  /** The c-BTM experts under the run's router. */
  readonly cbtm: Ensemble;
  /** The dense baseline: one model under `UniformRouting(1, d)`. */
  readonly dense?: Ensemble;
  /** The random-cluster experts, under their router or mixed uniformly. */
  readonly random?: Ensemble;
}

/**
 * The methods a run is scored with by default: c-BTM at top-1, 2, 4 (those below k) and all; a
 * single expert (`single-expert`: each document scored by its one nearest expert, routed on its
 * first tokens); `dense` and `random-all` (plus `random-top1` when the random experts have a
 * router) when the run has them.
 *
 * @example
 * ```ts
 * defaultEvalMethods({ cbtm }).map((m) => m.kind); // ['cbtm', 'cbtm', 'cbtm', 'cbtm'] for k = 8
 * ```
 */
export function defaultEvalMethods(run: RunEnsembles): EvalMethod[] {
  const out: EvalMethod[] = [];
  for (const topK of [1, 2, 4]) if (topK < run.cbtm.k) out.push({ kind: 'cbtm', topK });
  out.push({ kind: 'cbtm' });
  out.push({ kind: 'cbtm', name: 'single-expert', topK: 1, weightsMode: 'per-sequence' });
  if (run.dense) out.push({ kind: 'dense' });
  if (run.random) {
    if (!(run.random.router instanceof UniformRouting) && run.random.k > 1) {
      out.push({ kind: 'random', topK: 1 });
    }
    out.push({ kind: 'random' });
  }
  return out;
}

/**
 * Pairs each method with the ensemble of `run` it needs: `cbtm` and `expert` use `run.cbtm`,
 * `dense` and `random` the baselines. Throws when the run lacks a baseline a method needs.
 *
 * @example
 * ```ts
 * const results = await evaluate(scorersFor(run, [{ kind: 'cbtm', topK: 2 }, { kind: 'dense' }]), docs);
 * ```
 */
export function scorersFor(
  run: RunEnsembles,
  methods: readonly EvalMethod[] = defaultEvalMethods(run),
): Scorer[] {
  return methods.map((method) => {
    let ensemble: Ensemble | undefined;
    switch (method.kind) {
      case 'cbtm':
      case 'expert':
        ensemble = run.cbtm;
        break;
      case 'dense':
        ensemble = run.dense;
        break;
      case 'random':
        ensemble = run.random;
        break;
      default:
        return assertUnreachable(method, 'method');
    }
    if (!ensemble) {
      throw new InvalidArgumentError(
        `Method "${method.kind}" needs ${method.kind === 'dense' ? '<run>/dense/' : '<run>/random/experts/'}, which this run does not have.`,
      );
    }
    return { ensemble, method };
  });
}

/**
 * The name of a method in the results: its `name`, or one made from its settings
 * (`cbtm-top2`, `cbtm-all-seq`, `random-all`, `expert-3`, `dense`). `k` is the ensemble's
 * expert count: a top-k of k or more is `all`.
 *
 * @example
 * ```ts
 * evalMethodName({ kind: 'cbtm', topK: 2 }, 4); // 'cbtm-top2'
 * ```
 */
export function evalMethodName(m: EvalMethod, k: number): string {
  if (m.name) return m.name;
  switch (m.kind) {
    case 'cbtm':
    case 'random': {
      const top = m.topK === undefined || m.topK >= k ? 'all' : `top${m.topK}`;
      const seq = m.weightsMode === 'per-sequence' ? '-seq' : '';
      const temp = m.temperature === undefined ? '' : `-T${m.temperature}`;
      const mix = m.mixing === undefined || m.mixing === 'distance' ? '' : `-${m.mixing}`;
      return `${m.kind}-${top}${seq}${temp}${mix}`;
    }
    case 'expert':
      return `expert-${m.expert}`;
    case 'dense':
      return 'dense';
    default:
      return assertUnreachable(m, 'method');
  }
}
