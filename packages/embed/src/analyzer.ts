import { InvalidArgumentError } from '@cbtm/core';
import { ENGLISH_STOP_WORDS, NUMBER_TOKEN } from './stop-words.js';
import { HASH_START, TermTable } from './term-table.js';
import { type CompiledTokenPattern, compileTokenPattern } from './token-pattern.js';
import { ASCII_WORD, isDigitCodePoint, isWordCodePoint } from './unicode.js';

/**
 * How documents become terms; the same names and defaults as scikit-learn's `CountVectorizer`
 * (`analyzer='word'`), plus `numberNormalize` from the c-BTM reference.
 *
 * @example
 * ```ts
 * const options: AnalyzerOptions = { ...defaultAnalyzerOptions, stopWords: 'english' };
 * ```
 */
export interface AnalyzerOptions {
  /** Lowercase the text before tokenizing (Python's `str.lower()`). @default true */
  readonly lowercase: boolean;
  /** Python regular expression whose matches are the tokens. @default '(?u)\\b\\w\\w+\\b' */
  readonly tokenPattern: string;
  /** `'english'` (scikit-learn's list), a list of words, or `null` for none. @default null */
  readonly stopWords: 'english' | readonly string[] | null;
  /** Smallest and largest n of the word n-grams. @default [1, 1] */
  readonly ngramRange: readonly [number, number];
  /**
   * Replace every token whose first character is a digit (Python's `str.isdigit`) by `#NUMBER`,
   * as the c-BTM reference does. Put `#NUMBER` in `stopWords` to drop such tokens. @default false
   */
  readonly numberNormalize: boolean;
}

/**
 * scikit-learn's defaults for {@link AnalyzerOptions}.
 *
 * @example
 * ```ts
 * const analyzer = new Analyzer({ ...defaultAnalyzerOptions, ngramRange: [1, 2] });
 * ```
 */
export const defaultAnalyzerOptions: AnalyzerOptions = Object.freeze({
  lowercase: true,
  tokenPattern: '(?u)\\b\\w\\w+\\b',
  stopWords: null,
  ngramRange: Object.freeze([1, 1]) as unknown as readonly [number, number],
  numberNormalize: false,
});

/**
 * scikit-learn's `build_analyzer()` for `analyzer='word'`: lowercase, find tokens, normalize
 * numbers, drop stop words, form n-grams. Tokens match Python's `re` on Unicode text.
 *
 * @example
 * ```ts
 * const a = new Analyzer({ ...defaultAnalyzerOptions, stopWords: 'english' });
 * a.analyze('The Quick brown fox'); // ['quick', 'brown', 'fox']
 * ```
 */
export class Analyzer {
  readonly options: AnalyzerOptions;
  /** The compiled token pattern. */
  readonly pattern: CompiledTokenPattern;
  readonly #stop: ReadonlySet<string>;
  readonly #stopTable: TermTable;
  readonly #minN: number;
  readonly #maxN: number;
  readonly #minRun: number;

  constructor(options: Partial<AnalyzerOptions> = {}) {
    const o: AnalyzerOptions = { ...defaultAnalyzerOptions, ...stripUndefined(options) };
    const [minN, maxN] = o.ngramRange;
    if (!Number.isInteger(minN) || !Number.isInteger(maxN) || minN < 1 || maxN < minN) {
      throw new InvalidArgumentError(
        `ngramRange must be [min, max] with 1 ≤ min ≤ max, got ${JSON.stringify(o.ngramRange)}.`,
      );
    }
    if (o.stopWords !== null && o.stopWords !== 'english' && !Array.isArray(o.stopWords)) {
      throw new InvalidArgumentError(
        `stopWords must be 'english', a list of words or null, got ${JSON.stringify(o.stopWords)}.`,
      );
    }
    this.options = Object.freeze({
      ...o,
      ngramRange: Object.freeze([minN, maxN]) as unknown as readonly [number, number],
    });
    this.pattern = compileTokenPattern(o.tokenPattern);
    this.#stop = new Set(o.stopWords === 'english' ? ENGLISH_STOP_WORDS : (o.stopWords ?? []));
    this.#stopTable = TermTable.from([...this.#stop]);
    this.#minN = minN;
    this.#maxN = maxN;
    this.#minRun = this.pattern.wordRunMinLength ?? 0;
  }

  /** Whether tokens are maximal runs of word characters (so a fast scanner applies). */
  get isWordRunPattern(): boolean {
    return this.#minRun > 0;
  }

  /** The largest n of the n-grams. */
  get maxN(): number {
    return this.#maxN;
  }

  /** The smallest n of the n-grams. */
  get minN(): number {
    return this.#minN;
  }

  /**
   * The terms of `text` (scikit-learn's `build_analyzer()(text)`).
   *
   * @example
   * ```ts
   * new Analyzer({ ngramRange: [1, 2] }).analyze('new york city');
   * // ['new', 'york', 'city', 'new york', 'york city']
   * ```
   */
  analyze(text: string): string[] {
    const out: string[] = [];
    this.forEachTerm(text, (t) => out.push(t));
    return out;
  }

  /**
   * Calls `fn` with every term of `text`, in scikit-learn's order, without building an array.
   *
   * @example
   * ```ts
   * let n = 0; analyzer.forEachTerm('a b c', () => n++);
   * ```
   */
  forEachTerm(text: string, fn: (term: string) => void): void {
    const s = this.options.lowercase ? text.toLowerCase() : text;
    if (this.#maxN === 1) {
      this.forEachToken(s, fn);
      return;
    }
    const tokens: string[] = [];
    this.forEachToken(s, (t) => tokens.push(t));
    emitNgrams(tokens, this.#minN, this.#maxN, fn);
  }

  /**
   * Calls `fn` with the index in `table` of every term of `text` (scikit-learn's order). With
   * `intern`, unseen terms are added to the table; otherwise they are skipped. For word-run
   * patterns without n-grams (the defaults) this hashes characters while scanning and allocates
   * nothing for known terms: the hot path of fit and transform.
   */
  forEachTermId(text: string, table: TermTable, intern: boolean, fn: (id: number) => void): void {
    const s = this.options.lowercase ? text.toLowerCase() : text;
    if (this.#minRun > 0 && this.#maxN === 1) {
      this.#scanIds(s, table, intern, fn);
      return;
    }
    const onTerm = (term: string) => {
      const id = intern ? table.internString(term) : table.findString(term);
      if (id >= 0) fn(id);
    };
    if (this.#maxN === 1) {
      this.forEachToken(s, onTerm);
      return;
    }
    const tokens: string[] = [];
    this.forEachToken(s, (t) => tokens.push(t));
    emitNgrams(tokens, this.#minN, this.#maxN, onTerm);
  }

  /**
   * Calls `fn` with each token of already-lowercased `s` after number normalization and stop-word
   * removal (no n-grams).
   */
  forEachToken(s: string, fn: (token: string) => void): void {
    if (this.#minRun > 0) {
      this.#scanWordRuns(s, fn);
      return;
    }
    const { regex, group } = this.pattern;
    regex.lastIndex = 0;
    for (const m of s.matchAll(regex)) {
      const tok = m[group] ?? '';
      const t = this.normalizeToken(tok);
      if (t !== null) fn(t);
    }
  }

  /** Number normalization then stop-word filtering of one raw token; `null` when dropped. */
  normalizeToken(tok: string): string | null {
    let t = tok;
    if (this.options.numberNormalize && t.length > 0 && isDigitCodePoint(t.codePointAt(0)!))
      t = NUMBER_TOKEN;
    return this.#stop.has(t) ? null : t;
  }

  /** Whether `term` is a stop word. */
  isStopWord(term: string): boolean {
    return this.#stop.has(term);
  }

  // The hot path: maximal runs of Python word characters, hashed while scanned.
  #scanIds(s: string, table: TermTable, intern: boolean, fn: (id: number) => void): void {
    const n = s.length;
    const minRun = this.#minRun;
    const numbers = this.options.numberNormalize;
    const stop = this.#stopTable;
    // Looking terms up in a table that holds no stop word finds no stop word either, so the
    // stop-word probe only matters when interning (or for a table that holds some).
    const checkStop = stop.size > 0 && (intern || this.#holdsStopWords(table));
    let numberId = -2; // -2: not looked up yet
    let i = 0;
    while (i < n) {
      let c = s.charCodeAt(i);
      if (c < 128 ? ASCII_WORD[c] !== 1 : !wordAt(s, i, c)) {
        i += c >= 0xd800 && c < 0xdc00 && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1)) ? 2 : 1;
        continue;
      }
      const start = i;
      let len = 0;
      let h = HASH_START;
      for (;;) {
        h = Math.imul(h ^ c, 0x01000193);
        i += 1;
        if (c >= 0xd800 && c < 0xdc00 && i < n) {
          const d = s.charCodeAt(i);
          if (isLowSurrogate(d)) {
            h = Math.imul(h ^ d, 0x01000193);
            i += 1;
          }
        }
        len += 1;
        if (i >= n) break;
        c = s.charCodeAt(i);
        if (c < 128 ? ASCII_WORD[c] !== 1 : !wordAt(s, i, c)) break;
      }
      if (len < minRun) continue;
      const first = s.charCodeAt(start);
      if (
        numbers &&
        (first < 128 ? first >= 48 && first <= 57 : isDigitCodePoint(s.codePointAt(start)!))
      ) {
        if (numberId === -2) {
          numberId = this.#stop.has(NUMBER_TOKEN)
            ? -1
            : intern
              ? table.internString(NUMBER_TOKEN)
              : table.findString(NUMBER_TOKEN);
        }
        if (numberId >= 0) fn(numberId);
        continue;
      }
      if (checkStop && stop.find(s, start, i, h) >= 0) continue;
      const id = intern ? table.intern(s, start, i, h) : table.find(s, start, i, h);
      if (id >= 0) fn(id);
    }
  }

  readonly #stopCheck = new WeakMap<TermTable, { size: number; holds: boolean }>();

  #holdsStopWords(table: TermTable): boolean {
    let c = this.#stopCheck.get(table);
    if (c === undefined || c.size !== table.size) {
      c = { size: table.size, holds: this.#stopTable.terms.some((w) => table.findString(w) >= 0) };
      this.#stopCheck.set(table, c);
    }
    return c.holds;
  }

  // The hot path of fit and transform: maximal runs of Python word characters.
  #scanWordRuns(s: string, fn: (token: string) => void): void {
    const n = s.length;
    const minRun = this.#minRun;
    const numbers = this.options.numberNormalize;
    const stop = this.#stop;
    const checkStop = stop.size > 0;
    const numberIsStop = stop.has(NUMBER_TOKEN);
    let i = 0;
    while (i < n) {
      let c = s.charCodeAt(i);
      let w = c < 128 ? ASCII_WORD[c] === 1 : wordAt(s, i, c);
      if (!w) {
        i += c >= 0xd800 && c < 0xdc00 && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1)) ? 2 : 1;
        continue;
      }
      const start = i;
      let len = 0;
      while (w) {
        i += c >= 0xd800 && c < 0xdc00 && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1)) ? 2 : 1;
        len += 1;
        if (i >= n) break;
        c = s.charCodeAt(i);
        w = c < 128 ? ASCII_WORD[c] === 1 : wordAt(s, i, c);
      }
      if (len < minRun) continue;
      const first = s.charCodeAt(start);
      if (
        numbers &&
        (first < 128 ? first >= 48 && first <= 57 : isDigitCodePoint(s.codePointAt(start)!))
      ) {
        if (!numberIsStop) fn(NUMBER_TOKEN);
        continue;
      }
      const tok = s.slice(start, i);
      if (checkStop && stop.has(tok)) continue;
      fn(tok);
    }
  }
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c < 0xe000;
}

function wordAt(s: string, i: number, c: number): boolean {
  if (c >= 0xd800 && c < 0xdc00) {
    const d = s.charCodeAt(i + 1);
    if (isLowSurrogate(d)) return isWordCodePoint(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
  }
  return isWordCodePoint(c);
}

/** scikit-learn's `_word_ngrams` after stop-word removal: all n-grams, n ascending. */
export function emitNgrams(
  tokens: readonly string[],
  minN: number,
  maxN: number,
  fn: (term: string) => void,
): void {
  let lo = minN;
  if (lo === 1) {
    for (const t of tokens) fn(t);
    lo = 2;
  }
  const hi = Math.min(maxN, tokens.length);
  for (let n = lo; n <= hi; n++) {
    for (let i = 0; i + n <= tokens.length; i++) fn(tokens.slice(i, i + n).join(' '));
  }
}

/** Copies `o` without its `undefined` fields, so spreading over defaults keeps the defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
