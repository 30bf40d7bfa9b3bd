import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createJsonlWriter, demoCorpusPath, Rng, RunDir, readCorpus } from '@cbtm/core/node';
import { TfidfSvdEmbedder } from '@cbtm/embed/node';
import { ExactRouter } from '@cbtm/route/node';
import { GptModel, gptParamSpecs, resolveGptConfig, trainBpeTokenizer } from '@cbtm/train';

/**
 * Builds a small but complete run directory from the library APIs, in seconds: a tf-idf + SVD
 * embedder fitted on demo documents, one centroid per domain (the mean embedding of its
 * documents) and its shard, a BPE tokenizer, and experts with seeded random weights large enough that their
 * distributions are sharp (so greedy decoding has no near-ties). Untrained, but every file is in
 * the format the pipeline writes, which is what the browser export and runtime read.
 */
export async function makeTinyRun(
  dir: string,
  options: { k?: number; dimension?: number } = {},
): Promise<string> {
  const k = options.k ?? 3;
  const d = options.dimension ?? 8;
  const run = await RunDir.create(dir, { config: { tiny: true } });
  const docs = await readCorpus(demoCorpusPath(), { sample: { size: 240, seed: 3 } }).toArray();
  const texts = docs.map((x) => x.text);

  const embedder = await TfidfSvdEmbedder.fit(texts, { nComponents: d, seed: 1 });
  await embedder.save(run.path('embedder'));

  // Centroids: the normalized mean embedding of the first k domains' documents.
  const domains = [...new Set(docs.map((x) => x.domain!))].sort().slice(0, k);
  const centroids = new Float32Array(k * d);
  for (const [j, domain] of domains.entries()) {
    const mine = docs.filter((x) => x.domain === domain);
    for (const doc of mine) {
      const v = await embedder.embedText(doc.text);
      for (let i = 0; i < d; i++) centroids[j * d + i]! += v[i]! / mine.length;
    }
  }
  await new ExactRouter(centroids, k, d).save(run.path('router'));
  // Shards as the pipeline writes them: cluster j holds domain j's documents.
  for (const [j, domain] of domains.entries()) {
    const shard = createJsonlWriter(run.path('shards', `${j}.jsonl.gz`));
    for (const doc of docs.filter((x) => x.domain === domain))
      await shard.write({ id: doc.id, text: doc.text, domain });
    await shard.close();
  }

  const tokenizer = await trainBpeTokenizer(texts, { vocabSize: 400, seed: 1 });
  await mkdir(run.path('tokenizer'), { recursive: true });
  await tokenizer.save(run.path('tokenizer', 'tokenizer.json'));

  const config = resolveGptConfig({
    vocabSize: tokenizer.vocabSize,
    nLayer: 2,
    dModel: 16,
    nHead: 2,
    contextLength: 24,
  });
  for (let j = 0; j < k; j++) {
    const rng = new Rng(100 + j);
    const weights = new Map<string, Float32Array>();
    for (const s of gptParamSpecs(config)) {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const w = new Float32Array(size);
      const gain = s.name.endsWith('.gamma');
      for (let i = 0; i < size; i++) w[i] = gain ? 1 + 0.1 * rng.normal() : 0.5 * rng.normal();
      weights.set(s.name, w);
    }
    const model = await GptModel.fromWeights(config, weights);
    await mkdir(join(run.dir, 'experts', String(j)), { recursive: true });
    await model.save(join(run.dir, 'experts', String(j)));
    model.dispose();
  }
  return run.dir;
}
