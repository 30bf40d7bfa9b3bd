// A fitted tf-idf → SVD embedder as one row per term: the compact, read-only form the browser
// export (`cbtm export-web`) ships. The embedding of a text is the L2-normalized sum of its
// terms' rows, counted with multiplicity, which is the fitted embedder's output: the tf-idf
// row's own normalization only scales the vector before the final normalization.
import { CbtmError } from '@cbtm/core';
import { ENGLISH_STOP_WORDS, NUMBER_TOKEN } from './stop-words.js';
import { TfidfSvdEmbedder } from './tfidf-svd-embedder.js';
import { TfidfVectorizer } from './tfidf-vectorizer.js';
import { defaultTruncatedSvdOptions, TruncatedSvd } from './truncated-svd.js';

/**
 * `format` of a term-rows `embedder.json`.
 *
 * @example
 * ```ts
 * if (json.format !== TERM_ROWS_FORMAT) throw new Error('not a term-rows embedder');
 * ```
 */
export const TERM_ROWS_FORMAT = 'cbtm-web-embedder';

/**
 * The JSON half of a term-rows embedder: the analyzer and the terms in row order. The rows
 * (float32, `[terms.length, dimension]`, row_t = idf_t · SVD component column t) live in the
 * file named by `rows`.
 *
 * @example
 * ```ts
 * const { json, rows } = toTermRows(embedder);
 * json.terms.length * json.dimension === rows.length; // true
 * ```
 */
export interface TermRowsJson {
  readonly format: typeof TERM_ROWS_FORMAT;
  readonly version: 1;
  readonly kind: 'tfidf-svd';
  readonly dimension: number;
  /** `1 + ln(tf)` instead of raw counts. */
  readonly sublinearTf: boolean;
  readonly analyzer: {
    readonly lowercase: boolean;
    /** Tokens are maximal runs of at least this many Python word characters ([\p{L}\p{N}_]). */
    readonly minTokenLength: number;
    /** Tokens starting with a digit become `numberToken`. */
    readonly numberNormalize: boolean;
    readonly numberToken: string;
    readonly stopWords: readonly string[];
  };
  /** Terms, in row order. */
  readonly terms: readonly string[];
  /** File name of the rows, next to the JSON. */
  readonly rows: string;
}

/**
 * Folds a fitted embedder into one row per term. Only single-word analyzers (`\b\w{n,}\b`,
 * unigrams; the default) can be folded; others throw `E_FORMAT`.
 *
 * @example
 * ```ts
 * const { json, rows } = toTermRows(embedder, 'embedder.f32');
 * ```
 */
export function toTermRows(
  embedder: TfidfSvdEmbedder,
  rowsFile = 'embedder.f32',
): { json: TermRowsJson; rows: Float32Array } {
  const v = embedder.vectorizer;
  const o = v.options;
  const minRun = v.analyzer.pattern.wordRunMinLength;
  if (minRun === null || o.ngramRange[0] !== 1 || o.ngramRange[1] !== 1) {
    throw new CbtmError(
      'E_FORMAT',
      `Only tf-idf over single words matched by \\b\\w{n,}\\b (the default) folds into term rows; this embedder uses token pattern ${JSON.stringify(o.tokenPattern)} and n-grams ${JSON.stringify(o.ngramRange)}.`,
    );
  }
  const V = v.nFeatures;
  const d = embedder.dimension;
  const comps = embedder.svd.components; // [d, V]
  const idf = v.idf;
  const rows = new Float32Array(V * d);
  for (let t = 0; t < V; t++) {
    const w = idf ? idf[t]! : 1;
    for (let c = 0; c < d; c++) rows[t * d + c] = w * comps[c * V + t]!;
  }
  const stopWords = o.stopWords === 'english' ? [...ENGLISH_STOP_WORDS] : [...(o.stopWords ?? [])];
  return {
    json: {
      format: TERM_ROWS_FORMAT,
      version: 1,
      kind: 'tfidf-svd',
      dimension: d,
      sublinearTf: o.sublinearTf,
      analyzer: {
        lowercase: o.lowercase,
        minTokenLength: minRun,
        numberNormalize: o.numberNormalize,
        numberToken: NUMBER_TOKEN,
        stopWords,
      },
      terms: [...v.featureNames],
      rows: rowsFile,
    },
    rows,
  };
}

/**
 * Rebuilds an embedder from its term rows: it embeds (and prefix-embeds) like the embedder
 * they were folded from, up to float rounding.
 *
 * @example
 * ```ts
 * const embedder = fromTermRows(json, rows);
 * const v = await embedder.embedText('In the beginning');
 * ```
 */
export function fromTermRows(json: TermRowsJson, rows: Float32Array): TfidfSvdEmbedder {
  if (json.format !== TERM_ROWS_FORMAT || json.version !== 1 || json.kind !== 'tfidf-svd')
    throw new CbtmError(
      'E_FORMAT',
      `Not a term-rows embedder (format "${TERM_ROWS_FORMAT}", version 1).`,
    );
  const { dimension: d, terms, analyzer: a } = json;
  if (rows.length !== terms.length * d)
    throw new CbtmError(
      'E_FORMAT',
      `The term rows hold ${rows.length} values, not ${terms.length} terms × ${d}; export again.`,
    );
  if (a.numberToken !== NUMBER_TOKEN)
    throw new CbtmError(
      'E_FORMAT',
      `Unknown number token "${a.numberToken}"; upgrade @cbtm/embed.`,
    );
  const english = new Set(ENGLISH_STOP_WORDS);
  const stopWords =
    a.stopWords.length === english.size && a.stopWords.every((w) => english.has(w))
      ? ('english' as const)
      : a.stopWords;
  const vectorizer = TfidfVectorizer.fromParts(
    {
      lowercase: a.lowercase,
      tokenPattern: `(?u)\\b\\w{${a.minTokenLength},}\\b`,
      numberNormalize: a.numberNormalize,
      stopWords,
      sublinearTf: json.sublinearTf,
      useIdf: false,
    },
    terms,
    null,
    1,
  );
  const V = terms.length;
  const components = new Float32Array(d * V);
  for (let t = 0; t < V; t++) for (let c = 0; c < d; c++) components[c * V + t] = rows[t * d + c]!;
  const svd = new TruncatedSvd({
    options: { ...defaultTruncatedSvdOptions, nComponents: d },
    nFeatures: V,
    components,
    singularValues: new Float64Array(d),
    explainedVariance: new Float64Array(d),
    explainedVarianceRatio: new Float64Array(d),
  });
  return new TfidfSvdEmbedder(vectorizer, svd);
}
