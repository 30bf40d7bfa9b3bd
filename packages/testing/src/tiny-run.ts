import { join } from 'node:path';
import { balancedAssignment } from '@cbtm/cluster';
import {
  createJsonlWriter,
  type Document,
  demoCorpusPaths,
  RunDir,
  readCorpus,
} from '@cbtm/core/node';
import { TfidfSvdEmbedder } from '@cbtm/embed/node';
import { buildRouterFromCentroids } from '@cbtm/route/node';
import {
  type BpeTokenizer,
  runModelTasks,
  trainBpeTokenizer,
  trainExperts,
} from '@cbtm/train/node';

/** A tiny but real clustered run: what `cbtm cluster` plus the tokenizer stage leave behind. */
export interface TinyRun {
  readonly dir: string;
  readonly docs: Document[];
  readonly tokenizer: BpeTokenizer;
  readonly embedder: TfidfSvdEmbedder;
  readonly k: number;
  readonly centroids: Float32Array;
  readonly assignments: Int32Array;
}

/** The tiny GPT every test trains: 1 layer, d 16, context 16, batch 4 (64 tokens a step). */
export const TINY_MODEL = { nLayer: 1, dModel: 16, nHead: 2, contextLength: 16 } as const;
export const TINY_BATCH = 4;
export const TOKENS_PER_STEP = TINY_BATCH * TINY_MODEL.contextLength;

/**
 * Builds a clustered run from the first `documents` demo validation documents: a BPE tokenizer,
 * a tf-idf → SVD embedder, balanced k-means (a few Lloyd rounds with `@cbtm/cluster`'s optimal
 * balanced assignment), `shards/<j>.jsonl.gz`, and an exact router over the centroids.
 */
export async function buildTinyRun(
  dir: string,
  options: { documents?: number; k?: number; vocabSize?: number; dimension?: number } = {},
): Promise<TinyRun> {
  const k = options.k ?? 2;
  const run = await RunDir.create(dir, { config: { tiny: true } });
  const docs: Document[] = [];
  for await (const d of readCorpus(demoCorpusPaths().valid, { limit: options.documents ?? 40 }))
    docs.push(d);

  const tokenizer = await trainBpeTokenizer(docs, { vocabSize: options.vocabSize ?? 300, seed: 1 });
  await tokenizer.save(run.path('tokenizer', 'tokenizer.json'));
  const embedder = await TfidfSvdEmbedder.fit(docs, {
    nComponents: options.dimension ?? 8,
    seed: 1,
  });
  await embedder.save(run.path('embedder'));

  const n = docs.length;
  const d = embedder.dimension;
  const points = new Float32Array(n * d);
  for (const [i, doc] of docs.entries()) points.set(await embedder.embedText(doc.text), i * d);
  // Start from k evenly spaced documents, then alternate balanced assignment and mean update.
  const centroids = new Float32Array(k * d);
  for (let j = 0; j < k; j++)
    centroids.set(
      points.subarray(Math.floor((j * n) / k) * d, Math.floor((j * n) / k) * d + d),
      j * d,
    );
  let assignments: Int32Array = new Int32Array(n);
  for (let round = 0; round < 5; round++) {
    const costs = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += (points[i * d + c]! - centroids[j * d + c]!) ** 2;
        costs[i * k + j] = s;
      }
    }
    assignments = balancedAssignment(costs, n, k).assignments;
    centroids.fill(0);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const j = assignments[i]!;
      counts[j] += 1;
      for (let c = 0; c < d; c++) centroids[j * d + c]! += points[i * d + c]!;
    }
    for (let j = 0; j < k; j++) for (let c = 0; c < d; c++) centroids[j * d + c]! /= counts[j]!;
  }
  for (let j = 0; j < k; j++) {
    const w = createJsonlWriter(run.path('shards', `${j}.jsonl.gz`));
    for (let i = 0; i < n; i++)
      if (assignments[i] === j) await w.write({ id: docs[i]!.id, text: docs[i]!.text });
    await w.close();
  }
  await (await buildRouterFromCentroids(centroids, k, d, { kind: 'exact' })).save(
    run.path('router'),
  );
  return { dir: run.dir, docs, tokenizer, embedder, k, centroids, assignments };
}

/** Trains every expert of a tiny run for `steps` steps with `@cbtm/train` (2 worker processes). */
export async function trainTinyExperts(run: TinyRun, steps: number): Promise<void> {
  const tasks = runModelTasks(run.dir, {
    totalTokens: run.k * steps * TOKENS_PER_STEP,
    shards: Array.from({ length: run.k }, (_, j) => j),
    dense: false,
  });
  await trainExperts(tasks, {
    tokenizer: join(run.dir, 'tokenizer', 'tokenizer.json'),
    resultsFile: join(run.dir, 'train-results.json'),
    modelConfig: TINY_MODEL,
    train: { batchSize: TINY_BATCH, logEvery: 1 },
    workers: 2,
    backend: 'wasm',
    seed: 1,
    log: () => undefined,
  });
}

/** Absolute path of a model folder of the run. */
export const expertDir = (run: { dir: string }, j: number) => join(run.dir, 'experts', String(j));
