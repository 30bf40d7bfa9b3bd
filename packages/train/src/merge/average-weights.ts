import { CbtmError, InvalidArgumentError } from '@cbtm/core';
import { type GptConfig, gptParamSpecs } from '../model/gpt-config.js';

/**
 * A model's configuration and weights by name, as `readModelFiles` (or `GptModel.getWeights()`)
 * gives them.
 *
 * @example
 * ```ts
 * const m: ModelWeights = { config: model.config, weights: model.getWeights() };
 * ```
 */
export interface ModelWeights {
  readonly config: GptConfig;
  readonly weights: ReadonlyMap<string, Float32Array>;
}

/**
 * Coefficients checked and scaled to sum to 1. Each must be finite and ≥ 0, and one > 0.
 *
 * @example
 * ```ts
 * normalizeCoefficients([1, 3]); // Float64Array [0.25, 0.75]
 * ```
 */
export function normalizeCoefficients(coefficients: readonly number[]): Float64Array {
  let sum = 0;
  coefficients.forEach((c, i) => {
    if (!Number.isFinite(c) || c < 0) {
      throw new InvalidArgumentError(
        `Averaging weight ${i} is ${c}; weights must be finite and ≥ 0.`,
      );
    }
    sum += c;
  });
  if (!(sum > 0)) throw new InvalidArgumentError('The averaging weights are all 0.');
  return Float64Array.from(coefficients, (c) => c / sum);
}

/** The architecture fields two models must share to be averaged. */
const SHAPE_FIELDS = [
  'vocabSize',
  'dModel',
  'nHead',
  'nLayer',
  'contextLength',
  'mlpRatio',
] as const;

/**
 * Parameter averaging (BTM's merge of expert LMs into one dense model): every tensor of the
 * result is Σ_j c_j · W_j, with the coefficients scaled to sum to 1, summed in float64 and
 * stored as float32. All models must have the same architecture (vocabulary, width, heads,
 * layers, context, MLP ratio); the error names the first field that differs. The result takes
 * the first model's config.
 *
 * @param models - the models to average, e.g. a run's experts.
 * @param coefficients - one weight per model, ≥ 0 (uniform: all 1; posterior: p(j | corpus)).
 *
 * @example
 * ```ts
 * const merged = averageWeights([a, b], [0.25, 0.75]);
 * merged.get('wte'); // 0.25·a.wte + 0.75·b.wte
 * ```
 */
export function averageWeights(
  models: readonly ModelWeights[],
  coefficients: readonly number[],
): Map<string, Float32Array> {
  if (models.length === 0) throw new InvalidArgumentError('Averaging needs at least one model.');
  if (coefficients.length !== models.length) {
    throw new InvalidArgumentError(
      `Got ${models.length} models but ${coefficients.length} averaging weights.`,
    );
  }
  const c = normalizeCoefficients(coefficients);
  const first = models[0]!.config;
  models.forEach((m, j) => {
    for (const f of SHAPE_FIELDS) {
      if (m.config[f] !== first[f]) {
        throw new CbtmError(
          'E_MODEL',
          `Model ${j} has ${f} ${m.config[f]} but model 0 has ${first[f]}; only models of one architecture (and one tokenizer) can be averaged.`,
        );
      }
    }
  });
  const out = new Map<string, Float32Array>();
  for (const spec of gptParamSpecs(first)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const acc = new Float64Array(size);
    models.forEach((m, j) => {
      const w = m.weights.get(spec.name);
      if (!w || w.length !== size) {
        throw new CbtmError(
          'E_MODEL',
          `Model ${j}: weight ${spec.name} is missing or has ${w?.length ?? 0} values, expected ${size} (shape [${spec.shape.join(', ')}]).`,
        );
      }
      const cj = c[j]!;
      for (let i = 0; i < size; i++) acc[i]! += cj * w[i]!;
    });
    out.set(spec.name, Float32Array.from(acc));
  }
  return out;
}
