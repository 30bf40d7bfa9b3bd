import type { ContextEmbedder, PrefixEmbeddingLike } from '../types.js';

/** Bag-of-letters embedding (spaces ignored), L2-normalized; zero for text with no letters. */
export class LetterEmbedder implements ContextEmbedder {
  readonly kind = 'letters';
  readonly letters: string[];
  readonly dimension: number;
  embedCalls = 0;

  constructor(letters: string) {
    this.letters = [...letters];
    this.dimension = this.letters.length;
  }

  counts(text: string, into: Float64Array = new Float64Array(this.dimension)): Float64Array {
    for (const c of text) {
      const i = this.letters.indexOf(c);
      if (i >= 0) into[i]! += 1;
    }
    return into;
  }

  static normalize(counts: ArrayLike<number>): Float32Array {
    const n = Math.sqrt(Array.from(counts).reduce((s, x) => s + x * x, 0));
    return Float32Array.from(counts, (x) => (n > 0 ? x / n : 0));
  }

  async embedText(text: string): Promise<Float32Array> {
    this.embedCalls++;
    return LetterEmbedder.normalize(this.counts(text));
  }

  prefix(): PrefixEmbeddingLike {
    const counts = new Float64Array(this.dimension);
    const self = this;
    const make = (c: Float64Array<ArrayBufferLike>): PrefixEmbeddingLike => ({
      push(text: string) {
        self.counts(text, c);
      },
      vector() {
        return LetterEmbedder.normalize(c);
      },
      clone() {
        return make(Float64Array.from(c));
      },
    });
    return make(counts);
  }
}

/** The same embedder without `prefix()`, to exercise the re-embedding path. */
export class ReembedOnlyEmbedder implements ContextEmbedder {
  readonly kind = 'letters-reembed';
  readonly dimension: number;
  readonly inner: LetterEmbedder;
  constructor(letters: string) {
    this.inner = new LetterEmbedder(letters);
    this.dimension = this.inner.dimension;
  }
  embedText(text: string): Promise<Float32Array> {
    return this.inner.embedText(text);
  }
}
