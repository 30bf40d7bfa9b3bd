/**
 * A byte-level BPE tokenizer that reads a Hugging Face `tokenizer.json` in the browser. It is a
 * small, dependency-free reader of the same files `@cbtm/train`'s `BpeTokenizer` writes; the
 * docs-check tests assert that both give the same ids and text.
 */

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's byte → printable character table. */
const BYTE_TO_CHAR: string[] = (() => {
  const table: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  return table;
})();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

interface TokenizerJson {
  added_tokens?: { id: number; content: string }[];
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
}

/** Byte-level BPE over a `tokenizer.json`. */
export class WebTokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly #idOf = new Map<string, number>();
  readonly #bytesOf: Uint8Array[] = [];
  readonly #ranks = new Map<string, number>();
  readonly #special = new Set<number>();
  readonly #cache = new Map<string, number[]>();
  readonly #flags: Uint8Array;

  constructor(json: TokenizerJson, eosToken = '<|endoftext|>') {
    if (json?.model?.type !== 'BPE') throw new Error('tokenizer.json: expected a BPE model');
    const encoder = new TextEncoder();
    for (const [name, id] of Object.entries(json.model.vocab)) this.#idOf.set(name, id);
    for (const t of json.added_tokens ?? []) {
      this.#special.add(t.id);
      this.#bytesOf[t.id] = encoder.encode(t.content);
    }
    for (const [name, id] of this.#idOf) {
      if (this.#special.has(id)) continue;
      this.#bytesOf[id] = Uint8Array.from([...name].map((c) => CHAR_TO_BYTE.get(c) ?? 0));
    }
    this.vocabSize = this.#bytesOf.length;
    json.model.merges.forEach((m, rank) => {
      const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
      this.#ranks.set(`${a} ${b}`, rank); // a repeated pair keeps its last rank, as in tokenizers
    });
    const eos = (json.added_tokens ?? []).find((t) => t.content === eosToken);
    this.eosId = eos ? eos.id : -1;
    // Per token: 1 = starts with whitespace, 2 = ends with whitespace, 4 = holds non-whitespace.
    this.#flags = new Uint8Array(this.vocabSize);
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    this.#bytesOf.forEach((bytes, id) => {
      if (this.#special.has(id)) {
        this.#flags[id] = 1 | 2;
        return;
      }
      const text = decoder.decode(bytes);
      this.#flags[id] =
        (/^\s/u.test(text) ? 1 : 0) | (/\s$/u.test(text) ? 2 : 0) | (/\S/u.test(text) ? 4 : 0);
    });
  }

  /**
   * Whether token `id` begins a new word after `previousId` (as `BpeTokenizer.tokenStartsWord`):
   * it holds text, and starts with whitespace or follows whitespace or the start.
   */
  tokenStartsWord(id: number, previousId?: number): boolean {
    const f = this.#flags[id]!;
    if ((f & 4) === 0) return false;
    if (f & 1 || previousId === undefined) return true;
    return (this.#flags[previousId]! & 2) !== 0;
  }

  /** Token ids of `text` (special-token text is encoded as plain bytes). */
  encode(text: string): number[] {
    const out: number[] = [];
    const bytes = new TextEncoder();
    for (const piece of text.match(GPT2_SPLIT) ?? []) {
      let ids = this.#cache.get(piece);
      if (!ids) {
        const symbols = Array.from(bytes.encode(piece), (b) => BYTE_TO_CHAR[b]!);
        ids = this.#bpe(symbols).map((s) => this.#idOf.get(s)!);
        if (this.#cache.size < 50_000) this.#cache.set(piece, ids);
      }
      out.push(...ids);
    }
    return out;
  }

  /** Text of `ids`; invalid UTF-8 (a cut character) becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => {
      const b = this.#bytesOf[id];
      if (!b) throw new Error(`token id ${id} is not in this tokenizer`);
      return b;
    });
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(all);
  }

  /** Raw bytes of one token. */
  tokenBytes(id: number): Uint8Array {
    return this.#bytesOf[id]!;
  }

  /** Whether `id` is a special token such as `<|endoftext|>`. */
  isSpecial(id: number): boolean {
    return this.#special.has(id);
  }

  /** Merges the lowest-ranked adjacent pair until none is left (leftmost first on ties). */
  #bpe(symbols: string[]): string[] {
    const s = symbols;
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.#ranks.get(`${s[i]} ${s[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return s;
      s.splice(best, 2, s[best]! + s[best + 1]!);
    }
  }
}
