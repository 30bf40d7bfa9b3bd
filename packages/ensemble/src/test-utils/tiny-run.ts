import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, demoCorpusPaths, readCorpus } from '@cbtm/core/node';
import { TfidfSvdEmbedder } from '@cbtm/embed/node';
import { buildRouterFromCentroids } from '@cbtm/route/node';
import { type BpeTokenizer, GptModel, selectBackend, trainBpeTokenizer } from '@cbtm/train';

/** Options of {@link buildTinyRun}. */
export interface TinyRunOptions {
  /** Experts (one per demo domain, up to 5). */
  readonly k: number;
  readonly vocabSize?: number;
  readonly dimension?: number;
  readonly dModel?: number;
  readonly nLayer?: number;
  readonly contextLength?: number;
  readonly dense?: boolean;
  readonly randomExperts?: number;
  readonly routerKind?: 'exact' | 'hnsw';
  /** Documents of the demo corpus used to fit the tokenizer and embedder. */
  readonly documents?: number;
  /** Which demo split to read. */
  readonly split?: 'train' | 'valid';
  readonly nHead?: number;
}

/** A real run directory with the layout loadRun reads, from the demo corpus. */
export interface TinyRun {
  readonly dir: string;
  readonly tokenizer: BpeTokenizer;
  readonly embedder: TfidfSvdEmbedder;
  readonly centroids: Float32Array;
  readonly docs: Document[];
}

/**
 * Builds a tiny but real run: a BPE tokenizer and a tf-idf/SVD embedder fitted on demo
 * documents, one centroid per domain (the mean of its documents' embeddings), a router, and
 * GPT experts with random weights (token embeddings scaled up so their predictions differ).
 */
export async function buildTinyRun(dir: string, options: TinyRunOptions): Promise<TinyRun> {
  await selectBackend('auto', { log: () => undefined });
  const docs: Document[] = [];
  for await (const d of readCorpus(demoCorpusPaths()[options.split ?? 'valid'], {
    limit: options.documents ?? 60,
  }))
    docs.push(d);
  const tokenizer = await trainBpeTokenizer(docs, { vocabSize: options.vocabSize ?? 320, seed: 1 });
  await tokenizer.save(join(dir, 'tokenizer', 'tokenizer.json'));
  const embedder = await TfidfSvdEmbedder.fit(docs, {
    nComponents: options.dimension ?? 8,
    seed: 1,
  });
  await embedder.save(join(dir, 'embedder'));

  const domains = [...new Set(docs.map((d) => d.domain!))].sort().slice(0, options.k);
  const d = embedder.dimension;
  const centroids = new Float32Array(options.k * d);
  // One centroid per domain; with more experts than domains, split each domain's documents.
  const splits = Math.ceil(options.k / domains.length);
  for (let j = 0; j < options.k; j++) {
    const part = Math.floor(j / domains.length);
    const members = docs
      .filter((x) => x.domain === domains[j % domains.length])
      .filter((_, i) => i % splits === part);
    for (const m of members) {
      const v = await embedder.embedText(m.text);
      for (let i = 0; i < d; i++) centroids[j * d + i]! += v[i]! / members.length;
    }
  }
  const router = await buildRouterFromCentroids(centroids, options.k, d, {
    kind: options.routerKind ?? 'exact',
  });
  await router.save(join(dir, 'router'));

  const config = {
    vocabSize: tokenizer.vocabSize,
    dModel: options.dModel ?? 16,
    nHead: options.nHead ?? 2,
    nLayer: options.nLayer ?? 1,
    contextLength: options.contextLength ?? 64,
  };
  const saveModel = async (path: string, seed: number) => {
    const m = await GptModel.create(config, { seed });
    const w = m.getWeights();
    w.set(
      'wte',
      w.get('wte')!.map((x) => x * 50),
    );
    m.setWeights(w);
    await mkdir(path, { recursive: true });
    await m.save(path);
    m.dispose();
  };
  for (let j = 0; j < options.k; j++) await saveModel(join(dir, 'experts', String(j)), 10 + j);
  if (options.dense ?? true) await saveModel(join(dir, 'dense'), 99);
  for (let j = 0; j < (options.randomExperts ?? 0); j++)
    await saveModel(join(dir, 'random', 'experts', String(j)), 50 + j);
  return { dir, tokenizer, embedder, centroids, docs };
}
