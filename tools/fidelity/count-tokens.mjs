#!/usr/bin/env node
// Counts a corpus's tokens under a run's tokenizer (one end-of-document token per document), for
// the Fidelity page's statements of corpus size (demo: 631,421; corpus-v1 train: 3,968,097).
//
//   node tools/fidelity/count-tokens.mjs <run>/tokenizer/tokenizer.json [corpus.jsonl.gz]
import { demoCorpusPaths, readCorpus } from '@cbtm/core/node';
import { BpeTokenizer } from '@cbtm/train';

const [tokenizerFile, corpus = demoCorpusPaths().train] = process.argv.slice(2);
if (!tokenizerFile) {
  console.error('usage: count-tokens.mjs TOKENIZER_JSON [CORPUS]');
  process.exit(2);
}
const tokenizer = await BpeTokenizer.load(tokenizerFile);
let tokens = 0;
let documents = 0;
for await (const doc of readCorpus(corpus)) {
  tokens += tokenizer.encode(doc.text).length + 1;
  documents += 1;
}
console.log(`${documents} documents, ${tokens} tokens`);
