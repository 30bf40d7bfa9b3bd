#!/usr/bin/env node
// Checks that workspace dependencies flow one way (DESIGN.md):
// core ← embed, cluster, route, train ← ensemble ← pipeline, plus serve (on ensemble) and queue
// (on train), optional peers of the pipeline whose CLI lazy-loads them. Nothing imports the pipeline,
// and no package reaches into another's src/. Then it bundles every published package's pure
// entry (src/index.ts) for the browser and fails on any Node built-in it reaches (DESIGN.md: file,
// process and worker code lives in the `./node` entry).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findNodeImports } from './browser-entries.mjs';

const allowed = {
  core: [],
  embed: ['core'],
  cluster: ['core'],
  route: ['core'],
  train: ['core'],
  ensemble: ['core', 'embed', 'route', 'train'],
  // Integrations with heavy dependencies (an HTTP server, Redis); the CLI lazy-loads them.
  serve: ['core', 'route', 'ensemble'],
  queue: ['core', 'train'],
  pipeline: ['core', 'embed', 'cluster', 'route', 'train', 'ensemble', 'serve', 'queue'],
};
// Integrations that are Node.js programs by nature: no pure entry to check.
const nodeOnly = {
  pipeline: 'the CLI and runPipeline()',
  serve: 'an HTTP server',
  queue: 'BullMQ workers on Redis',
};
const problems = [];
const browserEntries = [];
const root = new URL('..', import.meta.url).pathname;
for (const name of readdirSync(join(root, 'packages'))) {
  const pkgFile = join(root, 'packages', name, 'package.json');
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  } catch {
    continue;
  }
  if (pkg.private) continue; // test-only packages (e.g. docs-check) may depend on everything
  const ok = allowed[name];
  if (!ok) {
    problems.push(
      `packages/${name}: not in the package map; add it to tools/check-deps.mjs and DESIGN.md.`,
    );
    continue;
  }
  const runtime = { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies };
  for (const dep of Object.keys(runtime)) {
    if (!dep.startsWith('@cbtm/')) continue;
    const short = dep.slice('@cbtm/'.length);
    if (!ok.includes(short))
      problems.push(`packages/${name} depends on ${dep}, against the one-way flow.`);
  }
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(ts|mts|js|mjs)$/.test(entry)) {
        const text = readFileSync(full, 'utf8');
        for (const m of text.matchAll(
          /from\s+['"](@cbtm\/[a-z-]+)(\/[^'"]*)?['"]|import\(\s*['"](@cbtm\/[a-z-]+)(\/[^'"]*)?['"]/g,
        )) {
          const dep = m[1] ?? m[3];
          const sub = m[2] ?? m[4];
          const short = dep.slice('@cbtm/'.length);
          if (short !== name && !ok.includes(short) && !pkg.devDependencies?.[dep]) {
            problems.push(`${full.slice(root.length)} imports ${dep}, against the one-way flow.`);
          }
          if (sub?.includes('/src/'))
            problems.push(`${full.slice(root.length)} reaches into ${dep}${sub}.`);
        }
        if (/from\s+['"]\.\.\/\.\.\/[a-z-]+\/src\//.test(text)) {
          problems.push(
            `${full.slice(root.length)} imports another package's src/ by relative path.`,
          );
        }
      }
    }
  };
  walk(join(root, 'packages', name, 'src'));
  if (!nodeOnly[name] && existsSync(join(root, 'packages', name, 'src', 'index.ts')))
    browserEntries.push(name);
}
for (const name of browserEntries) {
  const entry = join(root, 'packages', name, 'src', 'index.ts');
  try {
    for (const chain of await findNodeImports(entry, { root })) {
      problems.push(
        `@cbtm/${name}'s main entry is not browser-safe: ${chain}. Move that code to the ./node entry (src/node.ts).`,
      );
    }
  } catch (err) {
    problems.push(`@cbtm/${name}'s main entry does not bundle for the browser: ${err.message}`);
  }
}
if (problems.length) {
  console.error(`Dependency check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  'Dependency check: every @cbtm package depends one way (core ← embed, cluster, route, train ← ensemble ← pipeline; ensemble ← serve, train ← queue, both ← pipeline).',
);
console.log(
  `Browser check: the main entries of ${browserEntries.map((n) => `@cbtm/${n}`).join(', ')} bundle for the browser without Node built-ins.`,
);
