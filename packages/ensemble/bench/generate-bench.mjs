#!/usr/bin/env node
// Generation speed of a c-BTM ensemble with and without key/value caches, in one run (the
// machine is shared: only ratios from one run are comparable). The ensemble is tiny but real:
// a BPE tokenizer (vocab 4096) and a tf-idf/SVD embedder fitted on demo documents, one centroid
// per domain, an exact router, and k = 4 experts of the reference GPT (2 layers, d 128, 4 heads,
// context 128) with seeded random weights, token embeddings scaled so the predictions are not
// flat (speed does not depend on what the weights learned).
//
//   npm run bench -w @cbtm/ensemble [-- --json] [-- --tokens 256] [-- --streams 20]
//                                   [-- --stream-tokens 32] [-- --top-k 4]
//
// 1. One stream: a --tokens generation after a short prompt, uncached (today's path, cache:
//    false) against cached (exact: slideStride 1) and cached with slideStride 32 (re-reads the
//    window once every 32 tokens past the context).
// 2. --streams concurrent generations of --stream-tokens each (awaited together): uncached,
//    cached (each stream on its own), and cached with one shared ExpertStepBatcher (the steps
//    of all streams that use an expert run as one batch): total tokens/s.
// --json prints one object: { config, backend, oneStream: {...}, concurrent: {...} }.
import { demoCorpusPaths, readCorpus } from '@cbtm/core/node';
import { TfidfSvdEmbedder } from '@cbtm/embed/node';
import { Ensemble, ExpertPool, ExpertStepBatcher } from '@cbtm/ensemble';
import { ExactRouter } from '@cbtm/route';
import { currentBackend, GptModel, selectBackend, trainBpeTokenizer } from '@cbtm/train/node';

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback;
};
const json = flag('json');
const tokens = option('tokens', 256);
const streams = option('streams', 20);
const streamTokens = option('stream-tokens', 32);
const k = 4;
const topK = option('top-k', k);
const say = (...xs) => {
  if (!json) console.log(...xs);
};

await selectBackend('auto', { log: () => undefined });
const docs = [];
for await (const d of readCorpus(demoCorpusPaths().train, { limit: 400 })) docs.push(d);
say(
  `fitting a tokenizer (vocab 4096) and a tf-idf/SVD embedder on ${docs.length} demo documents ...`,
);
const tokenizer = await trainBpeTokenizer(docs, { vocabSize: 4096, seed: 1 });
const embedder = await TfidfSvdEmbedder.fit(docs, { nComponents: 32, seed: 1 });
const domains = [...new Set(docs.map((d) => d.domain))].sort();
const dim = embedder.dimension;
const centroids = new Float32Array(k * dim);
for (let j = 0; j < k; j++) {
  const members = docs.filter((d) => d.domain === domains[j % domains.length]);
  for (const m of members) {
    const v = await embedder.embedText(m.text);
    for (let i = 0; i < dim; i++) centroids[j * dim + i] += v[i] / members.length;
  }
}
const config = {
  vocabSize: tokenizer.vocabSize,
  nLayer: 2,
  dModel: 128,
  nHead: 4,
  contextLength: 128,
  mlpRatio: 4,
};
const models = [];
for (let j = 0; j < k; j++) {
  const m = await GptModel.create(config, { seed: 10 + j });
  // GPT-2's initial weights predict an almost uniform next token, where the smallest float
  // difference reorders near-equal candidates. A 10× token embedding gives logits of about
  // the spread of a trained model's (standard deviation ≈ 2.3).
  const w = m.getWeights();
  w.set(
    'wte',
    w.get('wte').map((x) => x * 10),
  );
  m.setWeights(w);
  models.push(m);
}
const ensemble = new Ensemble({
  tokenizer,
  embedder,
  // Every expert stays loaded, as in a server.
  experts: new ExpertPool(k, async (j) => models[j], { maxLoaded: k }),
  router: new ExactRouter(centroids, k, dim),
});
const prompt = docs[0].text.split(/\s+/).slice(0, 12).join(' ');
const promptTokens = tokenizer.encode(prompt).length;
say(
  `backend ${currentBackend()}, k = ${k} experts (top-${topK}), ${config.nLayer} layers, d ${config.dModel}, ${config.nHead} heads, context ${config.contextLength}, vocab ${config.vocabSize}; prompt ${promptTokens} tokens`,
);

/** Generates once; returns { ids, seconds }. */
async function generateOnce(maxTokens, options, seed = 1) {
  const ids = [];
  const t0 = performance.now();
  for await (const t of ensemble.generate(prompt, {
    maxTokens,
    seed,
    routing: { topK },
    ...options,
  }))
    ids.push(t.id);
  return { ids, seconds: (performance.now() - t0) / 1000 };
}

const variants = [
  { name: 'uncached', options: { cache: false } },
  { name: 'cached', options: { cache: true } },
  { name: 'cached-stride32', options: { cache: true, slideStride: 32 } },
];

// Warm up every path (kernels, masks, first allocations).
for (const v of variants) await generateOnce(4, v.options);

say(`\n1. one stream, ${tokens} tokens`);
say('variant          | tokens | seconds | tokens/s | × uncached | same tokens as uncached');
const oneStream = {};
for (const v of variants) {
  const r = await generateOnce(tokens, v.options);
  oneStream[v.name] = { tokens: r.ids.length, seconds: r.seconds, ids: r.ids };
}
const base = oneStream.uncached;
for (const v of variants) {
  const r = oneStream[v.name];
  r.tokensPerSecond = r.tokens / r.seconds;
  r.speedup = r.tokensPerSecond / (base.tokens / base.seconds);
  r.sameTokens = r.ids.length === base.ids.length && r.ids.every((x, i) => x === base.ids[i]);
  say(
    `${v.name.padEnd(16)} | ${String(r.tokens).padStart(6)} | ${r.seconds.toFixed(2).padStart(7)} | ${r.tokensPerSecond.toFixed(1).padStart(8)} | ${r.speedup.toFixed(2).padStart(10)} | ${v.name === 'cached-stride32' ? 'n/a (other windows)' : r.sameTokens}`,
  );
}
for (const r of Object.values(oneStream)) delete r.ids;

say(`\n2. ${streams} concurrent streams, ${streamTokens} tokens each`);
say('variant          | tokens | seconds | tokens/s | × uncached | same tokens as uncached');
const concurrent = {};
const concurrentVariants = [
  variants[0],
  variants[1],
  { name: 'cached-batched', options: { cache: true }, batched: true },
];
let reference;
for (const v of concurrentVariants) {
  const batcher = v.batched ? new ExpertStepBatcher() : undefined;
  const options = batcher ? { ...v.options, batcher } : v.options;
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: streams }, (_, s) => generateOnce(streamTokens, options, 100 + s)),
  );
  const seconds = (performance.now() - t0) / 1000;
  const n = runs.reduce((a, r) => a + r.ids.length, 0);
  const ids = runs.map((r) => r.ids);
  reference ??= ids;
  // Streams whose tokens equal the uncached run's, and where the others first differ.
  const firstDiff = ids.map((x, i) => {
    const y = reference[i];
    for (let t = 0; t < Math.max(x.length, y.length); t++) if (x[t] !== y[t]) return t;
    return -1;
  });
  concurrent[v.name] = {
    streams,
    tokens: n,
    seconds,
    tokensPerSecond: n / seconds,
    sameTokens: firstDiff.filter((t) => t < 0).length,
    firstDifferences: firstDiff.filter((t) => t >= 0),
    ...(batcher ? { batches: batcher.stats } : {}),
  };
}
for (const v of concurrentVariants) {
  const r = concurrent[v.name];
  r.speedup = r.tokensPerSecond / concurrent.uncached.tokensPerSecond;
  say(
    `${v.name.padEnd(16)} | ${String(r.tokens).padStart(6)} | ${r.seconds.toFixed(2).padStart(7)} | ${r.tokensPerSecond.toFixed(1).padStart(8)} | ${r.speedup.toFixed(2).padStart(10)} | ${r.sameTokens}/${streams} streams${r.firstDifferences.length ? ` (others differ from token ${r.firstDifferences.join(', ')})` : ''}`,
  );
}
const b = concurrent['cached-batched'].batches;
say(
  `batcher: ${b.requests} expert steps in ${b.batches} model calls (largest batch ${b.largestBatch})`,
);
await ensemble.dispose();
if (json) {
  console.log(
    JSON.stringify({
      config: { ...config, k, topK, promptTokens, tokens, streams, streamTokens },
      backend: currentBackend(),
      oneStream,
      concurrent,
    }),
  );
}
