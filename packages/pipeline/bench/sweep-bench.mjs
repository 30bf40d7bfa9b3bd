#!/usr/bin/env node
// The cost of each grid point of a tiny `cbtm sweep` (demo corpus, a small model): wall seconds
// of training and tokens/s, each against the dense model (k = 1) at the same budget, which is
// measured in the same run. Run with `npm run bench` (builds first); never part of the tests.
//
//   node bench/sweep-bench.mjs [--out DIR] [--keep]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runSweep } from '../dist/index.js';

const { values } = parseArgs({
  options: { out: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const out = values.out ?? (await mkdtemp(join(tmpdir(), 'cbtm-sweep-bench-')));
const config = {
  out,
  corpus: { limit: 400 },
  embed: { dimension: 32 },
  tokenizer: { vocabSize: 512, sampleBytes: 300_000 },
  model: { nLayer: 1, dModel: 64, nHead: 2, contextLength: 64 },
  train: {
    seedTokens: 16_384,
    batchSize: 8,
    warmupSteps: 4,
    evalEvery: 16,
    evalTokens: 1024,
    checkpointEvery: 16,
    workers: 2,
  },
  eval: { maxDocs: 24, maxTokensPerDoc: 64 },
  report: { enabled: false },
  sweep: { k: [1, 2, 4], tokens: [16_384, 32_768], topK: ['all'] },
};

const started = performance.now();
try {
  const { results } = await runSweep(config, {
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const wall = (performance.now() - started) / 1000;
  const fmt = (n, d = 1) => (n === null || n === undefined ? 'n/a' : n.toFixed(d));
  const dense = (tokens) => results.points.find((p) => p.k === 1 && p.tokens === tokens);
  const rows = [['point', 'k', 'tokens', 'train s', 'tokens/s', 'vs dense', 'perplexity']];
  if (results.seed?.training) {
    const t = results.seed.training;
    rows.push(['seed', '-', String(t.tokens), fmt(t.seconds), fmt(t.tokensPerSecond, 0), '', '']);
  }
  for (const p of results.points) {
    const d = dense(p.tokens)?.training.tokensPerSecond;
    const ratio =
      d && p.training.tokensPerSecond ? `${(p.training.tokensPerSecond / d).toFixed(2)}×` : '';
    rows.push([
      p.name,
      String(p.k),
      String(p.tokens),
      fmt(p.training.seconds),
      fmt(p.training.tokensPerSecond, 0),
      ratio,
      fmt(p.perplexity.all, 2),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padStart(widths[c])).join('  '));
  console.log(
    `\nwhole sweep: ${wall.toFixed(1)} s wall (tokens/s: models in parallel on ${config.train.workers} workers; "vs dense": against k = 1 at the same budget)`,
  );
} finally {
  if (!values.keep && !values.out) await rm(out, { recursive: true, force: true });
}
