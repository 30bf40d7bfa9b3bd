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
} from '@cbtm/core/node';
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
  /**
   * Number of documents in the corpus: progress totals, and required for
   * {@link RandomClusters} (it deals a shuffle of all N documents).
   */
  readonly total?: number;
  /**
   * Document fields a shard record keeps besides `id` and `text` (when present), in this
   * order. @default every field: the document as read
   */
  readonly fields?: readonly string[];
  /**
   * Where the outputs go, relative to the run directory (e.g. a baseline's own folder).
   * @default clusterOutputs
   */
  readonly outputs?: AssignCorpusOutputs;
  /**
   * Documents kept out of training (a validation hold-out): each is embedded and assigned to
   * its nearest centroid, and appended to the assignments as `{"id","cluster","heldOut":true}`;
   * they go to no shard and count in no metric. Needs a {@link ClusterModel} and `embedder`.
   */
  readonly heldOut?: Iterable<Document> | AsyncIterable<Document>;
}

/**
 * Paths of {@link assignCorpus}'s outputs, relative to the run directory.
 *
 * @example
 * ```ts
 * const outputs: AssignCorpusOutputs = { ...clusterOutputs, shard: (j) => `random/shards/${j}.jsonl.gz` };
 * ```
 */
export interface AssignCorpusOutputs {
  readonly assignments: string;
  readonly metrics: string;
  readonly shard: (j: number) => string;
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
  /** Held-out documents assigned (`heldOut` option); 0 without. */
  readonly heldOut: number;
  readonly sizes: Int32Array;
  readonly metrics: ClusterMetrics;
  /** Absolute paths of the files written. */
  readonly files: {
    readonly assignments: string;
    readonly metrics: string;
    readonly shards: readonly string[];
  };
}

/**
 * Relative paths of the cluster stage's outputs inside a run directory.
 *
 * @example
 * ```ts
 * join(runDir, clusterOutputs.shard(3)); // <run>/shards/3.jsonl.gz
 * ```
 */
export const clusterOutputs: AssignCorpusOutputs = {
  assignments: join('clusters', 'assignments.jsonl'),
  metrics: join('clusters', 'metrics.json'),
  shard: (j: number) => join('shards', `${j}.jsonl.gz`),
};

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

/** The shard record of a document: all of it, or `id`, `text` and the chosen fields. */
function shardRecord(doc: Document, fields: readonly string[] | undefined): object {
  if (!fields) return doc;
  const out: Record<string, unknown> = { id: doc.id, text: doc.text };
  for (const f of fields) if (doc[f] !== undefined) out[f] = doc[f];
  return out;
}

/**
 * Streams a corpus into a run directory: each document goes to a cluster (nearest centroid of
 * its embedding for a {@link ClusterModel}, the seeded baseline for {@link RandomClusters}, or
 * the given `assignments`), in batches. Writes, each atomically (temp file, then rename):
 *
 * - `clusters/assignments.jsonl`: `{"id","cluster"}` per document, in corpus order, then the
 *   `heldOut` documents marked `"heldOut": true`;
 * - `shards/<j>.jsonl.gz`: the documents of cluster j, as read or cut to `fields` (every
 *   shard exists);
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
  const isRandom = 'kind' in clusters && clusters.kind === 'random';
  const model = isRandom ? undefined : (clusters as ClusterModel);
  if (isRandom && !options.assignments && options.total === undefined) {
    throw new InvalidArgumentError(
      'assignCorpus needs `total`, the number of documents, for random clusters: they deal a shuffle of the whole corpus.',
    );
  }
  const given =
    options.assignments ??
    (isRandom ? (clusters as RandomClusters).assignments(options.total!) : undefined);
  const givenWhat = options.assignments
    ? `the ${given?.length} given assignments`
    : `total = ${given?.length}`;
  if (((!given && model) || options.heldOut) && !options.embedder) {
    throw new InvalidArgumentError(
      'assignCorpus needs an embedder to assign documents to a ClusterModel.',
    );
  }
  if (options.heldOut && !model) {
    throw new InvalidArgumentError(
      'assignCorpus assigns held-out documents only to a ClusterModel.',
    );
  }
  if (
    (!given || options.heldOut) &&
    model &&
    options.embedder &&
    options.embedder.dimension !== model.dimension
  ) {
    throw new InvalidArgumentError(
      `The embedder's dimension (${options.embedder.dimension}) differs from the model's (${model.dimension}).`,
    );
  }
  const method: ClusterMetrics['method'] = isRandom
    ? 'random'
    : given
      ? (options.method ?? defaultAssignCorpusOptions.method)
      : 'nearest-centroid';
  const outputs = options.outputs ?? clusterOutputs;
  const files = {
    assignments: join(runDir, outputs.assignments),
    metrics: join(runDir, outputs.metrics),
    shards: Array.from({ length: k }, (_, j) => join(runDir, outputs.shard(j))),
  };
  const assignmentWriter = createJsonlWriter(files.assignments);
  const shardWriters: JsonlWriter[] = files.shards.map((f) => createJsonlWriter(f));
  const sizes = new Int32Array(k);
  const byLabel = new Map<string, number[]>();
  let inertia = 0;
  let hasDistances = !isRandom && (!given || options.distances !== undefined);
  let documents = 0;
  let heldOut = 0;
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
            `The corpus has more documents than ${givenWhat}; they must match one to one.`,
          );
        }
        batchClusters = Array.from({ length: batch.length }, (_, q) => given[documents + q]!);
        const dist = options.distances;
        batchDistances = dist
          ? Array.from({ length: batch.length }, (_, q) => dist[documents + q]!)
          : undefined;
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
        await shardWriters[c]!.write(shardRecord(doc, options.fields));
      }
      documents += batch.length;
      progress.update(documents);
    }
    if (given && documents !== given.length) {
      throw new InvalidArgumentError(
        `The corpus has ${documents} documents but ${givenWhat}; they must match one to one.`,
      );
    }
    if (options.heldOut)
      heldOut = await assignHeldOut(
        options.heldOut,
        model!,
        options.embedder!,
        assignmentWriter,
        batchSize,
        options.signal,
      );
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
  return { documents, heldOut, sizes, metrics, files };
}

/**
 * Embeds held-out documents in the embedder's own batches, assigns each to its nearest
 * centroid and appends it to the assignments, marked. Returns how many there were.
 */
async function assignHeldOut(
  docs: Iterable<Document> | AsyncIterable<Document>,
  model: ClusterModel,
  embedder: CorpusEmbedder,
  writer: JsonlWriter,
  blockSize: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const d = model.dimension;
  const ids: string[] = [];
  const source = async function* () {
    for await (const doc of docs) {
      ids.push(doc.id);
      yield doc;
    }
  };
  let block = new Float32Array(blockSize * d);
  let m = 0;
  let written = 0;
  const flush = async () => {
    const { clusters } = model.assign(block, m);
    for (let q = 0; q < m; q++) {
      await writer.write({ id: ids[written]!, cluster: clusters[q]!, heldOut: true });
      written += 1;
    }
    block = new Float32Array(blockSize * d);
    m = 0;
  };
  for await (const vector of embedder.embed(source(), signal ? { signal } : {})) {
    throwIfAborted(signal);
    if (vector.length !== d) {
      throw new InvalidArgumentError(
        `The embedder returned a vector of ${vector.length} values; its dimension is ${d}.`,
      );
    }
    block.set(vector, m * d);
    m += 1;
    if (m === blockSize) await flush();
  }
  if (m > 0) await flush();
  return written;
}
