// Tokenizer benchmark: train time, encode/decode throughput, and the same tokenizer.json run
// through transformers.js in the same process as the baseline.
//
//   npx tsc -b && node bench/tokenizer.mjs [corpus.jsonl.gz] [--vocab 4096] [--baseline-mb 1.5]
//
// The corpus defaults to corpus-v1's training split where this machine has it, else the demo
// corpus that ships with @cbtm/core. Both tokenizers encode the first --baseline-mb MB;
// cbtm then encodes the whole corpus.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { demoCorpusPaths } from '@cbtm/core/node';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { BpeTokenizer, trainBpeTokenizer } from '../dist/tokenizer/index.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args.splice(i, 2)[1]) : fallback;
};
const vocabSize = flag('--vocab', 4096);
const baselineMb = flag('--baseline-mb', 1.5);
const CORPUS_V1 = '/work/shared/data/corpus-v1/train.jsonl.gz';
const file = args[0] ?? (existsSync(CORPUS_V1) ? CORPUS_V1 : demoCorpusPaths().train);

const lines = gunzipSync(await readFile(file))
  .toString('utf8')
  .split('\n');
const texts = lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l).text);
const sizeOf = (list) => list.reduce((n, t) => n + Buffer.byteLength(t), 0) / 1e6;
// transformers.js is slow, so the head-to-head runs on the first --baseline-mb MB.
const subset = [];
for (const t of texts) {
  if (sizeOf(subset) >= baselineMb) break;
  subset.push(t);
}
console.log(
  `corpus ${file}: ${texts.length} docs, ${sizeOf(texts).toFixed(2)} MB; head-to-head on ${subset.length} docs, ${sizeOf(subset).toFixed(2)} MB`,
);

const now = () => performance.now();
let t0 = now();
const trained = await trainBpeTokenizer(texts, { vocabSize, seed: 0 });
const trainS = (now() - t0) / 1000;
console.log(
  `train: vocab ${trained.vocabSize} (${trained.mergeCount} merges, default 4 MB sample) in ${trainS.toFixed(2)} s`,
);
const json = trained.toJSON();
const config = trained.toTokenizerConfig();

function timeEncode(list, encode) {
  const mb = sizeOf(list);
  const start = now();
  let tokens = 0;
  for (const t of list) tokens += encode(t).length;
  const s = (now() - start) / 1000;
  return { tokens, s, tokPerS: tokens / s, mbPerS: mb / s };
}

// Fresh instances, so every "cold" pass starts with an empty cache.
const oursCold = BpeTokenizer.fromJSON(json);
const hfCold = new PreTrainedTokenizer(json, config);
const subOurs = timeEncode(subset, (t) => oursCold.encode(t));
const subHf = timeEncode(subset, (t) => hfCold.encode(t, { add_special_tokens: false }));
const subOursWarm = timeEncode(subset, (t) => oursCold.encode(t));
const subHfWarm = timeEncode(subset, (t) => hfCold.encode(t, { add_special_tokens: false }));
const full = BpeTokenizer.fromJSON(json);
const fullCold = timeEncode(texts, (t) => full.encode(t));
const fullWarm = timeEncode(texts, (t) => full.encode(t));

let mismatches = 0;
for (const t of subset) {
  const a = full.encode(t);
  const b = hfCold.encode(t, { add_special_tokens: false });
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) mismatches++;
}

const encoded = subset.map((t) => full.encode(t));
t0 = now();
for (const ids of encoded) full.decode(ids);
const decodeOursS = (now() - t0) / 1000;
t0 = now();
for (const ids of encoded) hfCold.decode(ids, { skip_special_tokens: false });
const decodeHfS = (now() - t0) / 1000;

const row = (name, r, base) =>
  `${name.padEnd(34)} ${(r.tokPerS / 1e6).toFixed(3).padStart(7)} M tok/s ${r.mbPerS.toFixed(2).padStart(7)} MB/s` +
  (base ? `  ${(r.tokPerS / base.tokPerS).toFixed(2)}× transformers.js` : '');
console.log(
  `bytes/token ${((sizeOf(texts) * 1e6) / fullCold.tokens).toFixed(3)}; id mismatches vs transformers.js: ${mismatches}/${subset.length} docs`,
);
console.log(row('encode cbtm, head-to-head, cold', subOurs, subHf));
console.log(row('encode transformers.js, cold', subHf));
console.log(row('encode cbtm, head-to-head, warm', subOursWarm, subHfWarm));
console.log(row('encode transformers.js, warm', subHfWarm));
console.log(row('encode cbtm, whole corpus, cold', fullCold));
console.log(row('encode cbtm, whole corpus, warm', fullWarm));
console.log(
  `decode: cbtm ${(sizeOf(subset) / decodeOursS).toFixed(1)} MB/s, transformers.js ${(sizeOf(subset) / decodeHfS).toFixed(1)} MB/s: ${(decodeHfS / decodeOursS).toFixed(2)}×`,
);
console.log(
  JSON.stringify({
    bench: 'tokenizer',
    vocabSize: trained.vocabSize,
    trainSeconds: trainS,
    encodeMBPerS: fullCold.mbPerS,
    encodeTokPerS: fullCold.tokPerS,
    encodeWarmMBPerS: fullWarm.mbPerS,
    transformersEncodeMBPerS: subHf.mbPerS,
    encodeRatioVsTransformers: subOurs.tokPerS / subHf.tokPerS,
    decodeRatioVsTransformers: decodeHfS / decodeOursS,
    mismatches,
  }),
);
if (mismatches > 0) process.exitCode = 1;
