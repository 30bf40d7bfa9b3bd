import type { TextTokenizer } from '../training/text-source.js';

/**
 * A character-level tokenizer over a fixed alphabet, for tiny tests: id 0 is end-of-document,
 * characters outside the alphabet map to id 1.
 */
export class CharTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly eosId = 0;
  readonly #ids = new Map<string, number>();
  readonly #chars: string[];

  constructor(alphabet = 'abcdefghijklmnopqrstuvwxyz .,') {
    this.#chars = ['\u0000', '?', ...alphabet];
    for (const [i, c] of this.#chars.entries()) this.#ids.set(c, i);
    this.vocabSize = this.#chars.length;
  }

  encode(text: string): number[] {
    return [...text].map((c) => this.#ids.get(c) ?? 1);
  }

  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (i) => this.#chars[i] ?? '?').join('');
  }
}
