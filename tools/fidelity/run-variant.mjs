#!/usr/bin/env node
// One ablation run: `cbtm run` with a config into its own run directory, reusing the stages it
// shares with a base run (embedding, clusters, shards, tokenizer, router and, when its config
// matches, the seed). The pipeline checks every reused stage's config hash, so nothing is
// reused that this config would compute differently.
//
//   node tools/fidelity/run-variant.mjs --base runs/abl/base --out runs/abl/x --config x.json
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    out: { type: 'string' },
    config: { type: 'string' },
  },
});
if (!values.out || !values.config) {
  console.error('usage: run-variant.mjs [--base RUN] --out RUN --config FILE');
  process.exit(2);
}
const out = resolve(values.out);
// Everything a run shares with another whose training config differs.
const shared = [
  'manifest.json',
  'embedder',
  'embeddings',
  'clusters',
  'shards',
  'tokenizer',
  'router',
  'seed',
];
if (values.base && !existsSync(join(out, 'manifest.json'))) {
  mkdirSync(out, { recursive: true });
  for (const name of shared) {
    const from = join(resolve(values.base), name);
    if (existsSync(from)) cpSync(from, join(out, name), { recursive: true });
  }
  console.error(`copied ${readdirSync(out).join(', ')} from ${values.base}`);
}
const bin = new URL('../../packages/pipeline/dist/bin.js', import.meta.url).pathname;
const r = spawnSync(process.execPath, [bin, 'run', '--config', values.config, '--out', out], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
