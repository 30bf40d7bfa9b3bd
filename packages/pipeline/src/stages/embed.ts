import { rm } from 'node:fs/promises';
import { CbtmError, type Document, InvalidArgumentError, throwIfAborted } from '@cbtm/core';
import { RunLayout } from '@cbtm/core/node';
import { formatSkipped, trainingDocumentsConfig } from '../corpus-source.js';
import { createEmbeddingsWriter, EMBEDDINGS_DIR } from './embeddings-file.js';
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
    ...trainingDocumentsConfig(config, corpusFingerprint),
    embed: config.embed,
    seed: config.seed,
  }),
  async execute({ run, config, corpus, signal, onProgress, log }) {
    const embed = await import('@cbtm/embed/node');
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
    let embedder: import('@cbtm/embed/node').SavableEmbedder;
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

    const writer = createEmbeddingsWriter(run, {
      dimension: embedder.dimension,
      embedder: embedder.kind,
    });
    // Documents read but not embedded yet: the embedder reads ahead by at most a batch.
    const pending: Document[] = [];
    const source = async function* () {
      for await (const doc of corpus.trainDocs()) {
        pending.push(doc);
        yield doc;
      }
    };
    let embedded = 0;
    try {
      for await (const vec of embedder.embed(source(), {
        ...(signal ? { signal } : {}),
        ...(onProgress ? { onProgress } : {}),
      })) {
        await writer.write(vec, pending.shift()!);
        embedded += 1;
      }
      throwIfAborted(signal);
      if (embedded === 0) {
        throw new CbtmError(
          'E_CORPUS_EMPTY',
          `The corpus ${corpus.train} holds no training documents.`,
        );
      }
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const outputs = await writer.close();
    const skipped = corpus.skipped();
    const skippedLine = formatSkipped(skipped, corpus.train);
    if (skippedLine) log(`embed: ${skippedLine}`);
    return {
      outputs: ['embedder', ...outputs],
      info: {
        documents: embedded,
        dimension: embedder.dimension,
        embedder: embedder.kind,
        ...(skipped.count > 0 ? { skipped } : {}),
      },
    };
  },
};
