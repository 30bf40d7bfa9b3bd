import { readFile } from 'node:fs/promises';
import type { RunDir } from '@cbtm/core/node';
import {
  CbtmError,
  createFileWriter,
  createJsonlWriter,
  readCorpus,
  readJsonFile,
  writeJsonAtomic,
} from '@cbtm/core/node';

/** `<run>/embeddings/`: one L2-normalized vector per training document, in corpus order. */
export const EMBEDDINGS_DIR = 'embeddings';

/** `<run>/embeddings/index.json`. */
export interface EmbeddingsIndex {
  readonly format: 'cbtm-embeddings';
  readonly version: 1;
  /** Documents (rows). */
  readonly n: number;
  readonly dimension: number;
  /** Embedder kind that made them. */
  readonly embedder: string;
  /** Domain labels seen, sorted (empty when the corpus has none). */
  readonly domains: readonly string[];
}

/** The embeddings of a run, loaded. */
export interface Embeddings {
  readonly index: EmbeddingsIndex;
  /** Row-major `[n, dimension]`. */
  readonly vectors: Float32Array;
  /** Document ids, in row order. */
  readonly ids: readonly string[];
  /** Domain label of each row (undefined when unlabeled). */
  readonly domains: readonly (string | undefined)[];
}

/**
 * Writes `<run>/embeddings/` one document at a time (vectors as little-endian float32,
 * documents as JSONL, each file atomically), so the embeddings never have to fit in memory.
 */
export interface EmbeddingsWriter {
  write(
    vector: Float32Array,
    doc: { readonly id: string; readonly domain?: unknown },
  ): Promise<void>;
  /** Renames the files into place and writes `index.json`; returns the output paths. */
  close(): Promise<string[]>;
  abort(): Promise<void>;
}

/** Starts writing `<run>/embeddings/` (see {@link EmbeddingsWriter}). */
export function createEmbeddingsWriter(
  run: RunDir,
  meta: { readonly dimension: number; readonly embedder: string },
): EmbeddingsWriter {
  const vectors = createFileWriter(run.path(EMBEDDINGS_DIR, 'vectors.f32'));
  const docs = createJsonlWriter(run.path(EMBEDDINGS_DIR, 'docs.jsonl'));
  const domains = new Set<string>();
  let n = 0;
  return {
    async write(vector, doc) {
      if (vector.length !== meta.dimension) {
        throw new CbtmError(
          'E_FORMAT',
          `The embedder returned a vector of ${vector.length} values for ${doc.id}; its dimension is ${meta.dimension}.`,
        );
      }
      await vectors.write(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
      const domain = typeof doc.domain === 'string' ? doc.domain : undefined;
      if (domain !== undefined) domains.add(domain);
      await docs.write({ id: doc.id, ...(domain !== undefined ? { domain } : {}) });
      n += 1;
    },
    async close() {
      await vectors.close();
      await docs.close();
      const index: EmbeddingsIndex = {
        format: 'cbtm-embeddings',
        version: 1,
        n,
        dimension: meta.dimension,
        embedder: meta.embedder,
        domains: [...domains].sort(),
      };
      await writeJsonAtomic(run.path(EMBEDDINGS_DIR, 'index.json'), index);
      return [EMBEDDINGS_DIR];
    },
    async abort() {
      await Promise.all([vectors.abort(), docs.abort()]);
    },
  };
}

/** Reads `<run>/embeddings/`. */
export async function readEmbeddings(run: RunDir): Promise<Embeddings> {
  const index = await readJsonFile<EmbeddingsIndex>(run.path(EMBEDDINGS_DIR, 'index.json'));
  const buf = await readFile(run.path(EMBEDDINGS_DIR, 'vectors.f32'));
  const vectors = new Float32Array(
    buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength),
  );
  const ids: string[] = [];
  const domains: (string | undefined)[] = [];
  for await (const doc of readCorpus(run.path(EMBEDDINGS_DIR, 'docs.jsonl'), { textField: 'id' })) {
    ids.push(doc.id);
    domains.push(typeof doc.domain === 'string' ? doc.domain : undefined);
  }
  return { index, vectors, ids, domains };
}
