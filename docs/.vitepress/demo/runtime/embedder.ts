/**
 * The tf-idf → truncated SVD → L2 embedding of a growing text, for the browser. `export-web`
 * stores, for every term t of the fitted vocabulary, the row idf_t · SVD component_t; the
 * embedding of a text is the L2-normalized sum of those rows over its terms (tf-idf is a sum
 * over words and the SVD is linear, and both norms are positive scalings). Adding a word costs
 * O(d), as `@cbtm/embed`'s `TfidfPrefixEmbedding` does; the docs-check tests compare the two.
 */

// Type-only: the file format is defined once, next to the code that writes it.
import type { WebEmbedderJson } from '../../../../packages/pipeline/src/export-web/web-format.js';

export type { WebEmbedderJson };

// Python's `\w` for str patterns is exactly [\p{L}\p{N}_]; `str.isdigit` is \p{Nd} plus the
// Numeric_Type=Digit code points below (superscripts, circled digits...).
const WORD_RUN = /[\p{L}\p{N}_]+/gu;
const DIGIT_ONLY: readonly [number, number][] = [
  [0xb2, 0xb3],
  [0xb9, 0xb9],
  [0x1369, 0x1371],
  [0x19da, 0x19da],
  [0x2070, 0x2070],
  [0x2074, 0x2079],
  [0x2080, 0x2089],
  [0x2460, 0x2468],
  [0x2474, 0x247c],
  [0x2488, 0x2490],
  [0x24ea, 0x24ea],
  [0x24f5, 0x24fd],
  [0x24ff, 0x24ff],
  [0x2776, 0x277e],
  [0x2780, 0x2788],
  [0x278a, 0x2792],
  [0x10a40, 0x10a43],
  [0x10e60, 0x10e68],
  [0x11052, 0x1105a],
  [0x1f100, 0x1f10a],
];

function isDigit(cp: number): boolean {
  if (/\p{Nd}/u.test(String.fromCodePoint(cp))) return true;
  return DIGIT_ONLY.some(([a, b]) => cp >= a && cp <= b);
}

/** A fitted tf-idf + SVD model, ready to embed in the browser. */
export class WebEmbedder {
  readonly dimension: number;
  readonly #json: WebEmbedderJson;
  readonly #rows: Float32Array;
  readonly #index: Map<string, number>;
  readonly #stop: Set<string>;

  constructor(json: WebEmbedderJson, rows: Float32Array) {
    if (json.format !== 'cbtm-web-embedder' || json.version !== 1)
      throw new Error('embedder.json: unknown format');
    if (rows.length !== json.terms.length * json.dimension)
      throw new Error('embedder rows: wrong size');
    this.#json = json;
    this.#rows = rows;
    this.dimension = json.dimension;
    this.#index = new Map(json.terms.map((t, i) => [t, i]));
    this.#stop = new Set(json.analyzer.stopWords);
  }

  /** The terms of `text` that the vocabulary knows, as row indices (scikit-learn's analyzer). */
  terms(text: string): number[] {
    const a = this.#json.analyzer;
    const s = a.lowercase ? text.toLowerCase() : text;
    const out: number[] = [];
    for (const m of s.matchAll(WORD_RUN)) {
      let tok = m[0];
      if ([...tok].length < a.minTokenLength) continue;
      if (a.numberNormalize && isDigit(tok.codePointAt(0)!)) tok = a.numberToken;
      if (this.#stop.has(tok)) continue;
      const j = this.#index.get(tok);
      if (j !== undefined) out.push(j);
    }
    return out;
  }

  /** A fresh incremental embedding of an empty text. */
  prefix(): WebPrefixEmbedding {
    return new WebPrefixEmbedding(this, this.#rows, this.#json.sublinearTf);
  }

  /** The embedding of a whole text. */
  embed(text: string): Float32Array {
    const p = this.prefix();
    p.push(text);
    return p.vector();
  }
}

/**
 * The running (unnormalized) sum for a text fed in chunks that end at word boundaries, such as
 * the complete words of a token stream.
 */
export class WebPrefixEmbedding {
  readonly #embedder: WebEmbedder;
  readonly #rows: Float32Array;
  readonly #sublinear: boolean;
  readonly #acc: Float64Array;
  readonly #counts = new Map<number, number>();
  #empty = true;

  constructor(embedder: WebEmbedder, rows: Float32Array, sublinear: boolean) {
    this.#embedder = embedder;
    this.#rows = rows;
    this.#sublinear = sublinear;
    this.#acc = new Float64Array(embedder.dimension);
  }

  /** Adds a chunk of text that ends at a word boundary. */
  push(text: string): void {
    if (text.length === 0) return;
    this.#empty = false;
    const d = this.#embedder.dimension;
    for (const j of this.#embedder.terms(text)) {
      const c = this.#counts.get(j) ?? 0;
      const delta = this.#sublinear ? (c === 0 ? 1 : Math.log(c + 1) - Math.log(c)) : 1;
      for (let i = 0; i < d; i++) this.#acc[i]! += delta * this.#rows[j * d + i]!;
      this.#counts.set(j, c + 1);
    }
  }

  /** Whether nothing was pushed yet. */
  get empty(): boolean {
    return this.#empty;
  }

  /** The L2-normalized embedding (all zeros when no known term was seen). */
  vector(): Float32Array {
    let n = 0;
    for (const x of this.#acc) n += x * x;
    const out = new Float32Array(this.#acc.length);
    if (n === 0 || !Number.isFinite(n)) return out;
    const inv = 1 / Math.sqrt(n);
    for (let i = 0; i < out.length; i++) out[i] = this.#acc[i]! * inv;
    return out;
  }
}
