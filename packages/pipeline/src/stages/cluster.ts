import { readFile, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { CENTROIDS_FILE, type ClusterModel } from '@cbtm/cluster';
import { CbtmError, InvalidArgumentError, RunLayout, writeJsonAtomic } from '@cbtm/core/node';
import type { Embedder } from '@cbtm/embed';
import type { ClusterMetricsFile } from './cluster-files.js';
import { readEmbeddings } from './embeddings-file.js';
import type { StageDefinition } from './stage.js';

/** The balanced fit's own assignment, kept when the fit covered every training document. */
const FIT_ASSIGNMENTS = 'clusters/fit-assignments.json';

/** `RunLayout#addedExperts`, relative. */
const ADDED_EXPERTS = 'clusters/added-experts.json';

interface FitAssignmentsFile {
  readonly documents: number;
  readonly clusters: number[];
}

/**
 * Fits balanced k-means on (a seeded sample of) the document embeddings: `<run>/clusters/`
 * (the centroids, via `saveClusterModel`, and `fit.json`). When the fit covered every
 * document, its balanced assignment goes to `clusters/fit-assignments.json`, and the shard
 * stage uses it as is.
 */
export const clusterStage: StageDefinition = {
  name: 'cluster',
  inputs: ['embed'],
  // `cbtm add-expert`'s record goes too: a new fit replaces the clusters it added to.
  paths: [`clusters/${CENTROIDS_FILE}`, 'clusters/fit.json', FIT_ASSIGNMENTS, ADDED_EXPERTS],
  enabled: () => true,
  stageConfig: ({ config }) => ({ cluster: config.cluster, seed: config.seed }),
  async execute({ run, config, signal, onProgress }) {
    const { clusterSizes, fitBalancedKMeans, saveClusterModel } = await import(
      '@cbtm/cluster/node'
    );
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
    await saveClusterModel(fit.model, layout.clusters());
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
      sizes: clusterSizes(fit.assignments, k, fit.sampleIndices),
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
    const { assignCorpus, loadClusterModel } = await import('@cbtm/cluster/node');
    const layout = new RunLayout(run.dir);
    const model = await loadClusterModel(layout.clusters());
    const emb = await readEmbeddings(run);
    const { n } = emb.index;
    const fitted = await readFitAssignments(run.path(FIT_ASSIGNMENTS), n, model.k);
    const { clusters, distances } = fitted
      ? { clusters: fitted, distances: model.distancesTo(emb.vectors, n, fitted) }
      : model.assign(emb.vectors, n);
    // The held-out validation documents (when they come out of the training corpus) are
    // assigned too, so every document of the corpus has a cluster; they stay out of the shards.
    const heldOut = corpus.valid === null && corpus.holdout > 0;
    const embed = await import('@cbtm/embed/node');
    const tfidf = (await embed.readEmbedderManifest(layout.embedder)).kind === 'tfidf-svd';
    const embedder = heldOut || tfidf ? await embed.loadEmbedder(layout.embedder) : undefined;
    const terms = embedder && (await clusterTopTerms(embedder, model));
    const assigned = await assignCorpus(corpus.trainDocs(), model, run.dir, {
      assignments: clusters,
      distances,
      method: fitted ? 'balanced-fit' : 'nearest-centroid',
      fields: ['domain'],
      total: n,
      outputs: {
        assignments: relative(run.dir, layout.clusters('assignments.jsonl')),
        metrics: relative(run.dir, layout.clusters('metrics.json')),
        shard: (j) => relative(run.dir, layout.shard(j)),
      },
      ...(embedder && heldOut ? { embedder, heldOut: corpus.validDocs() } : {}),
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress: (e) => onProgress({ ...e, stage: 'shard' }) } : {}),
    });
    const labels = assigned.metrics.labels;
    // Purity and NMI at the top level too, where the report and `cbtm eval` read them.
    const metrics: ClusterMetricsFile = {
      ...assigned.metrics,
      purity: labels ? labels.purity : null,
      // Clamped as before: floating-point rounding can put a perfect clustering at 1 + 2e-16.
      nmi: labels ? Math.min(1, labels.nmi) : null,
      ...(terms ? { topTerms: terms } : {}),
    };
    await writeJsonAtomic(layout.clusters('metrics.json'), metrics);
    return {
      outputs: ['shards', 'clusters/assignments.jsonl', 'clusters/metrics.json'],
      info: {
        sizes: Array.from(assigned.sizes),
        purity: metrics.purity,
        nmi: metrics.nmi,
        heldOut: assigned.heldOut,
      },
    };
  },
};

/**
 * Each centroid's top terms (`@cbtm/embed`'s `topTerms`, as the official code prints them), or
 * undefined for an embedder without a vocabulary (transformers).
 */
export async function clusterTopTerms(
  embedder: Embedder,
  model: Pick<ClusterModel, 'centroids' | 'k'>,
): Promise<string[][] | undefined> {
  const { termSpaceOf, topTerms } = await import('@cbtm/embed');
  const space = termSpaceOf(embedder);
  return space ? topTerms(space, model.centroids, model.k) : undefined;
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
