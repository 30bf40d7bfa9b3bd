#!/usr/bin/env node
// Checks that workspace dependencies flow one way (DESIGN.md):
// core ← embed, cluster, route, train ← ensemble ← pipeline, plus serve (on ensemble) and queue
// (on train), optional peers of the pipeline whose CLI lazy-loads them. Nothing imports the pipeline,
// and no package reaches into another's src/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
const problems = [];
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
}
if (problems.length) {
  console.error(`Dependency check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  'Dependency check: every @cbtm package depends one way (core ← embed, cluster, route, train ← ensemble ← pipeline; ensemble ← serve, train ← queue, both ← pipeline).',
);
