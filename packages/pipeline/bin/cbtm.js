#!/usr/bin/env node
// The `cbtm` command. This file is committed, unlike dist/, so `npm ci` links it even in a fresh
// clone (npm skips a bin whose file does not exist at install time); it runs the built CLI and,
// in a checkout where nothing is built yet, builds it once first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/bin.js', import.meta.url);

if (!existsSync(cli)) {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write(
      `cbtm: ${fileURLToPath(cli)} is missing and TypeScript is not installed to build it. Run \`npm ci && npm run build\` in the cbtm repository.\n`,
    );
    process.exit(1);
  }
  process.stderr.write(
    'cbtm: building the packages first (dist/ is missing; this happens once)…\n',
  );
  // tsc -b follows the project references, so the packages the CLI imports are built too.
  const built = spawnSync(process.execPath, [tsc, '-b', packageDir], { stdio: 'inherit' });
  if (built.status !== 0 || !existsSync(cli)) {
    process.stderr.write('cbtm: the build failed; run `npm run build` to see why.\n');
    process.exit(1);
  }
}

await import(cli.href);
