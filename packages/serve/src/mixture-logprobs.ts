import { type Ensemble, mixDistributions } from '@cbtm/ensemble';

/** One position to score: `ids[target]` given `ids[0..target)`, under these experts and weights. */
export interface ScoredStep {
  readonly target: number;
  readonly experts: readonly number[];
  readonly weights: readonly number[];
}

/** The mixture's log-probability of one token, and its most likely alternatives. */
export interface StepLogProbs {
  readonly logProb: number;
  /** The `top` most likely tokens, most likely first: `[id, logProb]`. */
  readonly top: readonly (readonly [number, number])[];
}

/**
 * The mixture's log-probabilities at `steps` of `ids`, with the experts and weights that each
 * step was generated (or scored) with. Each expert runs once over `ids` when it fits its context,
 * else once per step over the window before it, as generation does.
 */
export async function mixtureLogProbs(
  ensemble: Ensemble,
  ids: readonly number[],
  steps: readonly ScoredStep[],
  top: number,
): Promise<StepLogProbs[]> {
  const rows = steps.map(() => new Map<number, Float32Array>());
  const used = [...new Set(steps.flatMap((s) => s.experts))];
  for (const j of used) {
    await ensemble.experts.use(j, async (m) => {
      const { contextLength: C, vocabSize: V } = m.config;
      const mine = steps.flatMap((s, i) => (s.experts.includes(j) ? [i] : []));
      const row = (all: Float32Array, pos: number) => all.slice(pos * V, (pos + 1) * V);
      if (ids.length - 1 <= C) {
        const all = await m.logProbs(Int32Array.from(ids.slice(0, -1)));
        for (const i of mine) rows[i]!.set(j, row(all, steps[i]!.target - 1));
      } else {
        for (const i of mine) {
          const t = steps[i]!.target;
          const window = Int32Array.from(ids.slice(Math.max(0, t - C), t));
          rows[i]!.set(j, row(await m.logProbs(window), window.length - 1));
        }
      }
    });
  }
  return steps.map((s, i) => {
    const mixed = mixDistributions(
      s.experts.map((j) => rows[i]!.get(j)!),
      s.weights,
    );
    return { logProb: mixed[ids[s.target]!]!, top: topOf(mixed, top) };
  });
}

function topOf(logProbs: Float64Array, n: number): [number, number][] {
  const best: [number, number][] = [];
  if (n <= 0) return best;
  for (let v = 0; v < logProbs.length; v++) {
    const lp = logProbs[v]!;
    if (best.length === n && lp <= best[n - 1]![1]) continue;
    best.push([v, lp]);
    best.sort((a, b) => b[1] - a[1]);
    if (best.length > n) best.pop();
  }
  return best;
}
