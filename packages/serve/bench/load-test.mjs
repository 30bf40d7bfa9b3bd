// Load test of @cbtm/serve: mixed route, score and completions traffic at fixed rates, on
// loopback, for a bounded time.
//
//   npm run bench:load -w @cbtm/serve                       # builds, trains a tiny run, 60 s
//   npm run bench:load -w @cbtm/serve -- --run runs/demo    # a real run instead
//   npm run bench:load -w @cbtm/serve -- --duration 10 --json load.json
//
// Flags: --run DIR (default: a tiny run trained here, in a temp folder), --duration S (60),
// --route R, --score R, --completions R (requests/s of each; 20, 4, 2), --max-tokens N (16,
// per completion), --workers N (model worker threads of the server; 1), --requests-per-worker N
// (the server's default, 8), --json FILE (also write the results as JSON).
//
// The server runs in a child process. One autocannon instance per endpoint runs at its fixed rate, all at once, plus /health at
// 10 requests/s as the baseline: the HTTP layer alone, measured under the same load. Prints
// requests/s, errors (non-2xx and socket errors), p50 and p99 latency per endpoint, and each
// endpoint's p50 as a ratio of /health's. Latencies are corrected for coordinated omission.
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { benchRun, startServerProcess } from './server-process.mjs';

const { values: flags } = parseArgs({
  options: {
    run: { type: 'string' },
    duration: { type: 'string', default: '60' },
    route: { type: 'string', default: '20' },
    score: { type: 'string', default: '4' },
    completions: { type: 'string', default: '2' },
    'max-tokens': { type: 'string', default: '16' },
    workers: { type: 'string', default: '1' },
    'requests-per-worker': { type: 'string', default: '8' },
    json: { type: 'string' },
  },
});

const duration = Number(flags.duration);
const maxTokens = Number(flags['max-tokens']);

const run = await benchRun(flags.run, 'cbtm-load-');
const runDir = run.dir;
const texts = run.docs
  ? run.docs.slice(0, 8).map((d) => d.text.slice(0, 300))
  : [
      'The court held that the contract was void because the seller had no title to the goods.',
      'In the beginning God created the heaven and the earth.',
      'A dictionary is a list of words with their meanings, spellings and origins.',
    ];

// The server runs in its own process: the load generator's work never competes with its event loop.
const server = await startServerProcess(runDir, {
  workers: Number(flags.workers),
  requestsPerWorker: Number(flags['requests-per-worker']),
});
process.stderr.write(
  `Serving on ${server.url} (${server.k} experts, ${server.backend}), in its own process; ${duration} s of load…\n`,
);

const json = (body) => JSON.stringify(body);
let i = 0;
const next = () => texts[i++ % texts.length];
const endpoints = [
  { name: 'GET /health', path: '/health', rate: 10, method: 'GET' },
  {
    name: 'POST /v1/route',
    path: '/v1/route',
    rate: Number(flags.route),
    body: () => json({ text: next() }),
  },
  {
    name: 'POST /v1/score',
    path: '/v1/score',
    rate: Number(flags.score),
    body: () => json({ text: next() }),
  },
  {
    name: 'POST /v1/completions',
    path: '/v1/completions',
    rate: Number(flags.completions),
    body: () =>
      json({ model: 'cbtm', prompt: next().slice(0, 40), max_tokens: maxTokens, seed: 1 }),
  },
].filter((e) => e.rate > 0);

function cannon(e) {
  return autocannon({
    url: `${server.url}${e.path}`,
    method: e.method ?? 'POST',
    headers: { 'content-type': 'application/json' },
    // Enough connections that a slow answer does not hold the rate back (each has one request in flight).
    connections: Math.max(2, Math.ceil(e.rate)),
    overallRate: e.rate,
    duration,
    timeout: 130,
    ...(e.body ? { requests: [{ setupRequest: (req) => ({ ...req, body: e.body() }) }] } : {}),
  });
}

const started = Date.now();
const results = await Promise.all(endpoints.map(cannon));
const load = loadavg()[0];
await server.stop();
await run.remove();

const health = results[0];
const rows = endpoints.map((e, j) => {
  const r = results[j];
  const codes = Object.fromEntries(
    Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, s.count]),
  );
  return {
    endpoint: e.name,
    targetRate: e.rate,
    requestsPerSecond: r.requests.total / r.duration,
    requests: r.requests.total,
    errors: r.non2xx + r.errors,
    statusCodes: codes,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    p50VsHealth: health.latency.p50 > 0 ? r.latency.p50 / health.latency.p50 : null,
  };
});
const report = {
  date: new Date(started).toISOString(),
  durationS: duration,
  run: flags.run ? 'given' : 'tiny (k = 2, trained here)',
  backend: server.backend,
  k: server.k,
  completionMaxTokens: maxTokens,
  workers: Number(flags.workers),
  requestsPerWorker: Number(flags['requests-per-worker']),
  cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
  loadAverage1mAtEnd: load,
  node: process.version,
  endpoints: rows,
};

const pad = (s, n) => String(s).padEnd(n);
const num = (x, d = 1) => (x === null ? '–' : x.toFixed(d));
console.log(
  `\n${pad('endpoint', 22)}${pad('target/s', 10)}${pad('req/s', 8)}${pad('requests', 10)}${pad('errors', 8)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}p50 ÷ /health`,
);
for (const r of rows) {
  console.log(
    `${pad(r.endpoint, 22)}${pad(r.targetRate, 10)}${pad(num(r.requestsPerSecond), 8)}${pad(r.requests, 10)}${pad(r.errors, 8)}${pad(r.p50Ms, 9)}${pad(r.p99Ms, 9)}${num(r.p50VsHealth)}`,
  );
}
console.log(
  `\n${duration} s, ${report.cpus}, load average ${load.toFixed(2)} at the end, ${report.backend}, ${report.workers} worker(s) × ${report.requestsPerWorker} requests, ${report.run}.`,
);
console.log(json(report));
if (flags.json) await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
