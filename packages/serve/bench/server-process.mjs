// The benchmarks' server: `createServer` in a child process of its own, so that the load
// generator's work never competes with the server's event loop.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createServer } from '../dist/index.js';

const self = fileURLToPath(import.meta.url);

/**
 * Starts a server on `runDir` in a child process (loopback, port 0, no access log) with these
 * `createServer` options; resolves to { url, k, backend, stop() } once it listens.
 */
export async function startServerProcess(runDir, options = {}) {
  const child = spawn(process.execPath, [self, runDir, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const info = JSON.parse(line);
  return {
    ...info,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * The run a benchmark serves: `given`, or a tiny run (k = 2) trained now in a temp folder.
 * Resolves to { dir, docs (the tiny run's documents, or null), remove() }.
 */
export async function benchRun(given, prefix) {
  if (given) return { dir: given, docs: null, remove: async () => undefined };
  const { buildTinyRun, trainTinyExperts } = await import('@cbtm/testing/tiny-run');
  const root = await mkdtemp(join(tmpdir(), prefix));
  process.stderr.write('Training a tiny run (k = 2)…\n');
  const run = await buildTinyRun(join(root, 'run'), { documents: 40, k: 2 });
  await trainTinyExperts(run, 3);
  return { dir: run.dir, docs: run.docs, remove: () => rm(root, { recursive: true, force: true }) };
}

// Run as a script: be the server.
if (process.argv[1] === self) {
  const [runDir, options] = process.argv.slice(2);
  const server = await createServer(runDir, {
    ...JSON.parse(options),
    port: 0,
    host: '127.0.0.1',
    accessLog: false,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ url: server.url, k: server.ensemble.k, backend: server.backend })}\n`,
  );
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
  await server.closed;
  process.exit(0);
}
