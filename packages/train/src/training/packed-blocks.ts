import { CbtmError, Rng } from '@cbtm/core';
import { openTexts, type TextSource, type TextTokenizer } from './text-source.js';

/**
 * Where a {@link PackedBlockStream} is, exactly enough to continue it after a restart.
 *
 * @example
 * ```ts
 * const resumed = new PackedBlockStream(source, tokenizer, options, stream.state());
 * ```
 */
export interface BlockStreamState {
  /** Completed passes over the data. */
  readonly epoch: number;
  /** Documents read in the current pass (held-out ones included). */
  readonly docIndex: number;
  /** Tokens read but not yet in a block. */
  readonly pending: Int32Array;
  /** The shuffle buffer's blocks, concatenated. */
  readonly buffer: Int32Array;
  /** State of the shuffle generator. */
  readonly rng: number[];
}

/**
 * Options of {@link PackedBlockStream}.
 *
 * @example
 * ```ts
 * new PackedBlockStream(shard, tokenizer, { contextLength: 128, shuffleBuffer: 512, seed: 3 });
 * ```
 */
export interface BlockStreamOptions {
  /** Tokens per training row: one block holds contextLength + 1 tokens. */
  readonly contextLength: number;
  /** Blocks held for shuffling. @default 256 */
  readonly shuffleBuffer?: number;
  /** Seed of the shuffle. @default 0 */
  readonly seed?: number;
  /** Documents at the start of every pass that belong to the held-out slice. @default 0 */
  readonly skipDocuments?: number;
}

/**
 * Packs documents into fixed-length training blocks: each document's tokens, then the
 * end-of-document id, all concatenated; blocks of contextLength + 1 tokens start every
 * contextLength tokens (so every token is a target once). A seeded buffer shuffles blocks.
 * The data repeats (epochs) as long as blocks are asked for. `state()` captures the position.
 *
 * @example
 * ```ts
 * const stream = new PackedBlockStream('shard.jsonl.gz', tokenizer, { contextLength: 128, seed: 1 });
 * const { inputs, targets } = await stream.nextBatch(16); // Int32Array [16·128] each
 * ```
 */
export class PackedBlockStream {
  readonly #source: TextSource;
  readonly #tokenizer: TextTokenizer;
  readonly #ctx: number;
  readonly #capacity: number;
  readonly #skip: number;
  #rng: Rng;
  #epoch = 0;
  #docIndex = 0;
  #pending: number[] = [];
  #buffer: Int32Array[] = [];
  #texts: AsyncGenerator<string> | undefined;
  #docsThisEpoch = 0;

  constructor(
    source: TextSource,
    tokenizer: TextTokenizer,
    options: BlockStreamOptions,
    state?: BlockStreamState,
  ) {
    this.#source = source;
    this.#tokenizer = tokenizer;
    this.#ctx = options.contextLength;
    this.#capacity = Math.max(1, options.shuffleBuffer ?? 256);
    this.#skip = options.skipDocuments ?? 0;
    this.#rng = new Rng(options.seed ?? 0);
    if (state) {
      this.#epoch = state.epoch;
      this.#docIndex = state.docIndex;
      this.#pending = Array.from(state.pending);
      const L = this.#ctx + 1;
      for (let i = 0; i + L <= state.buffer.length; i += L)
        this.#buffer.push(state.buffer.slice(i, i + L));
      this.#rng = Rng.fromState(state.rng);
    }
  }

  /** The position, for a checkpoint. */
  state(): BlockStreamState {
    const L = this.#ctx + 1;
    const buffer = new Int32Array(this.#buffer.length * L);
    for (const [i, b] of this.#buffer.entries()) buffer.set(b, i * L);
    return {
      epoch: this.#epoch,
      docIndex: this.#docIndex,
      pending: Int32Array.from(this.#pending),
      buffer,
      rng: this.#rng.state(),
    };
  }

  /** `n` rows: inputs [n·ctx] and next-token targets [n·ctx]. */
  async nextBatch(n: number): Promise<{ inputs: Int32Array; targets: Int32Array }> {
    const T = this.#ctx;
    const inputs = new Int32Array(n * T);
    const targets = new Int32Array(n * T);
    for (let r = 0; r < n; r++) {
      const block = await this.#nextBlock();
      inputs.set(block.subarray(0, T), r * T);
      targets.set(block.subarray(1, T + 1), r * T);
    }
    return { inputs, targets };
  }

  /** Stops reading the source. */
  async close(): Promise<void> {
    await this.#texts?.return(undefined);
    this.#texts = undefined;
  }

  async #nextBlock(): Promise<Int32Array> {
    while (this.#buffer.length < this.#capacity) {
      const block = await this.#produce();
      this.#buffer.push(block);
    }
    const j = this.#rng.int(0, this.#buffer.length - 1);
    const out = this.#buffer[j]!;
    this.#buffer[j] = this.#buffer[this.#buffer.length - 1]!;
    this.#buffer.pop();
    return out;
  }

  /** The next block in stream order, reading documents as needed. */
  async #produce(): Promise<Int32Array> {
    const L = this.#ctx + 1;
    while (this.#pending.length < L) await this.#readDocument();
    const block = Int32Array.from(this.#pending.slice(0, L));
    // Blocks overlap by one token: the last target is the next block's first input.
    this.#pending = this.#pending.slice(this.#ctx);
    return block;
  }

  async #readDocument(): Promise<void> {
    if (!this.#texts) await this.#open();
    for (;;) {
      const r = await this.#texts!.next();
      if (r.done) {
        if (this.#docsThisEpoch === 0) {
          throw new CbtmError(
            'E_CORPUS_EMPTY',
            this.#epoch === 0 && this.#docIndex === 0
              ? 'The training data holds no documents.'
              : 'The training data ran out: it yielded nothing on a new pass. Pass a corpus path, an array, or a function that returns a fresh iterable, so it can be read again.',
          );
        }
        this.#epoch += 1;
        this.#docIndex = 0;
        await this.#open();
        continue;
      }
      this.#docIndex += 1;
      if (this.#docIndex <= this.#skip) continue;
      this.#docsThisEpoch += 1;
      const ids = this.#tokenizer.encode(r.value);
      for (let i = 0; i < ids.length; i++) this.#pending.push(ids[i]!);
      this.#pending.push(this.#tokenizer.eosId);
      return;
    }
  }

  /** Opens a pass and skips to `docIndex` (after a resume) without tokenizing. */
  async #open(): Promise<void> {
    await this.#texts?.return(undefined);
    this.#texts = openTexts(this.#source);
    this.#docsThisEpoch = 0;
    for (let i = 0; i < this.#docIndex; i++) {
      const r = await this.#texts.next();
      if (r.done) {
        throw new CbtmError(
          'E_CORPUS_INVALID',
          `Cannot resume: the training data now has fewer than ${this.#docIndex} documents.`,
        );
      }
      if (i >= this.#skip) this.#docsThisEpoch += 1;
    }
  }
}

/**
 * Reads the first documents of `source` until `tokens` tokens are gathered: the held-out
 * slice. Returns the tokens (documents joined by the end-of-document id) and how many
 * documents it took.
 *
 * @example
 * ```ts
 * const { tokens, documents } = await collectTokens(shard, tokenizer, 8192);
 * ```
 */
export async function collectTokens(
  source: TextSource,
  tokenizer: TextTokenizer,
  tokens: number,
): Promise<{ tokens: Int32Array; documents: number; exhausted: boolean }> {
  const out: number[] = [];
  let documents = 0;
  const texts = openTexts(source);
  let exhausted = true;
  for await (const text of texts) {
    documents += 1;
    const ids = tokenizer.encode(text);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    out.push(tokenizer.eosId);
    if (out.length >= tokens) {
      exhausted = false;
      break;
    }
  }
  await texts.return(undefined);
  return { tokens: Int32Array.from(out.slice(0, Math.max(tokens, 0))), documents, exhausted };
}

/**
 * Cuts a token sequence into evaluation rows of `contextLength` (inputs) with next-token
 * targets; the tail of the last row is padded and its targets set to −1 (ignored).
 *
 * @example
 * ```ts
 * const { inputs, targets, rows } = evaluationRows(held.tokens, 128, tokenizer.eosId);
 * ```
 */
export function evaluationRows(
  tokens: Int32Array,
  contextLength: number,
  padId: number,
): { inputs: Int32Array; targets: Int32Array; rows: number } {
  const T = contextLength;
  const rows = Math.max(0, Math.ceil((tokens.length - 1) / T));
  const inputs = new Int32Array(rows * T).fill(padId);
  const targets = new Int32Array(rows * T).fill(-1);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < T; t++) {
      const i = r * T + t;
      if (i + 1 >= tokens.length) break;
      inputs[r * T + t] = tokens[i]!;
      targets[r * T + t] = tokens[i + 1]!;
    }
  }
  return { inputs, targets, rows };
}
