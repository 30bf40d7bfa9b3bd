import { ExactRouter } from '@cbtm/route/node';
import { describe, expect, it } from 'vitest';
import { Ensemble } from './ensemble.js';
import { evaluate } from './evaluate.js';
import { defaultEvalMethods, evalMethodName, scorersFor } from './scorers.js';
import { CharTokenizer } from './test-utils/char-tokenizer.js';
import {
  centroids,
  completePrefix,
  ensembleOf,
  handMixture,
  handWeights,
  letterVector,
  makeEnsemble,
} from './test-utils/fixture.js';

describe('evaluate', () => {
  const corpus = [
    { id: '1', text: 'ab ba', domain: 'x' },
    { id: '2', text: 'bbb b a', domain: 'y' },
    { id: '3', text: 'a aa', domain: 'x' },
  ];

  it('reports perplexity = exp(mean NLL) per method and domain', async () => {
    const { ensemble, experts, dense, denseModel, random, randomModels } = makeEnsemble();
    const results = await evaluate(scorersFor({ cbtm: ensemble, dense, random }), corpus, {
      batchDocuments: 2,
      corpusName: 'tiny',
      backend: 'test',
    });
    expect(Object.keys(results.methods)).toEqual([
      'cbtm-top1',
      'cbtm-top2',
      'cbtm-all',
      'single-expert',
      'dense',
      'random-all',
    ]);
    const tokens = corpus.reduce((s, d) => s + d.text.length + 1, 0);
    expect(results.tokens).toBe(tokens);
    expect(results).toMatchObject({ format: 'cbtm-eval', version: 1, backend: 'test' });
    expect(results.corpus).toEqual({ name: 'tiny', documents: 3, domains: ['x', 'y'] });

    // Recompute each method's per-token log-probabilities by hand, then exp(mean NLL).
    const byHand = (fn: (doc: string) => number[]) => {
      const all: number[] = [];
      const dom: Record<string, number[]> = {};
      for (const d of corpus) {
        const lps = fn(d.text);
        all.push(...lps);
        dom[d.domain] = [...(dom[d.domain] ?? []), ...lps];
      }
      const ppl = (xs: number[]) => Math.exp(-xs.reduce((a, b) => a + b, 0) / xs.length);
      return {
        ppl: ppl(all),
        x: ppl(dom.x!),
        y: ppl(dom.y!),
        nll: -all.reduce((a, b) => a + b, 0) / all.length,
      };
    };
    const cbtm2 = byHand((doc) =>
      handMixture(doc, experts, (t) =>
        handWeights(letterVector(completePrefix(doc, t)), centroids, 3, 2, 0.1),
      ),
    );
    const m2 = results.methods['cbtm-top2']!;
    expect(m2.perplexity).toBeCloseTo(cbtm2.ppl, 4);
    expect(m2.nll).toBeCloseTo(cbtm2.nll, 6);
    expect(m2.tokens).toBe(tokens);
    expect(m2.perDomain.x!.perplexity).toBeCloseTo(cbtm2.x, 4);
    expect(m2.perDomain.y!.perplexity).toBeCloseTo(cbtm2.y, 4);

    const single = byHand((doc) =>
      handMixture(doc, experts, () =>
        handWeights(letterVector(doc.slice(0, 32)), centroids, 3, 1, 0.1),
      ),
    );
    expect(results.methods['single-expert']!.perplexity).toBeCloseTo(single.ppl, 4);
    expect(results.methods['single-expert']!.expertsPerDocument).toBe(1);

    const denseHand = byHand((doc) => handMixture(doc, [denseModel], () => new Map([[0, 1]])));
    expect(results.methods.dense!.perplexity).toBeCloseTo(denseHand.ppl, 4);

    const randomHand = byHand((doc) =>
      handMixture(
        doc,
        randomModels,
        () =>
          new Map([
            [0, 0.5],
            [1, 0.5],
          ]),
      ),
    );
    expect(results.methods['random-all']!.perplexity).toBeCloseTo(randomHand.ppl, 4);
    expect(results.methods['random-all']!.expertsPerDocument).toBe(2);
    expect(results.methods.dense!.expertsPerDocument).toBe(1);
    expect(results.config).toMatchObject({
      k: 3,
      randomExperts: 2,
      randomRouting: 'uniform',
      hasDense: true,
    });
    // The baselines are ordinary ensembles: each scores the same on its own.
    const alone = await evaluate([{ ensemble: dense, method: { kind: 'dense' } }], corpus);
    expect(alone.methods.dense!.perplexity).toBe(results.methods.dense!.perplexity);
    expect(alone.backend).toBe('unknown');
    expect(alone.config).toMatchObject({ k: 1, hasDense: true, randomExperts: 0 });
  });

  it('loads each needed expert once per batch, within the LRU bound', async () => {
    const { ensemble } = makeEnsemble({ maxLoaded: 1 });
    await evaluate([{ ensemble, method: { kind: 'cbtm' } }], corpus, { batchDocuments: 3 });
    expect(ensemble.experts.loads).toBe(3);
    expect(ensemble.experts.loaded().length).toBe(1);
  });

  it('scores one fixed expert and rejects methods the run cannot serve', async () => {
    const { ensemble, experts } = makeEnsemble();
    const r = await evaluate(scorersFor({ cbtm: ensemble }, [{ kind: 'expert', expert: 2 }]), [
      'ab a',
    ]);
    const lps = handMixture('ab a', experts, () => new Map([[2, 1]]));
    expect(r.methods['expert-2']!.perplexity).toBeCloseTo(
      Math.exp(-lps.reduce((a, b) => a + b, 0) / lps.length),
      4,
    );
    expect(() => scorersFor({ cbtm: ensemble }, [{ kind: 'dense' }])).toThrow(/<run>\/dense\//);
    expect(() => scorersFor({ cbtm: ensemble }, [{ kind: 'random' }])).toThrow(/random\/experts/);
    await expect(
      evaluate([{ ensemble, method: { kind: 'expert', expert: 3 } }], ['ab']),
    ).rejects.toThrow(/there are 3 experts/);
    await expect(
      evaluate(
        [
          { ensemble, method: { kind: 'cbtm', topK: 2 } },
          { ensemble, method: { kind: 'cbtm', topK: 2 } },
        ],
        ['ab'],
      ),
    ).rejects.toThrow(/both named "cbtm-top2"/);
    await expect(evaluate(scorersFor({ cbtm: ensemble }), [])).rejects.toThrow(/no non-empty/);
    await expect(evaluate([], ['ab'])).rejects.toThrow(/at least one method/);
  });

  it('needs one tokenizer for every scorer', async () => {
    const { ensemble, experts } = makeEnsemble();
    const other = new Ensemble({
      tokenizer: new CharTokenizer('ab '),
      embedder: ensemble.embedder,
      experts: ensemble.experts,
      router: ensemble.router,
    });
    await expect(
      evaluate(
        [
          { ensemble, method: { kind: 'cbtm' } },
          { ensemble: other, method: { kind: 'cbtm', name: 'other' } },
        ],
        ['ab'],
      ),
    ).rejects.toThrow(/another tokenizer/);
    expect(experts.every((m) => m.calls === 0)).toBe(true);
  });
});

describe('defaultEvalMethods', () => {
  it('lists top-k below k, all, single-expert, then the baselines the run has', () => {
    const { ensemble, dense, random, randomModels } = makeEnsemble();
    const names = (run: Parameters<typeof defaultEvalMethods>[0]) =>
      defaultEvalMethods(run).map((m) => evalMethodName(m, m.kind === 'random' ? 2 : run.cbtm.k));
    expect(names({ cbtm: ensemble })).toEqual([
      'cbtm-top1',
      'cbtm-top2',
      'cbtm-all',
      'single-expert',
    ]);
    expect(names({ cbtm: ensemble, dense, random })).toEqual([
      'cbtm-top1',
      'cbtm-top2',
      'cbtm-all',
      'single-expert',
      'dense',
      'random-all',
    ]);
    // Random experts with a router of their own are also scored top-1.
    const routed = ensembleOf(randomModels, new ExactRouter(Float32Array.of(1, 0, 0, 1), 2, 2));
    expect(names({ cbtm: ensemble, random: routed }).slice(-2)).toEqual([
      'random-top1',
      'random-all',
    ]);
  });
});
