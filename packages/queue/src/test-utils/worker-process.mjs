// A `runWorker` in its own process, for tests that SIGKILL a worker mid-job. It runs the built
// code: build the package (`npx tsc -b`) before the queue tests.
// Usage: node worker-process.mjs '<RunWorkerOptions as JSON>'
import { runWorker } from '../../dist/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort());
await runWorker({
  ...options,
  signal: ac.signal,
  log: (line) => process.stderr.write(`${line}\n`),
});
process.exit(0);
