/** `format` of an export's `manifest.json`. */
export const WEB_DEMO_FORMAT = 'cbtm-web-demo';
/** Version of the export format this build writes. */
export const WEB_DEMO_VERSION = 1;
/** `format` of an export's `embedder.json`. */
export const WEB_EMBEDDER_FORMAT = 'cbtm-web-embedder';

/**
 * `manifest.json` of a browser export: where every file is, the routing defaults, and a label
 * per expert. Paths are relative to the manifest.
 *
 * @example
 * ```ts
 * const manifest: WebDemoManifest = await (await fetch('/demo/manifest.json')).json();
 * manifest.experts.map((e) => e.label); // ['religion', 'legal', ...]
 * ```
 */
export interface WebDemoManifest {
  readonly format: typeof WEB_DEMO_FORMAT;
  readonly version: typeof WEB_DEMO_VERSION;
  /** Hugging Face `tokenizer.json` of the run's byte-level BPE tokenizer. */
  readonly tokenizer: string;
  /** {@link WebEmbedderJson}. */
  readonly embedder: string;
  readonly router: {
    readonly k: number;
    readonly dimension: number;
    /** float32 little-endian, row-major [k, dimension]. */
    readonly centroids: string;
    /** Routing temperature T the page starts with. */
    readonly temperature: number;
    /** Experts mixed per token when the page opens. */
    readonly topK: number | 'all';
  };
  readonly experts: readonly {
    /** Position among the exported experts (the row of `centroids`). */
    readonly index: number;
    /** The expert's cluster in the run. */
    readonly cluster: number;
    /** A short name, e.g. the cluster's most common domain. */
    readonly label: string;
    /** The expert's TensorFlow.js `model.json` (format "cbtm-gpt"). */
    readonly model: string;
  }[];
  /** Prompts the page offers. */
  readonly prompts: readonly string[];
  /** Where the export came from. */
  readonly source: Readonly<Record<string, unknown>>;
}

/**
 * `embedder.json` of a browser export: a fitted tf-idf + SVD embedder as one row per term,
 * row_t = idf_t · SVD component column t, so the embedding of a text is the L2-normalized
 * sum of the rows of its terms (counted with multiplicity).
 *
 * @example
 * ```ts
 * const e: WebEmbedderJson = await (await fetch('/demo/embedder.json')).json();
 * e.terms.length * e.dimension * 4; // bytes of e.rows
 * ```
 */
export interface WebEmbedderJson {
  readonly format: typeof WEB_EMBEDDER_FORMAT;
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
  /** float32 little-endian [terms.length, dimension]. */
  readonly rows: string;
}

/** One file of an export. */
export interface ExportedFile {
  /** Path relative to the export folder, with `/`. */
  readonly path: string;
  readonly bytes: number;
}
