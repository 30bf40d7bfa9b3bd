import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GptModel } from '@cbtm/train';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvalResults } from './eval-results-file.js';
import { evaluate } from './evaluate.js';
import { loadRun } from './load-run.js';
import { scorersFor } from './scorers.js';
import { buildTinyRun, type TinyRun } from './test-utils/tiny-run.js';

let root: string;
let run3: TinyRun;
let run1: TinyRun;
const quiet = { log: () => undefined };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-ensemble-int-'));
  run3 = await buildTinyRun(join(root, 'k3'), {
    k: 3,
    randomExperts: 2,
    routerKind: 'hnsw',
    documents: 40,
  });
  run1 = await buildTinyRun(join(root, 'k1'), { k: 1, dense: false, documents: 20 });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Each expert's own log-probability of every target, straight from GptModel. */
async function ownTargetLogProbs(dir: string, ids: number[], eos: number): Promise<Float64Array> {
  const model = await GptModel.load(dir);
  const input = Int32Array.from([eos, ...ids.slice(0, -1)]);
  const rows = await model.logProbs(input);
  const V = model.config.vocabSize;
  model.dispose();
  return Float64Array.from(ids, (id, t) => rows[t * V + id]!);
}

/** The text of whole words before a position, from the string alone. */
function completeText(before: string): string {
  if (/\s$/u.test(before)) return before;
  const m = before.match(/^[\s\S]*\s/u);
  return m ? m[0] : '';
}

describe('loadRun: ensembles of a real run directory', () => {
  it('scores each position as its routed experts and a from-scratch re-embedding say', async () => {
    const run = await loadRun(run3.dir, { maxLoadedExperts: 2, ...quiet });
    const ensemble = run.cbtm;
    const text = run3.docs[3]!.text.slice(0, 400);
    const T = 0.1;
    const s = await ensemble.scoreSequence(text, { topK: 2, temperature: T });
    const tok = run3.tokenizer;
    const ids = [...tok.encode(text), tok.eosId];
    expect(Array.from(s.tokens)).toEqual(ids);
    const own = await Promise.all(
      [0, 1, 2].map((j) => ownTargetLogProbs(join(run3.dir, 'experts', String(j)), ids, tok.eosId)),
    );
    const d = run3.embedder.dimension;
    let wordsRouted = 0;
    for (let t = 0; t < ids.length; t++) {
      const ctx = completeText(tok.decode(ids.slice(0, t)));
      const v = ctx.trim() === '' ? new Float32Array(d) : await run3.embedder.embedText(ctx);
      if (ctx.trim() !== '') wordsRouted++;
      const d2 = [0, 1, 2].map((j) => {
        let x = 0;
        for (let i = 0; i < d; i++) x += (v[i]! - run3.centroids[j * d + i]!) ** 2;
        return x;
      });
      const top = [0, 1, 2].sort((a, b) => d2[a]! - d2[b]! || a - b).slice(0, 2);
      // Before the first complete word there is no context: the two experts share the weight.
      const raw = top.map((j) => (ctx.trim() === '' ? 1 : Math.exp(-(d2[j]! - d2[top[0]!]!) / T)));
      const z = raw[0]! + raw[1]!;
      expect(s.routes[t]!.experts).toEqual(top);
      const expected = Math.log(
        top.reduce((acc, j, i) => acc + (raw[i]! / z) * Math.exp(own[j]![t]!), 0),
      );
      expect(s.tokenLogProbs[t]).toBeCloseTo(expected, 4);
    }
    expect(wordsRouted).toBeGreaterThan(ids.length / 2);
    expect(new Set(s.routes.map((r) => r.experts.join())).size).toBeGreaterThan(1);
    expect(ensemble.experts.loaded().length).toBeLessThanOrEqual(2);
    await run.dispose();
  });

  it('with one expert and topK = all, has exactly that expert’s perplexity', async () => {
    const run = await loadRun(run1.dir, quiet);
    expect(run.dense).toBeUndefined();
    expect(run.random).toBeUndefined();
    const ensemble = run.cbtm;
    expect(ensemble.k).toBe(1);
    const text = run1.docs[1]!.text.slice(0, 300);
    const s = await ensemble.scoreSequence(text);
    const ids = [...run1.tokenizer.encode(text), run1.tokenizer.eosId];
    const own = await ownTargetLogProbs(join(run1.dir, 'experts', '0'), ids, run1.tokenizer.eosId);
    const ownPpl = Math.exp(-own.reduce((a, b) => a + b, 0) / own.length);
    expect(s.perplexity / ownPpl).toBeCloseTo(1, 10);
    await run.dispose();
  });

  it('evaluates every method and writes eval/results.json', async () => {
    const run = await loadRun(run3.dir, quiet);
    expect(run.dir).toBe(run3.dir);
    expect(run.dense?.k).toBe(1);
    expect(run.random?.k).toBe(2);
    const ensemble = run.cbtm;
    const docs = run3.docs.filter((_, i) => i % 7 === 0).slice(0, 5);
    const results = await evaluate(scorersFor(run), docs, {
      maxTokensPerDocument: 48,
      corpusName: 'demo-valid',
      backend: run.backend,
    });
    expect(Object.keys(results.methods)).toEqual([
      'cbtm-top1',
      'cbtm-top2',
      'cbtm-all',
      'single-expert',
      'dense',
      'random-all',
    ]);
    expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(results.backend);
    // evaluate writes nothing; writeEvalResults saves it where the run keeps it.
    const file = join(run3.dir, 'eval', 'results.json');
    await expect(readFile(file, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await writeEvalResults(run3.dir, results)).toBe(file);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved).toEqual(JSON.parse(JSON.stringify(results)));
    // exp(mean NLL), recomputed from per-document scores.
    let nll = 0;
    let tokens = 0;
    const perDomain = new Map<string, { nll: number; tokens: number }>();
    for (const doc of docs) {
      const s = await ensemble.scoreSequence(doc.text, { maxTokens: 48, topK: 2 });
      const docNll = -s.tokenLogProbs.reduce((a, b) => a + b, 0);
      nll += docNll;
      tokens += s.tokens.length;
      const e = perDomain.get(doc.domain!) ?? { nll: 0, tokens: 0 };
      e.nll += docNll;
      e.tokens += s.tokens.length;
      perDomain.set(doc.domain!, e);
    }
    const m = results.methods['cbtm-top2']!;
    expect(m.tokens).toBe(tokens);
    expect(results.tokens).toBe(tokens);
    expect(m.perplexity).toBeCloseTo(Math.exp(nll / tokens), 6);
    for (const [dom, e] of perDomain) {
      expect(m.perDomain[dom]!.perplexity).toBeCloseTo(Math.exp(e.nll / e.tokens), 6);
    }
    expect(results.methods['single-expert']!.expertsPerDocument).toBe(1);
    expect(results.config).toMatchObject({ k: 3, randomExperts: 2, randomRouting: 'uniform' });
    await run.dispose();
  });

  it('generates the same text from the same seed, in separate processes’ worth of state', async () => {
    const gen = async (seed: number) => {
      const run = await loadRun(run3.dir, quiet);
      const out = [];
      for await (const t of run.cbtm.generate('The ', {
        maxTokens: 24,
        seed,
        temperature: 2,
        routing: { topK: 2 },
      })) {
        out.push(t);
      }
      await run.dispose();
      return out;
    };
    const a = await gen(5);
    const b = await gen(5);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    for (const t of a) {
      expect(t.experts.length).toBe(2);
      expect(t.weights[0]! + t.weights[1]!).toBeCloseTo(1, 5);
    }
    const c = await gen(6);
    expect(c.map((t) => t.id)).not.toEqual(a.map((t) => t.id));
  });

  it('says which stage to run when a part of the run is missing', async () => {
    await expect(loadRun(join(root, 'nothing'), quiet)).rejects.toMatchObject({
      code: 'E_STAGE_MISSING',
    });
  });
});
