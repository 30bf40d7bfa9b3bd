// Generation speed through the server (the machine is shared: only ratios from one run are
// comparable). Four servers on the same run, each in its own process, stream OpenAI
// completions over loopback:
//   uncached   kvCache: false, slideStride 1, requestsPerWorker 1: every token recomputes the
//              window, one request at a time (the server as issue #15 measured it);
//   exact      key/value caches, slideStride 1 (past the context every step re-reads a whole
//              window), one request at a time;
//   cached     key/value caches, the default slideStride (a quarter of the context), one request
//              at a time;
//   batched    the default server: as cached, with requestsPerWorker R (8), the steps of
//              concurrent requests batched per expert.
//
//   npm run bench:streams -w @cbtm/serve [-- --run runs/demo] [-- --streams 20]
//                                        [-- --tokens 256] [-- --stream-tokens 32] [-- --repeat 3]
//                                        [-- --requests-per-worker 20] [-- --json FILE]
//
// 1. One stream: a --tokens greedy completion after a short prompt.
// 2. --streams concurrent completions of --stream-tokens each (sampled, seed i), sent at once:
//    total tokens/s, and each request's time to its first token and to its end (p50, p99).
// Each server is warmed up with both once, then the servers are measured in turn, --repeat
// times; the table shows medians, and the ratios are medians of each round's ratios.
// Default run: a tiny run (k = 2) trained here; pass --run for a real one (the experts' size,
// not the server, then sets the speed). Prints a table, the ratios, and one JSON line.
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { benchRun, startServerProcess } from './server-process.mjs';

const { values: flags } = parseArgs({
  options: {
    run: { type: 'string' },
    tokens: { type: 'string', default: '256' },
    streams: { type: 'string', default: '20' },
    'stream-tokens': { type: 'string', default: '32' },
    'requests-per-worker': { type: 'string', default: '8' },
    repeat: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const tokens = Number(flags.tokens);
const streams = Number(flags.streams);
const streamTokens = Number(flags['stream-tokens']);
const batched = Number(flags['requests-per-worker']);
const repeat = Number(flags.repeat);

const prompts = [
  'The court held that',
  'In the beginning',
  'To install the package,',
  'A word that means',
  'The function returns',
];

const run = await benchRun(flags.run, 'cbtm-streams-');
const runDir = run.dir;

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

const configs = [
  { name: 'uncached', options: { kvCache: false, slideStride: 1, requestsPerWorker: 1 } },
  { name: 'exact', options: { slideStride: 1, requestsPerWorker: 1 } },
  { name: 'cached', options: { requestsPerWorker: 1 } },
  { name: 'batched', options: { requestsPerWorker: batched } },
];

/** One round on one server: the lone stream, then the concurrent ones. */
async function round(url) {
  const one = await complete(url, { prompt: 'The', max_tokens: tokens, temperature: 0 });
  const start = performance.now();
  const all = await Promise.all(
    Array.from({ length: streams }, (_, i) =>
      complete(url, { prompt: prompts[i % prompts.length], max_tokens: streamTokens, seed: i }),
    ),
  );
  const wallMs = performance.now() - start;
  const total = all.reduce((s, r) => s + r.tokens, 0);
  const firsts = all.map((r) => r.firstMs);
  const ends = all.map((r) => r.ms);
  return {
    oneStream: { tokens: one.tokens, ms: one.ms, tokensPerSecond: (one.tokens * 1000) / one.ms },
    concurrent: {
      streams,
      tokens: total,
      wallMs,
      tokensPerSecond: (total * 1000) / wallMs,
      firstTokenP50Ms: quantile(firsts, 0.5),
      firstTokenP99Ms: quantile(firsts, 0.99),
      endP50Ms: quantile(ends, 0.5),
      endP99Ms: quantile(ends, 0.99),
    },
  };
}

const median = (xs) => quantile(xs, 0.5);
const started = new Date();
const load0 = loadavg()[0];
const servers = [];
const rounds = configs.map(() => []);
try {
  for (const c of configs) {
    servers.push(
      await startServerProcess(runDir, {
        ...c.options,
        maxQueue: streams,
        maxGenerateTokens: Math.max(tokens, streamTokens),
        maxRequestTokens: Math.max(tokens, streamTokens),
      }),
    );
  }
  // Warm-up: loads every expert and compiles the kernels for every shape a round uses.
  for (const s of servers) {
    process.stderr.write('warm-up…\n');
    await round(s.url);
  }
  for (let r = 0; r < repeat; r++) {
    for (const [i, s] of servers.entries()) {
      process.stderr.write(`round ${r + 1}/${repeat}: ${configs[i].name}…\n`);
      rounds[i].push(await round(s.url));
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await run.remove();
}

const fields = {
  oneStream: ['tokensPerSecond'],
  concurrent: ['tokensPerSecond', 'firstTokenP50Ms', 'firstTokenP99Ms', 'endP50Ms', 'endP99Ms'],
};
const results = configs.map((c, i) => {
  const out = { name: c.name, ...c.options, rounds: rounds[i] };
  for (const [part, keys] of Object.entries(fields)) {
    out[part] = Object.fromEntries(keys.map((k) => [k, median(rounds[i].map((x) => x[part][k]))]));
  }
  return out;
});
/** Median over rounds of config a's value ÷ config b's. */
const ratio = (a, b, part, key) =>
  median(rounds[a].map((x, r) => x[part][key] / rounds[b][r][part][key]));
const report = {
  date: started.toISOString(),
  run: flags.run ? 'given' : 'tiny (k = 2, trained here)',
  backend: servers[0].backend,
  k: servers[0].k,
  cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
  loadAverage1m: { before: load0, after: loadavg()[0] },
  node: process.version,
  repeat,
  tokens,
  streamTokens,
  results,
  ratios: {
    exactVsUncached: {
      oneStream: ratio(1, 0, 'oneStream', 'tokensPerSecond'),
      concurrent: ratio(1, 0, 'concurrent', 'tokensPerSecond'),
    },
    cachedVsUncached: {
      oneStream: ratio(2, 0, 'oneStream', 'tokensPerSecond'),
      concurrent: ratio(2, 0, 'concurrent', 'tokensPerSecond'),
    },
    batchedVsUncached: {
      oneStream: ratio(3, 0, 'oneStream', 'tokensPerSecond'),
      concurrent: ratio(3, 0, 'concurrent', 'tokensPerSecond'),
    },
    batchedVsCached: {
      oneStream: ratio(3, 2, 'oneStream', 'tokensPerSecond'),
      concurrent: ratio(3, 2, 'concurrent', 'tokensPerSecond'),
      firstTokenP50: ratio(3, 2, 'concurrent', 'firstTokenP50Ms'),
      endP99: ratio(3, 2, 'concurrent', 'endP99Ms'),
    },
  },
};

const pad = (s, n) => String(s).padEnd(n);
const f = (x, d = 0) => x.toFixed(d);
console.log(
  `\n${pad('server', 10)}${pad('stride', 8)}${pad('per worker', 12)}${pad('1 stream tok/s', 16)}${pad(`${streams} streams tok/s`, 18)}${pad('first p50 ms', 14)}${pad('first p99 ms', 14)}${pad('end p50 ms', 12)}end p99 ms`,
);
for (const r of results) {
  const c = r.concurrent;
  console.log(
    `${pad(r.name, 10)}${pad(r.slideStride ?? 'C/4', 8)}${pad(r.requestsPerWorker, 12)}${pad(f(r.oneStream.tokensPerSecond, 1), 16)}${pad(f(c.tokensPerSecond, 1), 18)}${pad(f(c.firstTokenP50Ms), 14)}${pad(f(c.firstTokenP99Ms), 14)}${pad(f(c.endP50Ms), 12)}${f(c.endP99Ms)}`,
  );
}
const q = report.ratios;
const both = (r) => `${f(r.oneStream, 2)}× (1 stream), ${f(r.concurrent, 2)}× (${streams} streams)`;
console.log(
  `\nTokens/s, median of ${repeat} rounds' ratios: exact ÷ uncached ${both(q.exactVsUncached)}; cached ÷ uncached ${both(q.cachedVsUncached)}; batched ÷ uncached ${both(q.batchedVsUncached)}; batched ÷ cached ${both(q.batchedVsCached)}, first token p50 ${f(q.batchedVsCached.firstTokenP50, 2)}× and end p99 ${f(q.batchedVsCached.endP99, 2)}× the time.`,
);
console.log(
  `${report.cpus}, load average ${f(load0, 2)} before, ${f(report.loadAverage1m.after, 2)} after, ${report.backend}, k = ${report.k}, ${report.run}.`,
);
console.log(JSON.stringify(report));
if (flags.json) await writeFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
