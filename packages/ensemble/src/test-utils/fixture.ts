import { ExactRouter } from '@cbtm/route/node';
import { Ensemble } from '../ensemble.js';
import { ExpertPool } from '../expert-pool.js';
import { type Routing, UniformRouting } from '../routing.js';
import { BigramModel } from './bigram-model.js';
import { CharTokenizer } from './char-tokenizer.js';
import { LetterEmbedder } from './letter-embedder.js';

export const tokenizer = new CharTokenizer('ab ');
export const V = tokenizer.vocabSize;

/** Three centroids in the 2-d letter space: all-a, all-b, and in between. */
export const centroids = Float32Array.of(1, 0, 0, 1, 0.6, 0.8);

/** An ensemble of bigram models under `router` (a single model mixes uniformly by default). */
export function ensembleOf(
  models: BigramModel[],
  router: Routing = new UniformRouting(models.length, 2),
  opts: { maxLoaded?: number; embedder?: Ensemble['embedder'] } = {},
): Ensemble {
  return new Ensemble({
    tokenizer,
    embedder: opts.embedder ?? new LetterEmbedder('ab'),
    experts: new ExpertPool(models.length, async (j) => models[j]!, {
      maxLoaded: opts.maxLoaded ?? 8,
    }),
    router,
  });
}

export function makeEnsemble(
  opts: {
    k?: number;
    centroids?: Float32Array;
    embedder?: Ensemble['embedder'];
    maxLoaded?: number;
  } = {},
) {
  const c = opts.centroids ?? centroids;
  const k = opts.k ?? c.length / 2;
  const experts = Array.from({ length: k }, (_, j) => BigramModel.random(V, 100 + j));
  const denseModel = BigramModel.random(V, 7);
  const randomModels = [BigramModel.random(V, 200), BigramModel.random(V, 201)];
  const embedder = opts.embedder ?? new LetterEmbedder('ab');
  const ensemble = ensembleOf(experts, new ExactRouter(c.subarray(0, k * 2), k, 2), {
    embedder,
    ...(opts.maxLoaded !== undefined ? { maxLoaded: opts.maxLoaded } : {}),
  });
  // The baselines: one model mixed alone, and two random-cluster experts mixed uniformly.
  const dense = ensembleOf([denseModel], undefined, { embedder });
  const random = ensembleOf(randomModels, undefined, { embedder });
  return { ensemble, experts, dense, denseModel, random, randomModels, embedder };
}

/** The text of complete words before position t, computed from the string alone. */
export function completePrefix(text: string, t: number): string {
  const before = text.slice(0, t);
  return before.slice(0, before.lastIndexOf(' ') + 1);
}

/** Letter-count embedding, computed independently of LetterEmbedder. */
export function letterVector(text: string): number[] {
  const a = [...text].filter((ch) => ch === 'a').length;
  const b = [...text].filter((ch) => ch === 'b').length;
  const n = Math.hypot(a, b);
  return n > 0 ? [a / n, b / n] : [0, 0];
}

/** Hand-computed routing weights: exp(−d²/T) over the topK nearest, renormalized. */
export function handWeights(
  vec: number[],
  c: Float32Array,
  k: number,
  topK: number,
  T: number,
): Map<number, number> {
  const d2 = Array.from(
    { length: k },
    (_, j) => (vec[0]! - c[2 * j]!) ** 2 + (vec[1]! - c[2 * j + 1]!) ** 2,
  );
  const order = d2
    .map((_, j) => j)
    .sort((x, y) => d2[x]! - d2[y]! || x - y)
    .slice(0, topK);
  const raw = order.map((j) => Math.exp(-d2[j]! / T));
  const z = raw.reduce((s, x) => s + x, 0);
  return new Map(order.map((j, i) => [j, raw[i]! / z]));
}

/** log p of each target of `text` (+ eos) under a weighted bigram mixture, by hand. */
export function handMixture(
  text: string,
  models: BigramModel[],
  weightsAt: (t: number) => Map<number, number>,
): number[] {
  const ids = [...tokenizer.encode(text), tokenizer.eosId];
  return ids.map((target, t) => {
    const prev = t === 0 ? tokenizer.eosId : ids[t - 1]!;
    let p = 0;
    for (const [j, w] of weightsAt(t)) p += w * Math.exp(models[j]!.logProb(prev, target));
    return Math.log(p);
  });
}
