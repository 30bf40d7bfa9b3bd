/**
 * Character classes that match Python's `re` and `str` methods, which scikit-learn's text
 * pipeline is built on.
 *
 * - Python's `\w` (str patterns) is `str.isalnum()` or `_`, which is exactly `[\p{L}\p{N}_]`
 *   (checked code point by code point against CPython 3.11; no combining marks, unlike `\w` in
 *   some other engines). `\b` is the boundary between that class and its complement.
 * - `str.isdigit()` is true for Numeric_Type Decimal (`\p{Nd}`) or Digit; the Digit-only code
 *   points (superscripts, circled digits, ...) are listed below since JS has no Numeric_Type.
 *
 * JS follows a newer Unicode version than the Python that scikit-learn runs on (Python 3.11 ships
 * Unicode 14), so characters assigned after that count as letters here and as non-word there.
 */

/** Numeric_Type=Digit code points that are not `\p{Nd}` (Unicode 14, from CPython's `str.isdigit`). */
const DIGIT_ONLY_RANGES: readonly (readonly [number, number])[] = [
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

/** The JS source of Python's `\w` as a class body (without brackets). */
export const PY_WORD_CLASS_BODY = '\\p{L}\\p{N}_';
/** The JS source of Python's `\s` (`str.isspace`) as a class body (without brackets). */
export const PY_SPACE_CLASS_BODY =
  '\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const WORD_RE = /^[\p{L}\p{N}_]$/u;
const ND_RE = /^\p{Nd}$/u;
// A character whose lowercase never depends on its neighbours and never affects theirs:
// not Cased and not Case_Ignorable (the two classes the Final_Sigma rule looks through).
const CASE_CONTEXT_RE = /^[\p{Cased}\p{Case_Ignorable}]$/u;

// 0 = unknown, 1 = yes, 2 = no. BMP only; astral code points go to the regexes (rare).
const wordBmp = new Uint8Array(0x10000);
const caseNeutralBmp = new Uint8Array(0x10000);

/** 1 for ASCII word characters `[A-Za-z0-9_]`, else 0. */
export const ASCII_WORD: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    t[c] =
      (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 ? 1 : 0;
  }
  return t;
})();

/**
 * Whether code point `cp` is a word character in Python's `re` (`\w` on str patterns).
 *
 * @example
 * ```ts
 * isWordCodePoint(0xe9); // true ('é')
 * isWordCodePoint(0x301); // false (combining acute accent)
 * ```
 */
export function isWordCodePoint(cp: number): boolean {
  if (cp < 128) return ASCII_WORD[cp] === 1;
  if (cp < 0x10000) {
    let v = wordBmp[cp]!;
    if (v === 0) {
      v = WORD_RE.test(String.fromCharCode(cp)) ? 1 : 2;
      wordBmp[cp] = v;
    }
    return v === 1;
  }
  return WORD_RE.test(String.fromCodePoint(cp));
}

/**
 * Python's `str.isdigit()` for one code point.
 *
 * @example
 * ```ts
 * isDigitCodePoint(0x32); // true ('2')
 * isDigitCodePoint(0xb2); // true ('²')
 * isDigitCodePoint(0xbd); // false ('½' is numeric, not a digit)
 * ```
 */
export function isDigitCodePoint(cp: number): boolean {
  if (cp < 128) return cp >= 48 && cp <= 57;
  if (ND_RE.test(String.fromCodePoint(cp))) return true;
  for (const [a, b] of DIGIT_ONLY_RANGES) {
    if (cp < a) return false;
    if (cp <= b) return true;
  }
  return false;
}

/**
 * Whether lowercasing is context-free around code point `cp`: it is neither Cased nor
 * Case_Ignorable, so `lower(a + c + b) === lower(a) + c + lower(b)` for any `a`, `b`. Spaces and
 * most punctuation qualify; letters, `'`, `.`, `:` and combining marks do not.
 *
 * @example
 * ```ts
 * isCaseNeutralCodePoint(0x20); // true (space)
 * isCaseNeutralCodePoint(0x2e); // false ('.' is Case_Ignorable)
 * ```
 */
export function isCaseNeutralCodePoint(cp: number): boolean {
  if (cp < 0x10000) {
    let v = caseNeutralBmp[cp]!;
    if (v === 0) {
      v = CASE_CONTEXT_RE.test(String.fromCharCode(cp)) ? 2 : 1;
      caseNeutralBmp[cp] = v;
    }
    return v === 1;
  }
  return !CASE_CONTEXT_RE.test(String.fromCodePoint(cp));
}

/**
 * Compares two strings by Unicode code points, as Python's `<` on str (and so `sorted()`) does.
 * JS's default comparison uses UTF-16 code units, which orders astral characters before
 * U+E000–U+FFFF.
 *
 * @example
 * ```ts
 * ['\uffff', '\u{1f600}'].sort(compareCodePoints); // ['\uffff', '\u{1f600}']
 * ```
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (D800–DFFF) encode code points above FFFF: move them above E000–FFFF.
      if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}
