#!/usr/bin/env node
import { join } from 'node:path';
// Ablation scoring of one finished run on a validation corpus (never a test split): every
// expert alone, oracle routing (the expert of the document's own cluster, routed on the whole
// document), per-sequence routing from the first 32 tokens, per-token prefix routing (what
// `cbtm eval` does) at several temperatures, and the dense baseline, all on the same tokens.
// Writes <run>/eval/ablation[-<tag>].json.
//
//   node tools/fidelity/ablate-eval.mjs --run runs/abl/x [--valid valid.jsonl.gz] [--max-tokens 256|all]
import { parseArgs } from 'node:util';
import { demoCorpusPaths, readCorpus } from '@cbtm/core/node';
import { evaluate, scorersFor } from '@cbtm/ensemble';
import { loadRun } from '@cbtm/ensemble/node';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    valid: { type: 'string' },
    'max-tokens': { type: 'string', default: '256' },
    temperatures: { type: 'string', default: '0.01,0.03,0.1,0.3,1' },
    tag: { type: 'string' },
  },
});
if (!values.run) {
  console.error('usage: ablate-eval.mjs --run RUN [--valid FILE] [--max-tokens N|all]');
  process.exit(2);
}
const valid = values.valid ?? (await demoCorpusPaths()).valid;
const maxTokens =
  values['max-tokens'] === 'all' ? Number.POSITIVE_INFINITY : Number(values['max-tokens']);
const temps = values.temperatures.split(',').map(Number);
const run = await loadRun(values.run, { log: () => {} });
const k = run.cbtm.k;
const docs = [];
for await (const d of readCorpus(valid)) docs.push(d);

const perToken = [];
for (const T of temps) {
  perToken.push({ kind: 'cbtm', name: `token-all-T${T}`, temperature: T });
  perToken.push({ kind: 'cbtm', name: `token-top1-T${T}`, topK: 1, temperature: T });
  if (k > 2) perToken.push({ kind: 'cbtm', name: `token-top2-T${T}`, topK: 2, temperature: T });
}
const fixed = [
  ...(run.dense ? [{ kind: 'dense', name: 'dense' }] : []),
  ...Array.from({ length: k }, (_, j) => ({ kind: 'expert', name: `expert-${j}`, expert: j })),
];
const seq = (prefix) => [
  { kind: 'cbtm', name: `seq${prefix}-top1`, topK: 1, weightsMode: 'per-sequence' },
  { kind: 'cbtm', name: `seq${prefix}-all`, weightsMode: 'per-sequence' },
];
const base = { maxTokensPerDocument: maxTokens, corpusName: valid, backend: run.backend };
const a = await evaluate(scorersFor(run, [...fixed, ...perToken, ...seq(32)]), docs, {
  ...base,
  sequencePrefixTokens: 32,
});
// Routing on the whole document: the oracle (it peeks at the scored tokens; for diagnosis only).
const b = await evaluate(scorersFor(run, seq('doc')), docs, {
  ...base,
  sequencePrefixTokens: 1e9,
});
await run.dispose();
const methods = { ...a.methods, ...b.methods };
const dense = methods.dense?.perplexity ?? Number.NaN;
const rows = Object.entries(methods).map(([name, m]) => ({
  name,
  perplexity: m.perplexity,
  vsDense: m.perplexity / dense - 1,
  perDomain: Object.fromEntries(Object.entries(m.perDomain).map(([d, s]) => [d, s.perplexity])),
}));
const out = {
  run: values.run,
  corpus: valid,
  tokens: a.tokens,
  documents: a.corpus.documents,
  maxTokensPerDocument: values['max-tokens'],
  rows,
};
const { writeJsonAtomic } = await import('@cbtm/core');
const file = join(values.run, 'eval', `ablation${values.tag ? `-${values.tag}` : ''}.json`);
await writeJsonAtomic(file, out);
const domains = Object.keys(rows[0].perDomain).sort();
console.log(`${values.run}: ${a.corpus.documents} docs, ${a.tokens} tokens → ${file}`);
console.log(
  [
    'method'.padEnd(18),
    'ppl'.padStart(8),
    'vs dense'.padStart(9),
    ...domains.map((d) => d.slice(0, 9).padStart(10)),
  ].join(' '),
);
for (const r of rows)
  console.log(
    [
      r.name.padEnd(18),
      r.perplexity.toFixed(2).padStart(8),
      `${(r.vsDense * 100).toFixed(1)}%`.padStart(9),
      ...domains.map((d) => (r.perDomain[d] ?? NaN).toFixed(1).padStart(10)),
    ].join(' '),
  );
