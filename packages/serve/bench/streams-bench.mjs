// Generation speed through the server, in one run (the machine is shared: only ratios from one
// run are comparable): OpenAI completions streamed over loopback from a server in its own
// process, first with requestsPerWorker 1 (one request at a time: each waits for the one before),
// then with requestsPerWorker R (R requests at once, their steps batched per expert).
//
//   npm run bench:streams -w @cbtm/serve [-- --run runs/demo] [-- --streams 20]
//                                        [-- --tokens 256] [-- --stream-tokens 32]
//                                        [-- --requests-per-worker 20] [-- --json FILE]
//
// 1. One stream: a --tokens greedy completion after a short prompt (the same work in both
//    servers, so its ratio shows the cost of the batching machinery for a lone request).
// 2. --streams concurrent completions of --stream-tokens each (sampled, seed i), sent at once:
//    total tokens/s, and each request's time to its first token and to its end (p50, p99).
// Default run: a tiny run (k = 2) trained here; pass --run for a real one (the experts' size,
// not the server, then sets the speed). Prints a table, the ratios R ÷ 1, and one JSON line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServerProcess } from './server-process.mjs';

const { values: flags } = parseArgs({
  options: {
    run: { type: 'string' },
    tokens: { type: 'string', default: '256' },
    streams: { type: 'string', default: '20' },
    'stream-tokens': { type: 'string', default: '32' },
    'requests-per-worker': { type: 'string', default: '8' },
    json: { type: 'string' },
  },
});
const tokens = Number(flags.tokens);
const streams = Number(flags.streams);
const streamTokens = Number(flags['stream-tokens']);
const batched = Number(flags['requests-per-worker']);

const prompts = [
  'The court held that',
  'In the beginning',
  'To install the package,',
  'A word that means',
  'The function returns',
];

let root;
let runDir = flags.run;
if (!runDir) {
  const { buildTinyRun, trainTinyExperts } = await import('@cbtm/testing/tiny-run');
  root = await mkdtemp(join(tmpdir(), 'cbtm-streams-'));
  process.stderr.write('Training a tiny run (k = 2)…\n');
  const run = await buildTinyRun(join(root, 'run'), { documents: 40, k: 2 });
  await trainTinyExperts(run, 3);
  runDir = run.dir;
}

/** One streamed completion: its tokens (usage), ms to the first token and to the end. */
async function complete(url, body) {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'cbtm',
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let first;
  let usage;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const data = buffer.slice(buffer.indexOf('data: ') + 6, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      if (data === '[DONE]') continue;
      const event = JSON.parse(data);
      if (event.error) throw new Error(event.error.message);
      if (event.usage) usage = event.usage;
      else first ??= performance.now() - start;
    }
  }
  return { tokens: usage.completion_tokens, firstMs: first, ms: performance.now() - start };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function measure(requestsPerWorker) {
  const server = await startServerProcess(runDir, {
    requestsPerWorker,
    maxQueue: streams,
    maxGenerateTokens: Math.max(tokens, streamTokens),
    maxRequestTokens: Math.max(tokens, streamTokens),
  });
  try {
    // Warm-up: loads every expert and compiles the kernels.
    await Promise.all(prompts.map((prompt) => complete(server.url, { prompt, max_tokens: 8 })));
    const one = await complete(server.url, { prompt: 'The', max_tokens: tokens, temperature: 0 });
    const start = performance.now();
    const all = await Promise.all(
      Array.from({ length: streams }, (_, i) =>
        complete(server.url, {
          prompt: prompts[i % prompts.length],
          max_tokens: streamTokens,
          seed: i,
        }),
      ),
    );
    const wallMs = performance.now() - start;
    const total = all.reduce((s, r) => s + r.tokens, 0);
    return {
      requestsPerWorker,
      backend: server.backend,
      k: server.k,
      oneStream: { tokens: one.tokens, ms: one.ms, tokensPerSecond: (one.tokens * 1000) / one.ms },
      concurrent: {
        streams,
        tokens: total,
        wallMs,
        tokensPerSecond: (total * 1000) / wallMs,
        firstTokenP50Ms: quantile(
          all.map((r) => r.firstMs),
          0.5,
        ),
        firstTokenP99Ms: quantile(
          all.map((r) => r.firstMs),
          0.99,
        ),
        endP50Ms: quantile(
          all.map((r) => r.ms),
          0.5,
        ),
        endP99Ms: quantile(
          all.map((r) => r.ms),
          0.99,
        ),
      },
    };
  } finally {
    await server.stop();
  }
}

const started = new Date();
const load0 = loadavg()[0];
const results = [];
for (const r of [1, batched]) {
  process.stderr.write(`requestsPerWorker ${r}…\n`);
  results.push(await measure(r));
}
if (root) await rm(root, { recursive: true, force: true });
const [base, fast] = results;
const report = {
  date: started.toISOString(),
  run: flags.run ? 'given' : 'tiny (k = 2, trained here)',
  backend: base.backend,
  k: base.k,
  cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
  loadAverage1m: { before: load0, after: loadavg()[0] },
  node: process.version,
  results,
  ratios: {
    oneStreamTokensPerSecond: fast.oneStream.tokensPerSecond / base.oneStream.tokensPerSecond,
    concurrentTokensPerSecond: fast.concurrent.tokensPerSecond / base.concurrent.tokensPerSecond,
    firstTokenP50: fast.concurrent.firstTokenP50Ms / base.concurrent.firstTokenP50Ms,
    endP99: fast.concurrent.endP99Ms / base.concurrent.endP99Ms,
  },
};

const pad = (s, n) => String(s).padEnd(n);
const f = (x, d = 0) => x.toFixed(d);
console.log(
  `\n${pad('requests/worker', 17)}${pad('1 stream tok/s', 16)}${pad(`${streams} streams tok/s`, 18)}${pad('first p50 ms', 14)}${pad('first p99 ms', 14)}${pad('end p50 ms', 12)}end p99 ms`,
);
for (const r of results) {
  const c = r.concurrent;
  console.log(
    `${pad(r.requestsPerWorker, 17)}${pad(f(r.oneStream.tokensPerSecond, 1), 16)}${pad(f(c.tokensPerSecond, 1), 18)}${pad(f(c.firstTokenP50Ms), 14)}${pad(f(c.firstTokenP99Ms), 14)}${pad(f(c.endP50Ms), 12)}${f(c.endP99Ms)}`,
  );
}
const q = report.ratios;
console.log(
  `\nrequestsPerWorker ${batched} ÷ 1: one stream ${f(q.oneStreamTokensPerSecond, 2)}×, ${streams} streams ${f(q.concurrentTokensPerSecond, 2)}× tokens/s; first token p50 ${f(q.firstTokenP50, 2)}×, end p99 ${f(q.endP99, 2)}× the time.`,
);
console.log(
  `${report.cpus}, load average ${f(load0, 2)} before, ${f(report.loadAverage1m.after, 2)} after, ${report.backend}, k = ${report.k}, ${report.run}.`,
);
console.log(JSON.stringify(report));
if (flags.json) await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
