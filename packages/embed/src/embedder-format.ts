// The head of `embedder.json`, shared by every embedder kind: the format @cbtm/embed writes.

/**
 * The file every saved embedder has: `<dir>/embedder.json`.
 *
 * @example
 * ```ts
 * existsSync(join(dir, EMBEDDER_MANIFEST)); // a finished embedder lives here
 * ```
 */
export const EMBEDDER_MANIFEST = 'embedder.json';
/**
 * Format tag of `embedder.json`.
 *
 * @example
 * ```ts
 * if (manifest.format !== EMBEDDER_FORMAT) throw new Error('not an embedder');
 * ```
 */
export const EMBEDDER_FORMAT = 'cbtm-embedder';
/**
 * The newest `embedder.json` version this build reads and the one it writes.
 *
 * @example
 * ```ts
 * if (manifest.version > EMBEDDER_FORMAT_VERSION) console.warn('upgrade @cbtm/embed');
 * ```
 */
export const EMBEDDER_FORMAT_VERSION = 1;

/**
 * The common head of `embedder.json`; each kind adds its own fields.
 *
 * @example
 * ```ts
 * const m = await readEmbedderManifest('runs/demo/embedder');
 * console.log(m.kind, m.dimension);
 * ```
 */
export interface EmbedderManifest {
  readonly format: typeof EMBEDDER_FORMAT;
  readonly version: number;
  readonly kind: string;
  readonly dimension: number;
  readonly [key: string]: unknown;
}
