import { rm } from 'node:fs/promises';
import { CbtmError, type Document, InvalidArgumentError, throwIfAborted } from '@cbtm/core';
import { RunLayout } from '@cbtm/core/node';
import { formatSkipped } from '../corpus-source.js';
import { EMBEDDINGS_DIR, writeEmbeddings } from './embeddings-file.js';
import type { StageDefinition } from './stage.js';

/**
 * Fits the document embedder (tf-idf → SVD, or loads a transformers model), saves it to
 * `<run>/embedder/`, and embeds every training document into `<run>/embeddings/`.
 */
export const embedStage: StageDefinition = {
  name: 'embed',
  inputs: [],
  paths: ['embedder', EMBEDDINGS_DIR],
  enabled: () => true,
  stageConfig: ({ config, corpusFingerprint }) => ({
    corpus: corpusFingerprint,
    holdout:
      config.corpus.valid === null && config.corpus.train !== null ? config.corpus.holdout : 0,
    fields: [config.corpus.textField, config.corpus.idField],
    limit: config.corpus.limit,
    embed: config.embed,
    seed: config.seed,
  }),
  async execute({ run, config, corpus, signal, onProgress, log }) {
    const embed = await import('@cbtm/embed');
    const { embedder: kind, dimension, model, sample } = config.embed;
    // One cheap counting pass, so impossible settings fail before any fitting.
    let documents = 0;
    for await (const _doc of corpus.trainDocs()) {
      documents += 1;
      if (documents % 4096 === 0) throwIfAborted(signal);
    }
    if (documents === 0)
      throw new CbtmError(
        'E_CORPUS_EMPTY',
        `The corpus ${corpus.train} holds no training documents.`,
      );
    if (config.cluster.k > documents) {
      throw new InvalidArgumentError(
        `k = ${config.cluster.k} is larger than the number of training documents (${documents}). Choose --k ≤ ${documents}.`,
      );
    }
    if (kind === 'tfidf' && dimension > documents) {
      throw new InvalidArgumentError(
        `embed.dimension = ${dimension} is larger than the number of training documents (${documents}). Set embed.dimension ≤ ${documents} in the config.`,
      );
    }
    let embedder: import('@cbtm/embed').Embedder;
    if (kind === 'tfidf') {
      embedder = await embed.TfidfSvdEmbedder.fit(corpus.trainDocs(), {
        nComponents: dimension,
        seed: config.seed,
        ...(sample !== null ? { svdSampleSize: sample } : {}),
        ...(signal ? { signal } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
    } else {
      if (model === null) {
        throw new CbtmError(
          'E_CONFIG_INVALID',
          'Invalid config: field "embed.model" must be a model folder when embed.embedder is "transformers" (pass --model PATH).',
        );
      }
      embedder = await embed.TransformersEmbedder.create(
        { model },
        { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) },
      );
    }
    const embedderDir = new RunLayout(run.dir).embedder;
    await rm(embedderDir, { recursive: true, force: true });
    await embedder.save(embedderDir);
    log(`embed: ${embedder.kind} embedder, ${embedder.dimension} dimensions.`);

    const docs: Document[] = [];
    const source = async function* () {
      for await (const doc of corpus.trainDocs()) {
        docs.push({
          id: doc.id,
          text: '',
          ...(typeof doc.domain === 'string' ? { domain: doc.domain } : {}),
        });
        yield doc;
      }
    };
    const rows: Float32Array[] = [];
    for await (const vec of embedder.embed(source(), {
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    })) {
      rows.push(vec);
    }
    throwIfAborted(signal);
    if (rows.length === 0) {
      throw new CbtmError(
        'E_CORPUS_EMPTY',
        `The corpus ${corpus.train} holds no training documents.`,
      );
    }
    const d = embedder.dimension;
    const vectors = new Float32Array(rows.length * d);
    rows.forEach((row, i) => {
      vectors.set(row, i * d);
    });
    const outputs = await writeEmbeddings(run, {
      vectors,
      ids: docs.map((doc) => doc.id),
      domains: docs.map((doc) => doc.domain),
      dimension: d,
      embedder: embedder.kind,
    });
    const skipped = corpus.skipped();
    const skippedLine = formatSkipped(skipped, corpus.train);
    if (skippedLine) log(`embed: ${skippedLine}`);
    return {
      outputs: ['embedder', ...outputs],
      info: {
        documents: rows.length,
        dimension: d,
        embedder: embedder.kind,
        ...(skipped.count > 0 ? { skipped } : {}),
      },
    };
  },
};
