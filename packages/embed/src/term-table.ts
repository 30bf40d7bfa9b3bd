/**
 * A string → index hash table that looks terms up by a range of a larger string, so the
 * tokenizer's hot loop hashes characters as it scans them and never allocates a substring for a
 * term it already knows. Open addressing with linear probing; FNV-1a over UTF-16 code units.
 */

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a of `s[start, end)` by UTF-16 code units, as {@link TermTable} hashes. */
export function hashRange(s: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** FNV-1a step: the hash after appending code unit `c` to a string hashed as `h`. */
export function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME);
}

/** The hash of the empty string, to start {@link hashStep} from. */
export const HASH_START = FNV_OFFSET;

export class TermTable {
  /** Terms by index, in insertion order. */
  readonly terms: string[] = [];
  #hashes = new Int32Array(64);
  #slots: Int32Array;
  #mask: number;

  constructor(capacity = 1024) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.#slots = new Int32Array(size).fill(-1);
    this.#mask = size - 1;
  }

  /** Builds a table whose indices are the positions in `terms` (which must be distinct). */
  static from(terms: readonly string[]): TermTable {
    const t = new TermTable(terms.length);
    for (const term of terms) t.internString(term);
    return t;
  }

  get size(): number {
    return this.terms.length;
  }

  /** Index of `s[start, end)` (hashed as `h`), or -1. */
  find(s: string, start: number, end: number, h: number): number {
    const len = end - start;
    const mask = this.#mask;
    const slots = this.#slots;
    for (let p = h & mask; ; p = (p + 1) & mask) {
      const id = slots[p]!;
      if (id < 0) return -1;
      if (this.#hashes[id] !== h) continue;
      const term = this.terms[id]!;
      if (term.length !== len) continue;
      let k = 0;
      while (k < len && term.charCodeAt(k) === s.charCodeAt(start + k)) k++;
      if (k === len) return id;
    }
  }

  /** Index of `s[start, end)` (hashed as `h`), inserted when absent. */
  intern(s: string, start: number, end: number, h: number): number {
    const found = this.find(s, start, end, h);
    return found >= 0
      ? found
      : this.#insert(start === 0 && end === s.length ? s : s.slice(start, end), h);
  }

  /** Index of `term`, or -1. */
  findString(term: string): number {
    return this.find(term, 0, term.length, hashRange(term, 0, term.length));
  }

  /** Index of `term`, inserted when absent. */
  internString(term: string): number {
    return this.intern(term, 0, term.length, hashRange(term, 0, term.length));
  }

  #insert(term: string, h: number): number {
    const id = this.terms.length;
    this.terms.push(term);
    if (id >= this.#hashes.length) {
      const hs = new Int32Array(this.#hashes.length * 2);
      hs.set(this.#hashes);
      this.#hashes = hs;
    }
    this.#hashes[id] = h;
    if ((id + 1) * 2 > this.#slots.length) this.#rehash();
    else this.#place(id, h);
    return id;
  }

  #place(id: number, h: number): void {
    const mask = this.#mask;
    let p = h & mask;
    while (this.#slots[p]! >= 0) p = (p + 1) & mask;
    this.#slots[p] = id;
  }

  #rehash(): void {
    const size = this.#slots.length * 2;
    this.#slots = new Int32Array(size).fill(-1);
    this.#mask = size - 1;
    for (let id = 0; id < this.terms.length; id++) this.#place(id, this.#hashes[id]!);
  }
}
