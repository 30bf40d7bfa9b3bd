import { readFile, rm } from 'node:fs/promises';
import { CENTROIDS_FILE } from '@cbtm/cluster';
import {
  CbtmError,
  createJsonlWriter,
  InvalidArgumentError,
  type JsonlWriter,
  type RunDir,
  throwIfAborted,
  writeJsonAtomic,
} from '@cbtm/core';
import { RunLayout } from '@cbtm/core/node';
import type { CorpusSource } from '../corpus-source.js';
import type { ClusterMetricsFile } from './cluster-files.js';
import { readEmbeddings } from './embeddings-file.js';
import type { StageDefinition } from './stage.js';

/** The balanced fit's own assignment, kept when the fit covered every training document. */
const FIT_ASSIGNMENTS = 'clusters/fit-assignments.json';

interface FitAssignmentsFile {
  readonly documents: number;
  readonly clusters: number[];
}

/**
 * Fits balanced k-means on (a seeded sample of) the document embeddings: `<run>/clusters/`
 * (the centroids, via `ClusterModel.save`, and `fit.json`). When the fit covered every
 * document, its balanced assignment goes to `clusters/fit-assignments.json`, and the shard
 * stage uses it as is.
 */
export const clusterStage: StageDefinition = {
  name: 'cluster',
  inputs: ['embed'],
  paths: [`clusters/${CENTROIDS_FILE}`, 'clusters/fit.json', FIT_ASSIGNMENTS],
  enabled: () => true,
  stageConfig: ({ config }) => ({ cluster: config.cluster, seed: config.seed }),
  async execute({ run, config, signal, onProgress }) {
    const { fitBalancedKMeans } = await import('@cbtm/cluster');
    const layout = new RunLayout(run.dir);
    await rm(layout.clusters('assignments.jsonl'), { force: true });
    const emb = await readEmbeddings(run);
    const { n, dimension: d } = emb.index;
    const { k, sample, iterations, balanceSlack, inits } = config.cluster;
    if (k > n) {
      throw new InvalidArgumentError(
        `k = ${k} is larger than the number of training documents (${n}). Choose --k ≤ ${n}.`,
      );
    }
    if (sample !== null && k > sample) {
      throw new InvalidArgumentError(
        `k = ${k} is larger than cluster.sample (${sample}). Raise the sample or lower k.`,
      );
    }
    const fit = await fitBalancedKMeans(emb.vectors, n, d, {
      k,
      maxIter: iterations,
      balanceSlack,
      nInit: inits,
      seed: config.seed,
      ...(sample !== null ? { sampleSize: sample } : {}),
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
    await fit.model.save(layout.clusters());
    const fittedAll = fit.sampleIndices === undefined;
    if (fittedAll) {
      const file: FitAssignmentsFile = { documents: n, clusters: Array.from(fit.assignments) };
      await writeJsonAtomic(run.path(FIT_ASSIGNMENTS), file);
    } else await rm(run.path(FIT_ASSIGNMENTS), { force: true });
    await writeJsonAtomic(layout.clusters('fit.json'), {
      k,
      fittedOn: fit.sampleIndices?.length ?? n,
      balanceSlack,
      inits,
      inertia: fit.inertia,
      iterations: fit.iterations,
      converged: fit.converged,
      // Sizes over the fitted documents: the ones the balance constraint holds for.
      sizes: fittedSizes(fit.assignments, fit.sampleIndices, k),
    });
    return {
      outputs: [
        `clusters/${CENTROIDS_FILE}`,
        'clusters/fit.json',
        ...(fittedAll ? [FIT_ASSIGNMENTS] : []),
      ],
      info: {
        k,
        fittedOn: fit.sampleIndices?.length ?? n,
        iterations: fit.iterations,
        inertia: fit.inertia,
      },
    };
  },
};

/**
 * Assigns every training document to a cluster and writes the shards
 * (`<run>/shards/<j>.jsonl.gz`), `<run>/clusters/assignments.jsonl` (which also assigns the
 * documents held out of the corpus for validation, marked `"heldOut": true`, to their nearest
 * centroid; they stay out of the shards) and
 * `<run>/clusters/metrics.json` (sizes, inertia, and purity and NMI against the domain labels).
 * When the balanced fit covered every document its assignment is used as is (sizes stay
 * balanced); otherwise each document goes to its nearest centroid, as the paper does.
 */
export const shardStage: StageDefinition = {
  name: 'shard',
  inputs: ['embed', 'cluster'],
  paths: ['shards', 'clusters/assignments.jsonl', 'clusters/metrics.json'],
  enabled: () => true,
  stageConfig: () => ({}),
  async execute({ run, corpus, signal, onProgress }) {
    const { ClusterModel, clusterMetrics, contingencyTable, normalizedMutualInfo, purity } =
      await import('@cbtm/cluster');
    const layout = new RunLayout(run.dir);
    const model = await ClusterModel.load(layout.clusters());
    const emb = await readEmbeddings(run);
    const { n, dimension: d } = emb.index;
    const fitted = await readFitAssignments(run.path(FIT_ASSIGNMENTS), n, model.k);
    const { clusters, distances } = fitted
      ? { clusters: fitted, distances: distancesTo(model.centroids, emb.vectors, fitted, d) }
      : model.assign(emb.vectors, n);
    onProgress?.({ stage: 'shard', status: 'start', done: 0, total: n, unit: 'docs' });
    const assignments = createJsonlWriter(layout.clusters('assignments.jsonl'));
    const shards: JsonlWriter[] = Array.from({ length: model.k }, (_, j) =>
      createJsonlWriter(layout.shard(j)),
    );
    let i = 0;
    let heldOut = 0;
    try {
      for await (const doc of corpus.trainDocs()) {
        if (i >= n) break;
        if (i % 256 === 0) {
          throwIfAborted(signal);
          onProgress?.({ stage: 'shard', status: 'progress', done: i, total: n, unit: 'docs' });
        }
        const j = clusters[i]!;
        await assignments.write({ id: doc.id, cluster: j });
        await shards[j]!.write({
          id: doc.id,
          text: doc.text,
          ...(typeof doc.domain === 'string' ? { domain: doc.domain } : {}),
        });
        i += 1;
      }
      heldOut = await assignHeldOut(run, corpus, model, assignments, signal);
    } catch (err) {
      await Promise.all([assignments, ...shards].map((w) => w.abort()));
      throw err;
    }
    await assignments.close();
    for (const w of shards) await w.close();
    const sizes = new Array<number>(model.k).fill(0);
    for (const c of clusters) sizes[c] += 1;
    let inertia = 0;
    for (const x of distances) inertia += x;
    const labeled = emb.domains.every((d) => d !== undefined) && emb.domains.length > 0;
    const table = labeled
      ? contingencyTable(emb.domains as string[], clusters, model.k)
      : undefined;
    // @cbtm/cluster's metrics (method, balance ratio, contingency table), plus purity and NMI at
    // the top level, where the report and `cbtm eval` read them.
    const metrics: ClusterMetricsFile = {
      ...clusterMetrics({
        method: fitted ? 'balanced-fit' : 'nearest-centroid',
        sizes,
        inertia,
        labelField: 'domain',
        ...(table ? { contingency: table } : {}),
      }),
      purity: table ? purity(table) : null,
      // Clamped as before: floating-point rounding can put a perfect clustering at 1 + 2e-16.
      nmi: table ? Math.min(1, normalizedMutualInfo(table)) : null,
    };
    await writeJsonAtomic(layout.clusters('metrics.json'), metrics);
    onProgress?.({ stage: 'shard', status: 'done', done: n, total: n, unit: 'docs' });
    return {
      outputs: ['shards', 'clusters/assignments.jsonl', 'clusters/metrics.json'],
      info: { sizes, purity: metrics.purity, nmi: metrics.nmi, heldOut },
    };
  },
};

/**
 * Appends the validation hold-out (documents `corpus.holdout` kept out of training) to the
 * assignments, each at its nearest centroid and marked `heldOut`, so every document of the
 * corpus has a cluster. Returns how many there were.
 */
async function assignHeldOut(
  run: RunDir,
  corpus: CorpusSource,
  model: { assign(vectors: Float32Array, n: number): { clusters: Int32Array } },
  assignments: JsonlWriter,
  signal: AbortSignal | undefined,
): Promise<number> {
  if (corpus.valid !== null || corpus.holdout === 0) return 0;
  const { loadEmbedder } = await import('@cbtm/embed');
  const embedder = await loadEmbedder(new RunLayout(run.dir).embedder);
  const ids: string[] = [];
  const docs = async function* () {
    for await (const doc of corpus.validDocs()) {
      ids.push(doc.id);
      yield doc;
    }
  };
  let i = 0;
  for await (const vector of embedder.embed(docs(), signal ? { signal } : {})) {
    if (i % 256 === 0) throwIfAborted(signal);
    const cluster = model.assign(vector, 1).clusters[0]!;
    await assignments.write({ id: ids[i]!, cluster, heldOut: true });
    i += 1;
  }
  return i;
}

/** The fit's assignment if it exists and covers exactly the n documents, else undefined. */
async function readFitAssignments(
  path: string,
  n: number,
  k: number,
): Promise<Int32Array | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let file: FitAssignmentsFile;
  try {
    file = JSON.parse(text) as FitAssignmentsFile;
  } catch (err) {
    throw new CbtmError('E_FORMAT', `${path}: not valid JSON (${(err as Error).message}).`, {
      cause: err,
    });
  }
  if (file.documents !== n || !Array.isArray(file.clusters) || file.clusters.length !== n) {
    return undefined;
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = file.clusters[i];
    if (!(Number.isInteger(j) && j! >= 0 && j! < k)) {
      throw new CbtmError(
        'E_FORMAT',
        `${path}: clusters[${i}] is ${JSON.stringify(j)}; expected an integer 0..${k - 1}.`,
      );
    }
    out[i] = j!;
  }
  return out;
}

/** Squared distance of every vector to the centroid of its given cluster. */
function distancesTo(
  centroids: Float32Array,
  vectors: Float32Array,
  clusters: Int32Array,
  d: number,
): Float32Array {
  const out = new Float32Array(clusters.length);
  for (let i = 0; i < clusters.length; i++) {
    let s = 0;
    const o = i * d;
    const c = clusters[i]! * d;
    for (let t = 0; t < d; t++) {
      const diff = vectors[o + t]! - centroids[c + t]!;
      s += diff * diff;
    }
    out[i] = s;
  }
  return out;
}

/** Cluster sizes over the fitted points (the sample, or all points). */
function fittedSizes(assignments: Int32Array, sample: Int32Array | undefined, k: number): number[] {
  const sizes = new Array<number>(k).fill(0);
  if (sample) for (const i of sample) sizes[assignments[i]!]! += 1;
  else for (const j of assignments) sizes[j]! += 1;
  return sizes;
}
