/**
 * GPT-2's pre-tokenization pattern. Byte-level BPE splits text with it first, and merges only
 * inside each piece. It is the same pattern `tokenizers` and transformers.js use for a
 * `ByteLevel` pre-tokenizer with `use_regex: true`, so our encoder and theirs agree.
 *
 * @example
 * ```ts
 * 'Hello, world!'.match(new RegExp(GPT2_SPLIT_PATTERN, 'gu')); // ['Hello', ',', ' world', '!']
 * ```
 */
export const GPT2_SPLIT_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const SPLIT_REGEX = new RegExp(GPT2_SPLIT_PATTERN, 'gu');

/** Splits `text` into GPT-2 pre-tokens. Their concatenation is `text` again. */
export function preTokenize(text: string): string[] {
  return text.match(SPLIT_REGEX) ?? [];
}

/**
 * GPT-2's reversible byte → printable character table: byte `b` is written in `tokenizer.json`
 * as `BYTE_TO_UNICODE[b]`, so no token string holds a space or a control character.
 */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const table: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  }
  return table;
})();

/** Inverse of {@link BYTE_TO_UNICODE}. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_UNICODE.map((c, b) => [c, b]),
);

/** Writes `bytes` as a byte-level token string (`tokenizer.json` spelling). */
export function bytesToTokenString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]!];
  return s;
}

/** Reads a byte-level token string back into bytes; `undefined` if it is not one. */
export function tokenStringToBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = UNICODE_TO_BYTE.get(token[i]!);
    if (b === undefined) return undefined;
    bytes[i] = b;
  }
  return bytes;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`; lone surrogates become U+FFFD, as with `TextEncoder`. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
