import type { Document } from '@cbtm/core';
import type { CorpusEmbedder } from '../assign-corpus.js';

/**
 * A tiny real embedder for tests: L2-normalized counts of the letters a–z. Documents about
 * different things land in different places, deterministically.
 */
export class LetterEmbedder implements CorpusEmbedder {
  readonly dimension = 26;
  calls = 0;

  vector(text: string): Float32Array {
    const v = new Float32Array(26);
    for (const ch of text.toLowerCase()) {
      const c = ch.charCodeAt(0) - 97;
      if (c >= 0 && c < 26) v[c]! += 1;
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < 26; i++) v[i]! /= norm;
    return v;
  }

  async *embed(docs: Iterable<Document> | AsyncIterable<Document>): AsyncIterable<Float32Array> {
    this.calls += 1;
    for await (const doc of docs) yield this.vector(doc.text);
  }
}

/** Documents from three "domains" with distinct letter distributions. */
export function letterCorpus(count: number): Document[] {
  const domains = [
    { name: 'aaa', alphabet: 'abcabcaab' },
    { name: 'mmm', alphabet: 'mnomnommn' },
    { name: 'xyz', alphabet: 'xyzxyzzyx' },
  ];
  const docs: Document[] = [];
  for (let i = 0; i < count; i++) {
    const dom = domains[i % 3]!;
    let text = '';
    for (let t = 0; t < 12; t++) text += dom.alphabet[(i * 7 + t * 3) % dom.alphabet.length];
    docs.push({ id: `doc-${i}`, text, domain: dom.name, extra: i });
  }
  return docs;
}
