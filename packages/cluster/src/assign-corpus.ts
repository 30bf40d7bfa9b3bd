import { join } from 'node:path';
import {
  createJsonlWriter,
  type Document,
  InvalidArgumentError,
  type JsonlWriter,
  type LongRunOptions,
  progressReporter,
  throwIfAborted,
  writeJsonAtomic,
} from '@cbtm/core';
import type { ClusterModel } from './cluster-model.js';
import { type ClusterMetrics, type Contingency, clusterMetrics } from './metrics.js';
import type { RandomClusters } from './random-clusters.js';

/**
 * What the cluster stage needs from an embedder. `@cbtm/embed`'s `Embedder` satisfies it; the
 * interface is declared here so this package does not depend on the embed package.
 *
 * @example
 * ```ts
 * const embedder: CorpusEmbedder = await loadEmbedder('runs/a/embedder');
 * ```
 */
export interface CorpusEmbedder {
  readonly dimension: number;
  /** One vector per document, in order. */
  embed(
    docs: Iterable<Document> | AsyncIterable<Document>,
    options?: { readonly batchSize?: number; readonly signal?: AbortSignal },
  ): AsyncIterable<Float32Array>;
}

/** Options of {@link assignCorpus}. */
export interface AssignCorpusOptions extends LongRunOptions {
  /** Embeds documents for a {@link ClusterModel}. Not needed with `assignments` or random clusters. */
  readonly embedder?: CorpusEmbedder;
  /**
   * The cluster of the i-th document, given (e.g. the balanced fit's own assignment when the
   * whole corpus was the fit sample). Documents are then not embedded.
   */
  readonly assignments?: ArrayLike<number>;
  /** Squared distances matching `assignments`, for the inertia. */
  readonly distances?: ArrayLike<number>;
  /** How `assignments` were made, recorded in metrics.json. @default 'given' */
  readonly method?: ClusterMetrics['method'];
  /** Documents embedded and assigned at a time. @default 256 */
  readonly batchSize?: number;
  /** Document field with the evaluation label (purity, NMI). @default 'domain' */
  readonly labelField?: string;
  /** Expected number of documents, only for progress totals. */
  readonly total?: number;
}

/** Default options of {@link assignCorpus}. */
export const defaultAssignCorpusOptions = {
  batchSize: 256,
  labelField: 'domain',
  method: 'given',
} as const satisfies AssignCorpusOptions;

/** What {@link assignCorpus} wrote. */
export interface AssignCorpusResult {
  readonly documents: number;
  readonly sizes: Int32Array;
  readonly metrics: ClusterMetrics;
  /** Absolute paths of the files written. */
  readonly files: {
    readonly assignments: string;
    readonly metrics: string;
    readonly shards: readonly string[];
  };
}

/** Relative paths of the cluster stage's outputs inside a run directory. */
export const clusterOutputs = {
  assignments: join('clusters', 'assignments.jsonl'),
  metrics: join('clusters', 'metrics.json'),
  shard: (j: number) => join('shards', `${j}.jsonl.gz`),
} as const;

async function* batches(
  corpus: Iterable<Document> | AsyncIterable<Document>,
  size: number,
): AsyncGenerator<Document[]> {
  let batch: Document[] = [];
  for await (const doc of corpus) {
    batch.push(doc);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Embeds one batch and checks the embedder kept its promise: one vector of `d` per document. */
export async function embedBatch(
  embedder: CorpusEmbedder,
  docs: readonly Document[],
  signal?: AbortSignal,
): Promise<Float32Array> {
  const d = embedder.dimension;
  const out = new Float32Array(docs.length * d);
  let i = 0;
  for await (const vec of embedder.embed(docs, {
    batchSize: docs.length,
    ...(signal ? { signal } : {}),
  })) {
    if (vec.length !== d) {
      throw new InvalidArgumentError(
        `The embedder returned a vector of ${vec.length} values; its dimension is ${d}.`,
      );
    }
    if (i >= docs.length) break;
    out.set(vec, i * d);
    i += 1;
  }
  if (i !== docs.length) {
    throw new InvalidArgumentError(
      `The embedder returned ${i} vectors for ${docs.length} documents.`,
    );
  }
  return out;
}

function labelOf(doc: Document, field: string): string | undefined {
  const v = doc[field];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

/**
 * Streams a corpus into a run directory: each document goes to a cluster (nearest centroid of
 * its embedding for a {@link ClusterModel}, the seeded baseline for {@link RandomClusters}, or
 * the given `assignments`), in batches. Writes, each atomically (temp file, then rename):
 *
 * - `clusters/assignments.jsonl`: `{"id","cluster"}` per document, in corpus order;
 * - `shards/<j>.jsonl.gz`: the documents of cluster j, as read (every shard exists);
 * - `clusters/metrics.json`: sizes, inertia, balance ratio, and with labels purity, NMI and
 *   the label × cluster contingency table (see {@link ClusterMetrics}).
 *
 * Only one batch of documents is held in memory. On error or abort nothing is left
 * half-written.
 *
 * @example
 * ```ts
 * const result = await assignCorpus(readCorpus('data/train.jsonl.gz'), model, 'runs/a', {
 *   embedder,
 *   onProgress: (e) => console.log(e.done),
 * });
 * console.log(result.metrics.labels?.nmi);
 * ```
 */
export async function assignCorpus(
  corpus: Iterable<Document> | AsyncIterable<Document>,
  clusters: ClusterModel | RandomClusters,
  runDir: string,
  options: AssignCorpusOptions = {},
): Promise<AssignCorpusResult> {
  const batchSize = options.batchSize ?? defaultAssignCorpusOptions.batchSize;
  const labelField = options.labelField ?? defaultAssignCorpusOptions.labelField;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
    throw new InvalidArgumentError(`batchSize must be an integer ≥ 1, got ${batchSize}.`);
  }
  const { k } = clusters;
  const given = options.assignments;
  const isRandom = 'kind' in clusters && clusters.kind === 'random';
  const model = isRandom ? undefined : (clusters as ClusterModel);
  if (!given && model && !options.embedder) {
    throw new InvalidArgumentError(
      'assignCorpus needs an embedder to assign documents to a ClusterModel.',
    );
  }
  if (!given && model && options.embedder && options.embedder.dimension !== model.dimension) {
    throw new InvalidArgumentError(
      `The embedder's dimension (${options.embedder.dimension}) differs from the model's (${model.dimension}).`,
    );
  }
  const method: ClusterMetrics['method'] = given
    ? (options.method ?? defaultAssignCorpusOptions.method)
    : isRandom
      ? 'random'
      : 'nearest-centroid';
  const nextRandom = isRandom ? (clusters as RandomClusters).assigner() : undefined;

  const files = {
    assignments: join(runDir, clusterOutputs.assignments),
    metrics: join(runDir, clusterOutputs.metrics),
    shards: Array.from({ length: k }, (_, j) => join(runDir, clusterOutputs.shard(j))),
  };
  const assignmentWriter = createJsonlWriter(files.assignments);
  const shardWriters: JsonlWriter[] = files.shards.map((f) => createJsonlWriter(f));
  const sizes = new Int32Array(k);
  const byLabel = new Map<string, number[]>();
  let inertia = 0;
  let hasDistances = !isRandom && (!given || options.distances !== undefined);
  let documents = 0;
  const progress = progressReporter('assign', options.onProgress, {
    unit: 'docs',
    ...(options.total !== undefined ? { total: options.total } : {}),
  });
  progress.start(`${method}, k=${k}`);
  try {
    for await (const batch of batches(corpus, batchSize)) {
      throwIfAborted(options.signal);
      let batchClusters: ArrayLike<number>;
      let batchDistances: ArrayLike<number> | undefined;
      if (given) {
        if (documents + batch.length > given.length) {
          throw new InvalidArgumentError(
            `The corpus has more documents than the ${given.length} given assignments; they must match one to one.`,
          );
        }
        batchClusters = Array.from({ length: batch.length }, (_, q) => given[documents + q]!);
        const dist = options.distances;
        batchDistances = dist
          ? Array.from({ length: batch.length }, (_, q) => dist[documents + q]!)
          : undefined;
      } else if (nextRandom) {
        batchClusters = batch.map(() => nextRandom());
      } else {
        const vectors = await embedBatch(options.embedder!, batch, options.signal);
        const r = model!.assign(vectors, batch.length);
        batchClusters = r.clusters;
        batchDistances = r.distances;
      }
      for (let q = 0; q < batch.length; q++) {
        const doc = batch[q]!;
        const c = batchClusters[q]!;
        if (!(Number.isInteger(c) && c >= 0 && c < k)) {
          throw new InvalidArgumentError(`Document ${doc.id} got cluster ${c}, outside [0, ${k}).`);
        }
        sizes[c]! += 1;
        if (batchDistances) inertia += batchDistances[q]!;
        else hasDistances = false;
        const label = labelOf(doc, labelField);
        if (label !== undefined) {
          let row = byLabel.get(label);
          if (!row) {
            row = new Array<number>(k).fill(0);
            byLabel.set(label, row);
          }
          row[c]! += 1;
        }
        await assignmentWriter.write({ id: doc.id, cluster: c });
        await shardWriters[c]!.write(doc);
      }
      documents += batch.length;
      progress.update(documents);
    }
    if (given && documents !== given.length) {
      throw new InvalidArgumentError(
        `The corpus has ${documents} documents but ${given.length} assignments were given; they must match one to one.`,
      );
    }
    throwIfAborted(options.signal);
    await Promise.all([assignmentWriter.close(), ...shardWriters.map((w) => w.close())]);
  } catch (err) {
    await Promise.all([assignmentWriter.abort(), ...shardWriters.map((w) => w.abort())]);
    throw err;
  }
  const classes = [...byLabel.keys()].sort();
  const contingency: Contingency = {
    labels: classes,
    k,
    counts: classes.map((c) => byLabel.get(c)!),
  };
  const metrics = clusterMetrics({
    method,
    sizes,
    inertia: hasDistances && documents > 0 ? inertia : null,
    labelField,
    contingency,
  });
  await writeJsonAtomic(files.metrics, metrics);
  progress.done({
    metrics: {
      documents,
      ...(metrics.labels ? { nmi: metrics.labels.nmi, purity: metrics.labels.purity } : {}),
    },
  });
  return { documents, sizes, metrics, files };
}
