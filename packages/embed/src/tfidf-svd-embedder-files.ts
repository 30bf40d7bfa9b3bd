import { join } from 'node:path';
import { CbtmError, readJsonFile, writeJsonAtomic } from '@cbtm/core/node';
import type { DocSource } from './doc-source.js';
import type { Embedder } from './embedder.js';
import {
  readEmbedderManifest,
  readFloat32File,
  readFloat64File,
  writeTypedArray,
} from './embedder-files.js';
import { EMBEDDER_FORMAT, EMBEDDER_FORMAT_VERSION, EMBEDDER_MANIFEST } from './embedder-format.js';
import {
  TfidfSvdEmbedder as PureTfidfSvdEmbedder,
  type TfidfSvdFitOptions,
} from './tfidf-svd-embedder.js';
import { TfidfVectorizer, type TfidfVectorizerOptions } from './tfidf-vectorizer.js';
import { TruncatedSvd, type TruncatedSvdOptions } from './truncated-svd.js';

const KIND = 'tfidf-svd';

/**
 * An {@link Embedder} that can write itself into a directory; what `@cbtm/embed/node` fits and
 * loads. The pure entry's embedders embed only.
 *
 * @example
 * ```ts
 * const embedder: SavableEmbedder = await loadEmbedder('runs/demo/embedder');
 * await embedder.save('runs/copy/embedder');
 * ```
 */
export interface SavableEmbedder extends Embedder {
  /** Writes `<dir>/embedder.json` (plus data files); {@link loadEmbedder} reads it back. */
  save(dir: string): Promise<void>;
}

/**
 * The tf-idf → SVD embedder of the pure entry, plus saving to and loading from a directory.
 *
 * @example
 * ```ts
 * const embedder = await TfidfSvdEmbedder.fit(readCorpus('train.jsonl.gz'), { nComponents: 100 });
 * await embedder.save('runs/demo/embedder');
 * ```
 */
export class TfidfSvdEmbedder extends PureTfidfSvdEmbedder implements SavableEmbedder {
  /**
   * Fits like the pure entry's `TfidfSvdEmbedder.fit`, and returns an embedder that can save.
   *
   * @example
   * ```ts
   * const e = await TfidfSvdEmbedder.fit(docs, { nComponents: 16 });
   * ```
   */
  static override async fit(
    docs: DocSource,
    options: TfidfSvdFitOptions = {},
  ): Promise<TfidfSvdEmbedder> {
    const fitted = await PureTfidfSvdEmbedder.fit(docs, options);
    return new TfidfSvdEmbedder(fitted.vectorizer, fitted.svd);
  }

  /**
   * Saves to `dir`: `embedder.json`, `vocabulary.json` (terms in column order), `idf.f64` and
   * `components.f32` (nComponents × nFeatures, scikit-learn's `components_`), little-endian.
   * `embedder.json` is written last, so a folder without it holds no finished embedder.
   *
   * @example
   * ```ts
   * await embedder.save(run.path('embedder'));
   * ```
   */
  async save(dir: string): Promise<void> {
    const v = this.vectorizer;
    const svd = this.svd;
    await writeJsonAtomic(join(dir, 'vocabulary.json'), v.featureNames);
    if (v.idf) await writeTypedArray(join(dir, 'idf.f64'), v.idf);
    await writeTypedArray(join(dir, 'components.f32'), svd.components);
    await writeJsonAtomic(join(dir, EMBEDDER_MANIFEST), {
      format: EMBEDDER_FORMAT,
      version: EMBEDDER_FORMAT_VERSION,
      kind: KIND,
      dimension: this.dimension,
      tfidf: { options: v.options, nFeatures: v.nFeatures, nDocuments: v.nDocuments },
      svd: {
        options: svd.options,
        singularValues: Array.from(svd.singularValues),
        explainedVariance: Array.from(svd.explainedVariance),
        explainedVarianceRatio: Array.from(svd.explainedVarianceRatio),
      },
      files: {
        vocabulary: 'vocabulary.json',
        idf: v.idf ? 'idf.f64' : null,
        components: 'components.f32',
      },
    });
  }

  /**
   * Loads an embedder written by {@link save}.
   *
   * @example
   * ```ts
   * const e = await TfidfSvdEmbedder.load('runs/demo/embedder');
   * ```
   */
  static async load(dir: string): Promise<TfidfSvdEmbedder> {
    const m = await readEmbedderManifest(dir);
    if (m.kind !== KIND) {
      throw new CbtmError(
        'E_FORMAT',
        `${join(dir, EMBEDDER_MANIFEST)} holds a "${m.kind}" embedder, not "${KIND}"; use loadEmbedder().`,
      );
    }
    const t = m.tfidf as { options: TfidfVectorizerOptions; nFeatures: number; nDocuments: number };
    const s = m.svd as {
      options: TruncatedSvdOptions;
      singularValues: number[];
      explainedVariance: number[];
      explainedVarianceRatio: number[];
    };
    const featureNames = await readJsonFile<string[]>(join(dir, 'vocabulary.json'));
    if (!Array.isArray(featureNames) || featureNames.length !== t.nFeatures) {
      throw new CbtmError(
        'E_FORMAT',
        `${join(dir, 'vocabulary.json')} does not hold ${t.nFeatures} terms; save the embedder again.`,
      );
    }
    const idf = t.options.useIdf ? await readFloat64File(join(dir, 'idf.f64'), t.nFeatures) : null;
    const vectorizer = TfidfVectorizer.fromParts(t.options, featureNames, idf, t.nDocuments);
    const components = await readFloat32File(
      join(dir, 'components.f32'),
      s.options.nComponents * t.nFeatures,
    );
    const svd = new TruncatedSvd({
      options: s.options,
      nFeatures: t.nFeatures,
      components,
      singularValues: Float64Array.from(s.singularValues),
      explainedVariance: Float64Array.from(s.explainedVariance),
      explainedVarianceRatio: Float64Array.from(s.explainedVarianceRatio),
    });
    return new TfidfSvdEmbedder(vectorizer, svd);
  }
}
