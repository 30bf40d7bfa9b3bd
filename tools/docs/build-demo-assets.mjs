#!/usr/bin/env node
// Builds the in-browser demo's files, docs/public/demo/, from the built-in demo corpus:
//
//   node tools/docs/build-demo-assets.mjs
//
// 1. builds the packages (tsc -b),
// 2. trains a small run with `cbtm run --config tools/docs/demo-web.config.json` (five tiny
//    experts; rerunning resumes and reuses what is done),
// 3. exports it with `cbtm export-web --run runs/web-demo --out docs/public/demo`,
// and prints the exported files' sizes. The result is committed; it is a few MB.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'packages', 'pipeline', 'dist', 'bin.js');
const CONFIG = join(ROOT, 'tools', 'docs', 'demo-web.config.json');
const RUN = join(ROOT, 'runs', 'web-demo');
const OUT = join(ROOT, 'docs', 'public', 'demo');
const PROMPTS = [
  'In the beginning God created the heaven and the earth. And God said',
  'Permission is hereby granted, free of charge, to any person obtaining a copy',
  'NAME\nopen - open and possibly create a file\n\nSYNOPSIS\n',
  'The json module can serialize Python objects',
  'Guard \\Guard\\, n. [OF. guarde, F. garde]',
];

function run(args, what) {
  console.error(`build-demo-assets: ${what}`);
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build-demo-assets: ${what} failed (exit ${r.status}).`);
    process.exit(r.status ?? 1);
  }
}

run(
  [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-b',
    join(ROOT, 'packages', 'pipeline'),
  ],
  'building the packages',
);
run([CLI, 'run', '--config', CONFIG, '--out', RUN], `training the demo run in ${RUN}`);
const help =
  spawnSync(process.execPath, [CLI, '--help'], { cwd: ROOT, encoding: 'utf8' }).stdout ?? '';
if (/^\s+export-web\b/m.test(help)) {
  run(
    [CLI, 'export-web', '--run', RUN, '--out', OUT, ...PROMPTS.flatMap((p) => ['--prompt', p])],
    `exporting it to ${OUT}`,
  );
} else {
  // Until the CLI registers `export-web`, call the same function it runs.
  console.error(
    `build-demo-assets: exporting it to ${OUT} (exportWeb; the CLI has no export-web command yet)`,
  );
  const { exportWeb } = await import(
    join(ROOT, 'packages', 'pipeline', 'dist', 'export-web', 'index.js')
  );
  const result = await exportWeb(RUN, OUT, { prompts: PROMPTS });
  for (const f of result.files) console.log(`${f.path}\t${f.bytes}`);
  console.log(
    `Exported ${result.manifest.experts.length} experts to ${result.outDir} (${(result.totalBytes / 1e6).toFixed(2)} MB).`,
  );
}
