/**
 * What the ensemble needs from a tokenizer. `@cbtm/train`'s `BpeTokenizer` satisfies it.
 *
 * @example
 * ```ts
 * const tok: EnsembleTokenizer = await BpeTokenizer.load('runs/demo/tokenizer/tokenizer.json');
 * ```
 */
export interface EnsembleTokenizer {
  readonly vocabSize: number;
  /** End-of-document id; also the start token before a text is scored or generated. */
  readonly eosId: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** Whether `id` begins a whitespace-delimited word, given the token before it. */
  tokenStartsWord(id: number, previousId?: number): boolean;
  isSpecial(id: number): boolean;
}

/**
 * What the ensemble needs from an expert language model. `@cbtm/train`'s `GptModel`
 * satisfies it.
 *
 * @example
 * ```ts
 * const expert: ExpertModel = await GptModel.load('runs/demo/experts/0');
 * ```
 */
export interface ExpertModel {
  readonly config: { readonly vocabSize: number; readonly contextLength: number };
  /** log p(x_{t+1} | x_≤t) for every position t of `ids`, row-major `[ids.length, vocabSize]`. */
  logProbs(ids: Int32Array): Promise<Float32Array>;
  /**
   * An incremental decoder with a key/value cache (`GptModel.createDecoder`). Models without
   * one are run over the whole window at every step.
   */
  createDecoder?(options?: { readonly slideStride?: number }): ExpertDecoder;
  /**
   * One step of several of this model's decoders at once (`GptModel.decodeMany`), sharing the
   * weight products; used by `ExpertStepBatcher`.
   */
  decodeMany?(
    requests: readonly { readonly decoder: ExpertDecoder; readonly text: ArrayLike<number> }[],
  ): Promise<Float32Array[]>;
  /** Frees the model; called when the expert cache evicts it. */
  dispose?(): void;
}

/**
 * Next-token log-probabilities of a growing text from one expert, reading only what was added
 * since the last call (`@cbtm/train`'s `GptDecoder`). The window it reads is the one
 * `slidingWindowStart(text.length, contextLength, slideStride)` picks.
 *
 * @example
 * ```ts
 * const decoder = expert.createDecoder!({ slideStride: 1 });
 * const row = await decoder.next([eos, ...ids]); // vocabSize log-probabilities
 * decoder.dispose();
 * ```
 */
export interface ExpertDecoder {
  next(text: ArrayLike<number>): Promise<Float32Array>;
  dispose(): void;
}

/**
 * An incrementally updated embedding of a growing text (`TfidfSvdEmbedder.prefix()` in
 * `@cbtm/embed`).
 *
 * @example
 * ```ts
 * const p = embedder.prefix(); p.push('In the beginning'); p.vector();
 * ```
 */
export interface PrefixEmbeddingLike {
  push(text: string): void;
  vector(): Float32Array;
  clone(): PrefixEmbeddingLike;
}

/**
 * What the ensemble needs from an embedder (`@cbtm/embed`'s `Embedder`). When it has
 * `prefix()`, routing updates in O(d) per word; otherwise the prefix is re-embedded every
 * `reembedStride` words.
 *
 * @example
 * ```ts
 * const embedder: ContextEmbedder = await loadEmbedder('runs/demo/embedder');
 * ```
 */
export interface ContextEmbedder {
  readonly kind?: string;
  readonly dimension: number;
  embedText(text: string): Promise<Float32Array>;
  prefix?(): PrefixEmbeddingLike;
}
