import { ExactRouter } from '@cbtm/route';
import { describe, expect, it } from 'vitest';
import { ExpertSubsetRouting } from './expert-set.js';
import { posteriorWeights, topWeightsRoute, updatingPriorRoutes } from './posterior.js';
import { BigramModel } from './test-utils/bigram-model.js';
import { ensembleOf, tokenizer, V } from './test-utils/fixture.js';

/** A model whose next-token distribution ignores the previous token: p over [a, b, ' ', eos]. */
function unigram(p: number[]): BigramModel {
  const table = new Float32Array(V * V);
  for (let prev = 0; prev < V; prev++)
    for (let v = 0; v < V; v++) table[prev * V + v] = Math.log(p[v]!);
  return new BigramModel(table, V);
}

// Expert 0 likes 'a', expert 1 likes 'b'; every probability is a power of 2, so the hand
// computations below are exact.
const e0 = unigram([0.5, 0.25, 0.125, 0.125]);
const e1 = unigram([0.125, 0.5, 0.25, 0.125]);
const ensemble = ensembleOf([e0, e1]);
const lp = (x: number) => Math.log(x);

describe('posteriorWeights and topWeightsRoute', () => {
  it('are Bayes’ rule and a renormalized top-k', () => {
    const w = posteriorWeights([lp(0.2), lp(0.6)]);
    expect(w[0]).toBeCloseTo(0.25, 12);
    expect(w[1]).toBeCloseTo(0.75, 12);
    // Prior (0.75, 0.25) cancels the likelihood ratio 1:3.
    expect(Array.from(posteriorWeights([lp(0.2), lp(0.6)], [0.75, 0.25]))).toEqual([0.5, 0.5]);
    // Log-likelihoods far below exp's range still work.
    expect(posteriorWeights([-5000, -5000 + Math.log(3)])[1]).toBeCloseTo(0.75, 12);
    expect(posteriorWeights([-1, -2], [0, 1])[0]).toBe(0);
    const r = topWeightsRoute([0, 1, 2], [0.2, 0.5, 0.3], 2);
    expect(r.experts).toEqual([1, 2]);
    expect(r.weights[0]).toBeCloseTo(0.625, 6);
    expect(r.weights[1]).toBeCloseTo(0.375, 6);
  });
});

describe('the BTM mixing rules, by hand on two experts', () => {
  // "ab" then end-of-document: targets a, b, eos.
  it('updating prior: w_j(t) ∝ π_j · p_j(x_<t), starting uniform', async () => {
    // t=0: w = (½, ½), p(a) = ½·½ + ½·⅛ = 0.3125.
    // t=1: likelihoods (½, ⅛) → w = (0.8, 0.2), p(b) = 0.8·¼ + 0.2·½ = 0.3.
    // t=2: likelihoods (⅛, 1/16) → w = (⅔, ⅓), p(eos) = ⅛.
    const s = await ensemble.scoreSequence('ab', { mixing: 'updating-prior' });
    [0.3125, 0.3, 0.125].forEach((p, t) => {
      expect(s.tokenLogProbs[t]).toBeCloseTo(lp(p), 6);
    });
    expect(s.routes[1]!.experts).toEqual([0, 1]);
    expect(s.routes[1]!.weights[0]).toBeCloseTo(0.8, 6);
    expect(s.routes[2]!.weights[0]).toBeCloseTo(2 / 3, 6);
    expect(s.expertsRun).toEqual([0, 1]);
  });

  it('updating prior from a given prior, and cut to top-1', async () => {
    // π = (0.2, 0.8). t=0: p(a) = 0.2·½ + 0.8·⅛ = 0.2. t=1: (0.1, 0.1) → (½, ½), p(b) = 0.375.
    // t=2: (0.025, 0.05) → (⅓, ⅔), p(eos) = ⅛.
    const s = await ensemble.scoreSequence('ab', { mixing: 'updating-prior', prior: [0.2, 0.8] });
    expect(s.tokenLogProbs[0]).toBeCloseTo(lp(0.2), 6);
    expect(s.tokenLogProbs[1]).toBeCloseTo(lp(0.375), 6);
    expect(s.tokenLogProbs[2]).toBeCloseTo(lp(0.125), 6);
    // Top-1 from uniform: a tie at t=0 goes to expert 0 (p(a) = ½), then expert 0 leads (0.8).
    const top1 = await ensemble.scoreSequence('ab', { mixing: 'updating-prior', topK: 1 });
    [0.5, 0.25, 0.125].forEach((p, t) => {
      expect(top1.tokenLogProbs[t]).toBeCloseTo(lp(p), 6);
    });
  });

  it('an expert with prior 0 neither runs nor gets weight under the updating prior', async () => {
    const s = await ensemble.scoreSequence('ab', { mixing: 'updating-prior', prior: [0, 1] });
    expect(s.expertsRun).toEqual([1]);
    expect(s.tokenLogProbs[0]).toBeCloseTo(lp(0.125), 6);
    expect(s.tokenLogProbs[1]).toBeCloseTo(lp(0.5), 6);
  });

  it('cached prior: fixed weights π for every position', async () => {
    // p(a) = 0.2·½ + 0.8·⅛ = 0.2, p(b) = 0.2·¼ + 0.8·½ = 0.45, p(eos) = ⅛.
    const s = await ensemble.scoreSequence('ab', { mixing: 'cached-prior', prior: [1, 4] });
    expect(s.tokenLogProbs[0]).toBeCloseTo(lp(0.2), 6);
    expect(s.tokenLogProbs[1]).toBeCloseTo(lp(0.45), 6);
    expect(s.tokenLogProbs[2]).toBeCloseTo(lp(0.125), 6);
    await expect(ensemble.scoreSequence('ab', { mixing: 'cached-prior' })).rejects.toThrow(
      /needs a prior/,
    );
    await expect(
      ensemble.scoreSequence('ab', { mixing: 'cached-prior', prior: [1] }),
    ).rejects.toThrow(/1 entries but there are 2 experts/);
  });

  it('estimatePrior: the mean of each held-out document’s posterior', async () => {
    // "ab"+eos: likelihoods (½·¼·⅛, ⅛·½·⅛) → p(0 | doc) = ⅔.
    // "bb"+eos: (¼·¼·⅛, ½·½·⅛) → p(0 | doc) = 0.2. Mean: (⅔ + 0.2)/2 = 13/30.
    const prior = await ensemble.estimatePrior(['ab', 'bb']);
    expect(prior[0]).toBeCloseTo(13 / 30, 8);
    expect(prior[1]).toBeCloseTo(17 / 30, 8);
    const one = await ensemble.estimatePrior(['ab', 'bb'], { maxDocuments: 1 });
    expect(one[0]).toBeCloseTo(2 / 3, 8);
  });

  it('generation with the updating prior: the prompt and each sampled token update the weights', async () => {
    const steps = [];
    for await (const t of ensemble.generate('a', {
      mixing: 'updating-prior',
      temperature: 0,
      maxTokens: 2,
    }))
      steps.push(t);
    // Prompt "a": likelihoods (½, ⅛) → (0.8, 0.2); greedy picks a (0.425); then (¼, 1/64).
    expect(steps.map((t) => t.token)).toEqual(['a', 'a']);
    expect(steps[0]!.weights[0]).toBeCloseTo(0.8, 6);
    expect(steps[1]!.weights[0]).toBeCloseTo(0.25 / (0.25 + 1 / 64), 6);
    const cached = [];
    for await (const t of ensemble.generate('a', {
      mixing: 'cached-prior',
      prior: [1, 3],
      temperature: 0,
      maxTokens: 1,
    }))
      cached.push(t);
    // p(b) = ¼·¼ + ¾·½ = 0.4375 beats p(a) = ¼·½ + ¾·⅛ = 0.21875.
    expect(cached[0]).toMatchObject({ token: 'b', experts: [1, 0] });
  });

  it('skips removed experts: the posterior is over the rest', async () => {
    const e2 = unigram([0.25, 0.25, 0.25, 0.25]);
    const router = new ExactRouter(Float32Array.of(1, 0, 0, 1, 0.5, 0.5), 3, 2);
    const three = ensembleOf([e0, e2, e1], new ExpertSubsetRouting(router, [1]));
    const s = await three.scoreSequence('ab', { mixing: 'updating-prior' });
    expect(s.expertsRun).toEqual([0, 2]);
    expect(s.tokenLogProbs[1]).toBeCloseTo(lp(0.3), 6);
    const prior = await three.estimatePrior(['ab', 'bb']);
    expect(prior[1]).toBe(0);
    expect(prior[0]).toBeCloseTo(13 / 30, 8);
  });
});

describe('updatingPriorRoutes', () => {
  it('gives position 0 the prior and position t the posterior after t tokens', () => {
    const routes = updatingPriorRoutes(
      [3, 5],
      [Float64Array.of(lp(0.1), lp(0.5)), Float64Array.of(lp(0.3), lp(0.5))],
    );
    expect(routes[0]!.weights[0]).toBeCloseTo(0.5, 6);
    expect(routes[1]!.experts).toEqual([5, 3]);
    expect(routes[1]!.weights[0]).toBeCloseTo(0.75, 6);
    expect(tokenizer.vocabSize).toBe(4);
  });
});

describe('evaluate with the BTM mixing rules', () => {
  it('scores like scoreSequence and names the methods for their rule', async () => {
    const { evaluate } = await import('./evaluate.js');
    const results = await evaluate(
      [
        { ensemble, method: { kind: 'cbtm', mixing: 'updating-prior' } },
        { ensemble, method: { kind: 'cbtm', mixing: 'cached-prior', prior: [1, 4] } },
        { ensemble, method: { kind: 'cbtm', topK: 1, mixing: 'updating-prior' } },
      ],
      ['ab'],
    );
    expect(Object.keys(results.methods)).toEqual([
      'cbtm-all-updating-prior',
      'cbtm-all-cached-prior',
      'cbtm-top1-updating-prior',
    ]);
    const nll = (ps: number[]) => -ps.reduce((s, p) => s + lp(p), 0) / ps.length;
    expect(results.methods['cbtm-all-updating-prior']!.nll).toBeCloseTo(
      nll([0.3125, 0.3, 0.125]),
      6,
    );
    expect(results.methods['cbtm-all-cached-prior']!.nll).toBeCloseTo(nll([0.2, 0.45, 0.125]), 6);
    expect(results.methods['cbtm-top1-updating-prior']!.nll).toBeCloseTo(
      nll([0.5, 0.25, 0.125]),
      6,
    );
  });
});
