import { readFile } from 'node:fs/promises';
import type { RunDir } from '@cbtm/core';
import {
  createJsonlWriter,
  readCorpus,
  readJsonFile,
  writeFileAtomic,
  writeJsonAtomic,
} from '@cbtm/core';

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

/** Writes the embeddings (vectors as little-endian float32, documents as JSONL), atomically. */
export async function writeEmbeddings(
  run: RunDir,
  data: {
    vectors: Float32Array;
    ids: readonly string[];
    domains: readonly (string | undefined)[];
    dimension: number;
    embedder: string;
  },
): Promise<string[]> {
  const bytes = new Uint8Array(
    data.vectors.buffer,
    data.vectors.byteOffset,
    data.vectors.byteLength,
  );
  await writeFileAtomic(run.path(EMBEDDINGS_DIR, 'vectors.f32'), bytes);
  const docs = createJsonlWriter(run.path(EMBEDDINGS_DIR, 'docs.jsonl'));
  for (let i = 0; i < data.ids.length; i++) {
    await docs.write({
      id: data.ids[i],
      ...(data.domains[i] !== undefined ? { domain: data.domains[i] } : {}),
    });
  }
  await docs.close();
  const index: EmbeddingsIndex = {
    format: 'cbtm-embeddings',
    version: 1,
    n: data.ids.length,
    dimension: data.dimension,
    embedder: data.embedder,
    domains: [...new Set(data.domains.filter((d): d is string => d !== undefined))].sort(),
  };
  await writeJsonAtomic(run.path(EMBEDDINGS_DIR, 'index.json'), index);
  return [EMBEDDINGS_DIR];
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
