/** Rank returned by {@link MergeTable.rank} when a pair has no merge. */
export const NO_MERGE = 0x7fffffff;

/**
 * Open-addressing hash table from a token pair `(left, right)` to its merge rank. It sits on
 * the encoder's hot path, where a `Map` keyed by strings or doubles costs several times more.
 */
export class MergeTable {
  readonly #keys: Int32Array; // [left, right] per slot; left = -1 marks an empty slot
  readonly #ranks: Int32Array;
  readonly #mask: number;

  /** `pairs` holds `[left0, right0, left1, right1, ...]`, one pair per rank. */
  constructor(pairs: Int32Array) {
    const n = pairs.length >> 1;
    let size = 16;
    while (size < n * 2) size <<= 1;
    this.#mask = size - 1;
    this.#keys = new Int32Array(size * 2).fill(-1);
    this.#ranks = new Int32Array(size);
    for (let rank = 0; rank < n; rank++) {
      const left = pairs[2 * rank]!;
      const right = pairs[2 * rank + 1]!;
      let h = hash(left, right) & this.#mask;
      while (this.#keys[2 * h] !== -1) {
        // A repeated pair takes its last rank, as in `tokenizers` and transformers.js.
        if (this.#keys[2 * h] === left && this.#keys[2 * h + 1] === right) break;
        h = (h + 1) & this.#mask;
      }
      this.#keys[2 * h] = left;
      this.#keys[2 * h + 1] = right;
      this.#ranks[h] = rank;
    }
  }

  /** The merge rank of `(left, right)`, or {@link NO_MERGE}. */
  rank(left: number, right: number): number {
    const keys = this.#keys;
    let h = hash(left, right) & this.#mask;
    for (;;) {
      const k = keys[2 * h]!;
      if (k === left && keys[2 * h + 1] === right) return this.#ranks[h]!;
      if (k === -1) return NO_MERGE;
      h = (h + 1) & this.#mask;
    }
  }
}

function hash(left: number, right: number): number {
  const h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77);
  return (h ^ (h >>> 15)) >>> 0;
}
