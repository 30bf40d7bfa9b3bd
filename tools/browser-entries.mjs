// Bundles a package's pure entry (src/index.ts) for the browser with esbuild and reports every
// Node built-in it reaches, with the chain of modules that leads there (DESIGN.md: a package's
// main entry is browser-importable; file, process and worker code lives in its `./node` entry).
// Workspace packages resolve to their sources, so the check needs no build.

import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const isBuiltin = (spec) =>
  spec.startsWith('node:') || builtins.has(spec.split('/')[0]) || builtins.has(spec);
// Native addons and the native TF.js backends are Node-only too, even though npm resolves them.
const NODE_ONLY_PACKAGES = [
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'hnswlib-node',
  'onnxruntime-node',
];
const isNodeOnlyPackage = (spec) =>
  NODE_ONLY_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));

/**
 * Bundles `entry` with `platform: 'browser'` and returns one message per Node built-in (or
 * Node-only package) that it imports, statically or through `import()`, naming the chain of
 * modules from the entry. `root` is the repository root, used to map `@cbtm/<p>` and
 * `@cbtm/<p>/node` to `packages/<p>/src/{index,node}.ts` and to shorten paths.
 */
export async function findNodeImports(entry, { root }) {
  const hits = [];
  const workspace = {
    name: 'cbtm-workspace-sources',
    setup(b) {
      b.onResolve({ filter: /^@cbtm\/[a-z-]+(\/node)?$/ }, (args) => {
        const [, name, sub] = /^@cbtm\/([a-z-]+)(\/node)?$/.exec(args.path);
        const file = join(root, 'packages', name, 'src', sub ? 'node.ts' : 'index.ts');
        return existsSync(file) ? { path: file } : undefined;
      });
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        // Browser-capable dependencies (tfjs's emscripten glue, seedrandom) require built-ins
        // behind runtime checks; only this repository's own code and Node-only packages count.
        const ours = !args.importer.includes('/node_modules/');
        const builtin = isBuiltin(args.path);
        if ((ours && builtin) || isNodeOnlyPackage(args.path))
          hits.push({ spec: args.path, importer: args.importer });
        if (builtin || isNodeOnlyPackage(args.path)) return { path: args.path, external: true };
        return undefined;
      });
    },
  };
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    absWorkingDir: root, // metafile paths are relative to it
    logLevel: 'silent',
    // The wasm backend ships .wasm files that a bundler copies; the check only needs the graph.
    loader: { '.wasm': 'empty', '.node': 'empty' },
    plugins: [workspace],
  });
  const rel = (p) => relative(root, p).replaceAll('\\', '/');
  // Breadth-first over the bundle's import graph gives the shortest chain to each importer.
  const inputs = result.metafile.inputs;
  const parent = new Map();
  const start = rel(entry);
  const queue = [start];
  parent.set(start, null);
  while (queue.length) {
    const at = queue.shift();
    for (const imp of inputs[at]?.imports ?? []) {
      if (imp.external || parent.has(imp.path)) continue;
      parent.set(imp.path, at);
      queue.push(imp.path);
    }
  }
  const seen = new Set();
  const problems = [];
  for (const { spec, importer } of hits) {
    const from = rel(importer);
    const key = `${spec} ${from}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const chain = [];
    for (let p = from; p != null; p = parent.get(p)) chain.unshift(p);
    problems.push(`${chain.join(' → ')} → ${spec}`);
  }
  return problems;
}
