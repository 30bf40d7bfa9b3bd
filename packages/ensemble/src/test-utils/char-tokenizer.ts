import type { EnsembleTokenizer } from '../types.js';

/**
 * A character-level tokenizer over a fixed alphabet, with the end-of-document token last.
 * A character starts a word when it is not a space and follows a space or the start.
 */
export class CharTokenizer implements EnsembleTokenizer {
  readonly alphabet: string[];
  readonly vocabSize: number;
  readonly eosId: number;

  constructor(alphabet: string) {
    this.alphabet = [...alphabet];
    this.eosId = this.alphabet.length;
    this.vocabSize = this.alphabet.length + 1;
  }

  encode(text: string): number[] {
    return [...text].map((c) => {
      const i = this.alphabet.indexOf(c);
      if (i < 0) throw new Error(`char ${c} not in alphabet`);
      return i;
    });
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++)
      s += ids[i] === this.eosId ? '<eos>' : this.alphabet[ids[i]!]!;
    return s;
  }

  tokenStartsWord(id: number, previousId?: number): boolean {
    if (id === this.eosId || this.alphabet[id] === ' ') return false;
    return (
      previousId === undefined || previousId === this.eosId || this.alphabet[previousId] === ' '
    );
  }

  isSpecial(id: number): boolean {
    return id === this.eosId;
  }
}
