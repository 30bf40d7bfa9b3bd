/**
 * c-BTM ensemble benchmarks; every number is a ratio against a baseline measured in this run.
 * 1. Routing cost per token: incremental word-level prefix embedding vs re-embedding the
 *    decoded prefix at every token (the reference implementation's approach).
 * 2. Scoring tokens/s of the per-token ensemble at topK = 1, 2, 4 vs one expert alone.
 * 3. HNSW vs exact routing queries/s at k = 128 and k = 10,000.
 * Run: npm run bench -w @cbtm/ensemble
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@cbtm/core';
import { completeTokenCount, perTokenContexts } from '@cbtm/ensemble';
import { loadRun } from '@cbtm/ensemble/node';
import { ExactRouter, HnswRouter, loadRouter, type Router } from '@cbtm/route/node';
import { currentBackend, GptModel } from '@cbtm/train';
import { buildTinyRun } from '../src/test-utils/tiny-run.js';

const k = 8;
const root = await mkdtemp(join(tmpdir(), 'cbtm-ensemble-bench-'));
console.log('building a run: demo corpus, tokenizer, tf-idf/SVD (d = 100), k = 8 GPT experts ...');
const run = await buildTinyRun(root, {
  k,
  split: 'train',
  documents: 400,
  vocabSize: 1024,
  dimension: 100,
  dModel: 64,
  nLayer: 2,
  nHead: 4,
  contextLength: 128,
  dense: false,
});
const tok = run.tokenizer;
const router = await loadRouter(join(root, 'router'));
const longText = run.docs
  .map((d) => d.text)
  .join('\n')
  .slice(0, 40_000);
const allIds = tok.encode(longText);
console.log(
  `backend: ${currentBackend()}, vocab ${tok.vocabSize}, embedding d = ${run.embedder.dimension}`,
);

// 1. Routing cost per token.
console.log('\n1. routing cost per token (top-2 over k = 8)');
console.log('tokens | incremental µs/token | re-embed µs/token | re-embed / incremental');
for (const n of [256, 1024, 4096]) {
  const ids = allIds.slice(0, n);
  let t0 = performance.now();
  const { vectors, index } = await perTokenContexts(tok, run.embedder, ids);
  const routes = vectors.map((v) => router.route(v, { topK: 2 }));
  for (let t = 0; t < n; t++) void routes[index[t]!];
  const inc = (performance.now() - t0) / n;
  // Reference: decode and embed the prefix from scratch at every token. Past 1,024 tokens a
  // sample of positions is timed (the cost grows with t, so sample evenly).
  const positions =
    n <= 1024
      ? ids.map((_, t) => t)
      : Array.from({ length: 256 }, (_, i) => Math.floor((i * n) / 256));
  t0 = performance.now();
  for (const t of positions) {
    const c = completeTokenCount(tok, ids, t);
    const text = tok.decode(ids.slice(0, c).filter((x) => !tok.isSpecial(x)));
    router.route(await run.embedder.embedText(text), { topK: 2 });
  }
  const ref = (performance.now() - t0) / positions.length;
  console.log(
    `${n} | ${(inc * 1000).toFixed(1)} | ${(ref * 1000).toFixed(1)} | ${(ref / inc).toFixed(1)}×`,
  );
}

// 2. Scoring throughput.
console.log('\n2. scoring tokens/s (8 documents × 256 tokens, per-token routing)');
const docs = run.docs
  .filter((_, i) => i % 50 === 0)
  .slice(0, 8)
  .map((d) => d.text);
const { cbtm: ensemble } = await loadRun(root, { maxLoadedExperts: k, log: () => undefined });
const single = await GptModel.load(join(root, 'experts', '0'));
await single.logProbs(Int32Array.from(tok.encode(docs[0]!).slice(0, 256)));
// Warm up every expert first: the wasm backend packs each model's weight matrices on first use.
for (let j = 0; j < k; j++) {
  await ensemble.experts.use(j, (m) =>
    m.logProbs(Int32Array.from(tok.encode(docs[0]!).slice(0, 256))),
  );
}
/** Best of three runs, in tokens/s. */
const time = async (fn: () => Promise<number>) => {
  let best = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const tokens = await fn();
    best = Math.max(best, tokens / ((performance.now() - t0) / 1000));
  }
  return best;
};
const singleTps = await time(async () => {
  let tokens = 0;
  for (const d of docs) {
    const ids = tok.encode(d).slice(0, 255);
    await single.logProbs(Int32Array.from([tok.eosId, ...ids]));
    tokens += ids.length + 1;
  }
  return tokens;
});
console.log(`single expert: ${singleTps.toFixed(0)} tokens/s`);
console.log('topK | tokens/s | vs single expert | experts run per document');
for (const topK of [1, 2, 4]) {
  let ran = 0;
  const tps = await time(async () => {
    let tokens = 0;
    ran = 0;
    for (const d of docs) {
      const s = await ensemble.scoreSequence(d, { topK, maxTokens: 256 });
      tokens += s.tokens.length;
      ran += s.expertsRun.length;
    }
    return tokens;
  });
  console.log(
    `${topK} | ${tps.toFixed(0)} | ${(tps / singleTps).toFixed(2)}× | ${(ran / docs.length).toFixed(1)}`,
  );
}
single.dispose();
await ensemble.dispose();
await rm(root, { recursive: true, force: true });

// 3. HNSW vs exact.
console.log('\n3. routing queries/s, d = 100, queries = random unit vectors');
console.log('k | topK | exact q/s | hnsw q/s | hnsw / exact | identical answers');
const unitRows = (n: number, d: number, rng: Rng) => {
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < d; i++) {
      out[r * d + i] = rng.normal();
      s += out[r * d + i]! ** 2;
    }
    for (let i = 0; i < d; i++) out[r * d + i]! /= Math.sqrt(s);
  }
  return out;
};
const qps = (r: Router, q: Float32Array, topK: number) => {
  const n = q.length / 100;
  const answers: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++)
    answers.push(r.route(q.subarray(i * 100, i * 100 + 100), { topK }).experts.join());
  return { qps: n / ((performance.now() - t0) / 1000), answers };
};
for (const [kk, nq, topKs] of [
  [128, 5000, [Number.POSITIVE_INFINITY, 4]],
  [10_000, 1000, [4, 1]],
] as const) {
  const rng = new Rng(kk);
  const c = unitRows(kk, 100, rng);
  const q = unitRows(nq, 100, rng);
  const exact = new ExactRouter(c, kk, 100);
  const hnsw = await HnswRouter.build(c, kk, 100);
  for (const topK of topKs) {
    qps(exact, q.subarray(0, 100 * 50), topK);
    qps(hnsw, q.subarray(0, 100 * 50), topK);
    const e = qps(exact, q, topK);
    const h = qps(hnsw, q, topK);
    const same = h.answers.filter((a, i) => a === e.answers[i]).length;
    console.log(
      `${kk} | ${topK === Number.POSITIVE_INFINITY ? 'all' : topK} | ${e.qps.toFixed(0)} | ${h.qps.toFixed(0)} | ${(h.qps / e.qps).toFixed(2)}× | ${same}/${nq}`,
    );
  }
}
