import { InvalidArgumentError } from '@cbtm/core';
import { PY_SPACE_CLASS_BODY, PY_WORD_CLASS_BODY } from './unicode.js';

/**
 * A scikit-learn `token_pattern` (a Python regular expression) compiled for JS.
 *
 * @example
 * ```ts
 * const p = compileTokenPattern('\\b\\w\\w+\\b');
 * p.wordRunMinLength; // 2: the fast scanner handles it, no regex needed
 * ```
 */
export interface CompiledTokenPattern {
  /** The Python source, as given. */
  readonly source: string;
  /**
   * When the pattern only matches maximal runs of word characters of at least this many code
   * points (`\b\w\w+\b`, `\b\w+\b`, `\b\w{3,}\b`, ...), tokenizers use a hand-written scanner.
   * `null` for any other pattern.
   */
  readonly wordRunMinLength: number | null;
  /** The equivalent JS regex (flags `gu`, plus `i`/`m`/`s` from inline flags). */
  readonly regex: RegExp;
  /** 1 when the pattern has one capturing group (findall then returns that group), else 0. */
  readonly group: 0 | 1;
}

const ASCII_WORD_BODY = 'A-Za-z0-9_';
const ASCII_SPACE_BODY = ' \\t\\n\\r\\f\\v';
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/');

/**
 * Compiles a Python `re` token pattern into a JS regex with the same matches on str input:
 * `\w`, `\W`, `\d`, `\s`, `\b`, `\B` get Python's Unicode meaning, `(?P<name>...)`,
 * `(?P=name)`, `\A`, `\Z`, `{,n}`, `.` and `$` are translated, and leading inline flags
 * `(?aimsu)` are honoured. Throws an {@link InvalidArgumentError} for what it cannot translate,
 * and for patterns with more than one capturing group (as scikit-learn does).
 *
 * @example
 * ```ts
 * const p = compileTokenPattern('(?u)\\b\\w+\\b');
 * 'naïve café'.match(p.regex); // ['naïve', 'café']
 * ```
 */
export function compileTokenPattern(source: string): CompiledTokenPattern {
  if (typeof source !== 'string') {
    throw new InvalidArgumentError(`tokenPattern must be a string, got ${typeof source}.`);
  }
  let i = 0;
  let ascii = false;
  let flags = 'gu';
  // Global inline flags must lead the pattern in Python 3.11.
  for (
    let m = /^\(\?([aiLmsux]+)\)/.exec(source.slice(i));
    m;
    m = /^\(\?([aiLmsux]+)\)/.exec(source.slice(i))
  ) {
    for (const f of m[1]!) {
      if (f === 'a') ascii = true;
      else if (f === 'i' || f === 'm' || f === 's') {
        if (!flags.includes(f)) flags += f;
      } else if (f !== 'u') {
        throw new InvalidArgumentError(
          `tokenPattern ${JSON.stringify(source)}: inline flag (?${f}) is not supported; remove it.`,
        );
      }
    }
    i += m[0].length;
  }
  const body = source.slice(i);
  const wordRunMinLength = ascii ? null : detectWordRun(body);
  const js = translate(body, source, ascii, flags.includes('s'), flags.includes('m'));
  let regex: RegExp;
  try {
    regex = new RegExp(js, flags);
  } catch (err) {
    throw new InvalidArgumentError(
      `tokenPattern ${JSON.stringify(source)} cannot be used as a JS regular expression (${(err as Error).message}). Simplify it.`,
      { cause: err },
    );
  }
  const groups = new RegExp(`${js}|`, flags.replace('g', '')).exec('')!.length - 1;
  if (groups > 1) {
    throw new InvalidArgumentError(
      `tokenPattern ${JSON.stringify(source)} has ${groups} capturing groups; use at most one (make the others non-capturing with (?:...)).`,
    );
  }
  return { source, wordRunMinLength, regex, group: groups === 1 ? 1 : 0 };
}

/**
 * `\w`×a followed by an unbounded `\w+`, `\w*` or `\w{n,}`, with or without `\b` on either
 * side: greedy matching then always consumes a whole run of word characters, so the matches are
 * exactly the maximal runs of at least `a + n` code points.
 */
function detectWordRun(body: string): number | null {
  const m = /^(?:\\b)?((?:\\w)*)(\\w\+|\\w\*|\\w\{(\d+),\})(?:\\b)?$/.exec(body);
  if (!m) return null;
  const fixed = m[1]!.length / 2;
  const tail = m[2];
  const min = fixed + (tail === '\\w+' ? 1 : tail === '\\w*' ? 0 : Number(m[3]));
  return min >= 1 ? min : null;
}

function translate(
  body: string,
  source: string,
  ascii: boolean,
  dotAll: boolean,
  multiline: boolean,
): string {
  const W = ascii ? ASCII_WORD_BODY : PY_WORD_CLASS_BODY;
  const S = ascii ? ASCII_SPACE_BODY : PY_SPACE_CLASS_BODY;
  const boundary = `(?:(?<=[${W}])(?![${W}])|(?<![${W}])(?=[${W}]))`;
  const nonBoundary = `(?:(?<=[${W}])(?=[${W}])|(?<![${W}])(?![${W}]))`;
  const unsupported = (what: string): never => {
    throw new InvalidArgumentError(
      `tokenPattern ${JSON.stringify(source)}: ${what} is not supported.`,
    );
  };
  let out = '';
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === '\\') {
      const e = body[i + 1];
      if (e === undefined) unsupported('a trailing backslash');
      i += 2;
      switch (e) {
        case 'w':
          out += `[${W}]`;
          break;
        case 'W':
          out += `[^${W}]`;
          break;
        case 'd':
          out += ascii ? '[0-9]' : '\\p{Nd}';
          break;
        case 'D':
          out += ascii ? '[^0-9]' : '\\P{Nd}';
          break;
        case 's':
          out += `[${S}]`;
          break;
        case 'S':
          out += `[^${S}]`;
          break;
        case 'b':
          out += boundary;
          break;
        case 'B':
          out += nonBoundary;
          break;
        case 'A':
          out += '(?<![\\s\\S])';
          break;
        case 'Z':
          out += '(?![\\s\\S])';
          break;
        default:
          out += escapeOther(e!, body, i, false, unsupported);
          if (e === 'x' || e === 'u' || e === 'U') i += escapeLength(e);
      }
      continue;
    }
    if (c === '[') {
      const cls = translateClass(body, i, { W, S, ascii }, unsupported);
      out += cls.js;
      i = cls.end;
      continue;
    }
    if (c === '(' && body[i + 1] === '?') {
      if (body.startsWith('(?P<', i)) {
        out += '(?<';
        i += 4;
        continue;
      }
      const named = /^\(\?P=(\w+)\)/.exec(body.slice(i));
      if (named) {
        out += `\\k<${named[1]}>`;
        i += named[0].length;
        continue;
      }
      if (body.startsWith('(?#', i)) {
        const end = body.indexOf(')', i);
        if (end < 0) unsupported('an unterminated (?# comment');
        i = end + 1;
        continue;
      }
    }
    if (c === '{') {
      const q = /^\{(\d*)(,?)(\d*)\}/.exec(body.slice(i));
      if (q && (q[1] !== '' || (q[2] === ',' && q[3] !== ''))) {
        out += `{${q[1] === '' ? '0' : q[1]}${q[2]}${q[3]}}`;
        i += q[0].length;
        continue;
      }
      out += '\\{';
      i += 1;
      continue;
    }
    if (c === '}') {
      out += '\\}';
      i += 1;
      continue;
    }
    if (c === '.') {
      out += dotAll ? '[\\s\\S]' : '[^\\n]';
      i += 1;
      continue;
    }
    if (c === '$') {
      // Python's `$` also matches before a final newline (and before every newline with (?m)).
      out += multiline ? '(?=\\n|(?![\\s\\S]))' : '(?=\\n?(?![\\s\\S]))';
      i += 1;
      continue;
    }
    out += c;
    i += 1;
  }
  return out;
}

/**
 * Translates the character class starting at `body[at] === '['`. Python's `\w`, `\d`, `\s`
 * become JS class items; a negated shorthand (`\W`, `\S`, or `\D` with `(?a)`) cannot sit inside
 * a JS `u`-mode class, so a class holding one is rewritten with a lookahead:
 * `[^\W<rest>]` → `(?:(?![<rest>])[\w])` and `[\W<rest>]` → `(?:[^\w]|[<rest>])`.
 */
function translateClass(
  body: string,
  at: number,
  sets: { W: string; S: string; ascii: boolean },
  unsupported: (what: string) => never,
): { js: string; end: number } {
  let i = at + 1;
  const negated = body[i] === '^';
  if (negated) i += 1;
  let items = '';
  const complements: string[] = [];
  let first = true;
  for (;;) {
    const c = body[i];
    if (c === undefined) unsupported('an unterminated character class');
    if (c === ']' && !first) {
      i += 1;
      break;
    }
    first = false;
    if (c === '\\') {
      const e = body[i + 1];
      if (e === undefined) unsupported('a trailing backslash');
      i += 2;
      if (e === 'w') items += sets.W;
      else if (e === 'd') items += sets.ascii ? '0-9' : '\\p{Nd}';
      else if (e === 's') items += sets.S;
      else if (e === 'D' && !sets.ascii) items += '\\P{Nd}';
      else if (e === 'W') complements.push(sets.W);
      else if (e === 'S') complements.push(sets.S);
      else if (e === 'D') complements.push('0-9');
      else if (e === 'b') items += '\\x08';
      else {
        items += escapeOther(e!, body, i, true, unsupported);
        if (e === 'x' || e === 'u' || e === 'U') i += escapeLength(e);
      }
      continue;
    }
    items += c === ']' || c === '[' ? `\\${c}` : c;
    i += 1;
  }
  if (complements.length === 0) return { js: `[${negated ? '^' : ''}${items}]`, end: i };
  if (complements.length > 1) unsupported('a character class with more than one of \\W, \\S, \\D');
  const inner = complements[0]!;
  if (negated) return { js: items ? `(?:(?![${items}])[${inner}])` : `[${inner}]`, end: i };
  return { js: items ? `(?:[^${inner}]|[${items}])` : `[^${inner}]`, end: i };
}

function escapeLength(e: string): number {
  return e === 'x' ? 2 : e === 'u' ? 4 : 8;
}

function escapeOther(
  e: string,
  body: string,
  at: number,
  inClass: boolean,
  unsupported: (what: string) => never,
): string {
  if (e === 'x' || e === 'u' || e === 'U') {
    const n = escapeLength(e);
    const hex = body.slice(at, at + n);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) unsupported(`the escape \\${e}${hex}`);
    return `\\u{${hex}}`;
  }
  if ('ntrfv0'.includes(e)) return `\\${e}`;
  if (/[1-9]/.test(e)) return inClass ? unsupported('a backreference inside [...]') : `\\${e}`;
  if (/[A-Za-z]/.test(e)) return unsupported(`the escape \\${e}`);
  if (JS_SYNTAX.has(e) || (inClass && e === '-')) return `\\${e}`;
  return e;
}
