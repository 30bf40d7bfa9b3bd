#!/usr/bin/env node
// One ablation run: `cbtm run` with a config into its own run directory, reusing the stages it
// shares with a base run (embedding, clusters, shards, tokenizer, router and, when its config
// matches, the seed). The pipeline checks every reused stage's config hash, so nothing is
// reused that this config would compute differently.
//
//   node tools/fidelity/run-variant.mjs --base runs/abl/base --out runs/abl/x --config x.json
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
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
if (values.base) {
  // The stages a run can share with another whose training config differs; shareStages copies
  // only those whose checksums hold, and the pipeline still checks each one's config hash.
  const { shareStages } = await import('@cbtm/pipeline');
  const shared = await shareStages(resolve(values.base), out, [
    'embed',
    'cluster',
    'shard',
    'tokenizer',
    'router',
    'seed',
  ]);
  if (shared.length > 0) console.error(`started from ${shared.join(', ')} of ${values.base}`);
}
const bin = new URL('../../packages/pipeline/dist/bin.js', import.meta.url).pathname;
const r = spawnSync(process.execPath, [bin, 'run', '--config', values.config, '--out', out], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
