#!/usr/bin/env node
// Copies what the Results page shows out of a finished run into the docs, with the command that
// made the run, so the page's numbers always come from a real run's own files:
//
//   node tools/docs/collect-results.mjs --run runs/corpus-v1 --name corpus-v1 \
//     --command "npx cbtm run --config tools/docs/results-corpus-v1.config.json" \
//     [--seconds 1234] [--machine "2 CPU cores, wasm backend"]
//
// Writes docs/results/<name>/{results,train-results,cluster-metrics,run}.json and
// docs/public/results/<name>/report.html; then run tools/docs/gen-results-page.mjs.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    name: { type: 'string' },
    command: { type: 'string' },
    seconds: { type: 'string' },
    machine: { type: 'string' },
  },
});
if (!values.run || !values.name || !values.command) {
  console.error(
    'usage: collect-results.mjs --run DIR --name NAME --command "the cbtm command" [--seconds N] [--machine TEXT]',
  );
  process.exit(2);
}
const run = resolve(values.run);
const need = (rel) => {
  const p = join(run, rel);
  if (!existsSync(p)) {
    console.error(`${p} is missing: the run is not finished.`);
    process.exit(1);
  }
  return p;
};
const outDir = join(ROOT, 'docs', 'results', values.name);
const publicDir = join(ROOT, 'docs', 'public', 'results', values.name);
mkdirSync(outDir, { recursive: true });
mkdirSync(publicDir, { recursive: true });

// Absolute paths of this machine become paths relative to the repository; nothing else changes.
const relativize = (v) =>
  typeof v === 'string' && isAbsolute(v) && existsSync(v)
    ? relative(ROOT, v)
    : Array.isArray(v)
      ? v.map(relativize)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, relativize(x)]))
        : v;
const copyJson = (from, to) =>
  writeFileSync(
    to,
    `${JSON.stringify(relativize(JSON.parse(readFileSync(from, 'utf8'))), null, 2)}\n`,
  );

copyJson(need('eval/results.json'), join(outDir, 'results.json'));
copyJson(need('clusters/metrics.json'), join(outDir, 'cluster-metrics.json'));
if (existsSync(join(run, 'train-results.json')))
  copyJson(join(run, 'train-results.json'), join(outDir, 'train-results.json'));
if (existsSync(join(run, 'report.html')))
  copyFileSync(join(run, 'report.html'), join(publicDir, 'report.html'));

const manifest = JSON.parse(readFileSync(need('manifest.json'), 'utf8'));
const info = {
  name: values.name,
  command: values.command,
  config: manifest.config,
  createdAt: manifest.createdAt,
  finishedAt: manifest.updatedAt,
  ...(values.seconds ? { wallSeconds: Number(values.seconds) } : {}),
  ...(values.machine ? { machine: values.machine } : {}),
  stages: Object.fromEntries(
    Object.entries(manifest.stages).map(([k, s]) => [
      k,
      { completedAt: s.completedAt, info: s.info ?? null },
    ]),
  ),
};
writeFileSync(join(outDir, 'run.json'), `${JSON.stringify(relativize(info), null, 2)}\n`);
console.log(`Collected ${run} into ${outDir} and ${publicDir}.`);
