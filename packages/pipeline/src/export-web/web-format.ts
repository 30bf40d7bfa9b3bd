import { TERM_ROWS_FORMAT, type TermRowsJson } from '@cbtm/embed';

/** `format` of an export's `manifest.json`. */
export const WEB_DEMO_FORMAT = 'cbtm-web-demo';
/** Version of the export format this build writes. */
export const WEB_DEMO_VERSION = 1;
/** `format` of an export's `embedder.json` (`@cbtm/embed`'s term rows). */
export const WEB_EMBEDDER_FORMAT = TERM_ROWS_FORMAT;

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
 * `embedder.json` of a browser export: the fitted tf-idf + SVD embedder as term rows, the
 * format `@cbtm/embed` owns (`toTermRows` / `fromTermRows`).
 *
 * @example
 * ```ts
 * const e: WebEmbedderJson = await (await fetch('/demo/embedder.json')).json();
 * e.terms.length * e.dimension * 4; // bytes of e.rows
 * ```
 */
export type WebEmbedderJson = TermRowsJson;

/** One file of an export. */
export interface ExportedFile {
  /** Path relative to the export folder, with `/`. */
  readonly path: string;
  readonly bytes: number;
}
