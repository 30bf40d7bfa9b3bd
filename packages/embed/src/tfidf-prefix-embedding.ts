import type { Analyzer } from './analyzer.js';
import { l2NormalizeToFloat32, type PrefixEmbedding } from './embedder.js';
import type { TermTable } from './term-table.js';
import { ASCII_WORD, isCaseNeutralCodePoint, isWordCodePoint } from './unicode.js';

/** What the incremental state needs from a fitted tf-idf + SVD embedder. */
export interface TfidfSvdModel {
  readonly analyzer: Analyzer;
  /** The vocabulary (index = column). */
  readonly table: TermTable;
  readonly idf: Float64Array | null;
  readonly sublinearTf: boolean;
  readonly dimension: number;
  /** SVD components feature-major: nFeatures × dimension. */
  readonly byFeature: Float32Array;
  /** Embeds a whole text from scratch (fallback for token patterns that are not word runs). */
  embedSync(text: string): Float32Array;
}

// ASCII characters where the text can be cut: not a word character, and (when lowercasing)
// neither Cased nor Case_Ignorable, so lowercasing each side alone equals lowercasing the whole.
const ASCII_CUT = new Uint8Array(128);
const ASCII_CUT_LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  ASCII_CUT[c] = ASCII_WORD[c] ? 0 : 1;
  ASCII_CUT_LOWER[c] = ASCII_CUT[c] && isCaseNeutralCodePoint(c) ? 1 : 0;
}

/**
 * Incremental embedding of a growing text with a tf-idf → SVD → L2 model, in O(dimension) per
 * word.
 *
 * Before normalization a tf-idf row is a sum over its words, and the SVD is linear, so the
 * projected vector is a running sum: each new occurrence of column j adds
 * `(w(c+1) − w(c)) × SVD row j`, where `w(c)` is the weight of a term seen `c` times
 * (`c × idf` or `(1 + ln c) × idf`). The tf-idf norm and the final L2 norm are positive
 * scalings, so normalizing the running sum gives exactly the from-scratch embedding.
 *
 * Text is committed up to the last character that ends every token before it and does not
 * change how its neighbours lowercase (a space, most punctuation); the uncommitted tail (usually
 * part of one word) is added on the fly by `vector()`. N-grams keep the last n − 1 tokens.
 */
export class TfidfPrefixEmbedding implements PrefixEmbedding {
  readonly #model: TfidfSvdModel;
  readonly #incremental: boolean;
  #acc: Float64Array;
  #counts: Map<number, number>;
  #history: string[];
  #pending: string;
  // Scratch for vector(): the pending tail's terms go here, never into the committed state.
  #scratch: Float64Array;
  #overlayIds: number[] = [];
  #overlayCounts: number[] = [];
  // The pending text whose terms vector() last summed into the scratch vector: when that text
  // is then committed unchanged (the next piece starts with a space), push() reuses the sum.
  #cachedText: string | null = null;
  #scratchUnset = false;
  // Sum of squares of the scratch when exactly one term was added to it, else -1.
  #scratchSumSq = -1;
  // Where the term callbacks write: the committed state, or the scratch with an overlay.
  #target: Float64Array;
  #useOverlay = false;
  #targetHistory: string[];

  constructor(model: TfidfSvdModel, from?: TfidfPrefixEmbedding) {
    this.#model = model;
    this.#incremental = model.analyzer.isWordRunPattern;
    this.#acc = from ? from.#acc.slice() : new Float64Array(model.dimension);
    this.#counts = from ? new Map(from.#counts) : new Map();
    this.#history = from ? [...from.#history] : [];
    this.#pending = from ? from.#pending : '';

    this.#scratch = new Float64Array(model.dimension);
    this.#target = this.#acc;
    this.#targetHistory = this.#history;
  }

  push(text: string): void {
    if (typeof text !== 'string' || text.length === 0) return;
    this.#pending += text;
    if (!this.#incremental) return;
    const cut = this.#lastCut(this.#pending);
    if (cut <= 0) return;
    const committed = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    this.#target = this.#acc;
    this.#targetHistory = this.#history;
    this.#useOverlay = false;
    const cached = this.#cachedText;
    this.#cachedText = null;
    if (
      cached !== null &&
      committed.length >= cached.length &&
      committed.startsWith(cached) &&
      onlyAsciiNonWord(committed, cached.length)
    ) {
      // Tokens cannot change: the cached text ended a word and is followed by ASCII punctuation
      // or spaces only (no word or cased characters), so its lowercase and its runs are final,
      // and vector() already summed them into the scratch vector.
      if (!this.#scratchUnset) {
        const acc = this.#acc;
        this.#acc = this.#scratch;
        this.#scratch = acc;
      }
      if (this.#model.sublinearTf) {
        for (let k = 0; k < this.#overlayIds.length; k++)
          this.#counts.set(this.#overlayIds[k]!, this.#overlayCounts[k]!);
      }
      return;
    }
    this.#consume(committed);
  }

  vector(out?: Float32Array): Float32Array {
    if (!this.#incremental) {
      const v = this.#model.embedSync(this.#pending);
      if (!out) return v;
      if (out.length !== v.length) return l2NormalizeToFloat32(v, out); // throws the length error
      out.set(v);
      return out;
    }
    if (this.#pending.length === 0) return l2NormalizeToFloat32(this.#acc, out);
    // The first term found writes acc + its delta into the scratch (one pass instead of a copy
    // and an update); when no term is found the scratch stays unset and acc is the answer.
    this.#scratchUnset = true;
    this.#target = this.#scratch;
    this.#targetHistory = this.#model.analyzer.maxN > 1 ? [...this.#history] : this.#history;
    this.#useOverlay = true;
    if (this.#overlayIds.length > 0) {
      this.#overlayIds.length = 0;
      this.#overlayCounts.length = 0;
    }
    this.#consume(this.#pending);
    // Unigrams only: with n-grams the scratch state also depends on the token history.
    this.#cachedText = this.#model.analyzer.maxN === 1 ? this.#pending : null;
    if (this.#scratchUnset) return l2NormalizeToFloat32(this.#acc, out);
    if (this.#scratchSumSq < 0) return l2NormalizeToFloat32(this.#scratch, out);
    // One pending term (the usual case): its pass already summed the squares.
    const scratch = this.#scratch;
    const res = out ?? new Float32Array(scratch.length);
    if (res.length !== scratch.length) return l2NormalizeToFloat32(scratch, res); // throws
    if (this.#scratchSumSq === 0) return res.fill(0);
    const inv = 1 / Math.sqrt(this.#scratchSumSq);
    for (let t = 0; t < scratch.length; t++) res[t] = scratch[t]! * inv;
    return res;
  }

  clone(): TfidfPrefixEmbedding {
    return new TfidfPrefixEmbedding(this.#model, this);
  }

  /** Index just after the last safe cut character of `s`, or 0 if there is none. */
  #lastCut(s: string): number {
    const lower = this.#model.analyzer.options.lowercase;
    const table = lower ? ASCII_CUT_LOWER : ASCII_CUT;
    for (let i = s.length - 1; i >= 0; i--) {
      const c = s.charCodeAt(i);
      if (c < 128) {
        if (table[c]) return i + 1;
        continue;
      }
      // Never cut inside a surrogate pair whose second half has not arrived yet.
      if (c >= 0xd800 && c < 0xdc00) continue;
      let cp = c;
      if (c >= 0xdc00 && c < 0xe000 && i > 0) {
        const hi = s.charCodeAt(i - 1);
        if (hi >= 0xd800 && hi < 0xdc00) cp = ((hi - 0xd800) << 10) + (c - 0xdc00) + 0x10000;
      }
      if (!isWordCodePoint(cp) && (!lower || isCaseNeutralCodePoint(cp))) return i + 1;
      if (cp > 0xffff) i--;
    }
    return 0;
  }

  /** Adds the terms of raw `text` to the current target. */
  #consume(text: string): void {
    const { analyzer, table } = this.#model;
    if (analyzer.maxN === 1) {
      analyzer.forEachTermId(text, table, false, this.#addColumn);
      return;
    }
    const s = analyzer.options.lowercase ? text.toLowerCase() : text;
    analyzer.forEachToken(s, this.#addToken);
  }

  readonly #addToken = (token: string): void => {
    const { analyzer, table } = this.#model;
    const history = this.#targetHistory;
    const maxN = analyzer.maxN;
    for (let n = analyzer.minN; n <= maxN; n++) {
      if (n === 1) {
        const j = table.findString(token);
        if (j >= 0) this.#addColumn(j);
      } else if (history.length >= n - 1) {
        const j = table.findString(`${history.slice(history.length - (n - 1)).join(' ')} ${token}`);
        if (j >= 0) this.#addColumn(j);
      }
    }
    history.push(token);
    if (history.length > maxN - 1) history.shift();
  };

  readonly #addColumn = (j: number): void => {
    const m = this.#model;
    let w = m.idf === null ? 1 : m.idf[j]!;
    // Raw tf is linear in the count; only sublinear tf needs to know how often j was seen.
    if (m.sublinearTf) {
      let c: number;
      let slot = -1;
      if (this.#useOverlay) {
        slot = this.#overlayIds.indexOf(j);
        c = slot >= 0 ? this.#overlayCounts[slot]! : (this.#counts.get(j) ?? 0);
      } else {
        c = this.#counts.get(j) ?? 0;
      }
      w *= c === 0 ? 1 : Math.log(c + 1) - Math.log(c);
      if (!this.#useOverlay) this.#counts.set(j, c + 1);
      else if (slot >= 0) this.#overlayCounts[slot] = c + 1;
      else {
        this.#overlayIds.push(j);
        this.#overlayCounts.push(c + 1);
      }
    }
    const out = this.#target;
    const f = m.byFeature;
    const k = out.length;
    const o = j * k;
    if (this.#scratchUnset && out === this.#scratch) {
      const acc = this.#acc;
      let ss = 0;
      for (let t = 0; t < k; t++) {
        const y = acc[t]! + w * f[o + t]!;
        out[t] = y;
        ss += y * y;
      }
      this.#scratchUnset = false;
      this.#scratchSumSq = ss;
    } else {
      for (let t = 0; t < k; t++) out[t]! += w * f[o + t]!;
      this.#scratchSumSq = -1;
    }
  };
}

function onlyAsciiNonWord(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || ASCII_WORD[c]) return false;
  }
  return true;
}
