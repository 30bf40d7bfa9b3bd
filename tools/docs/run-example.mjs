#!/usr/bin/env node
// Runs one of the examples in examples/ exactly as the docs show it:
//
//   node tools/docs/run-example.mjs <name> [args...]      e.g. read-a-corpus
//
// It type-checks and compiles the examples (tsc -b packages/docs-check, incremental, which also
// builds the @cbtm packages they import), then runs examples/<name>.ts's output with Node.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name.replace(/\.ts$/, ''))) {
  console.error(
    `usage: node tools/docs/run-example.mjs <name> [args...]\nexamples: ${available.join(', ')}`,
  );
  process.exit(2);
}
if (!process.argv.includes('--no-build')) {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-b', join(ROOT, 'packages', 'docs-check')], {
    stdio: 'inherit',
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const script = join(
  ROOT,
  'packages',
  'docs-check',
  'dist',
  'examples',
  `${name.replace(/\.ts$/, '')}.js`,
);
if (!existsSync(script)) {
  console.error(`${script} is missing: the build did not emit it.`);
  process.exit(1);
}
const run = spawnSync(process.execPath, [script, ...args.filter((a) => a !== '--no-build')], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
