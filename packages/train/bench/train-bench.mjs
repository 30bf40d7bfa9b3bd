#!/usr/bin/env node
// Training throughput of the reference GPT on every available tensor backend, its model FLOP
// utilization against the same backend's matmul rate, and PyTorch on the same config, all in
// one run (the machine is shared: only ratios from one run are comparable).
//
//   npm run bench -w @cbtm/train [-- --json] [-- --steps 6] [-- --backends wasm,cpu] [-- --threads 2]
//                                [-- --no-torch] [-- --no-profile] [-- --no-pool] [-- --pool-steps 20]
//                                [-- --batches 2,4,8,16] [-- --batch 16] [-- --ideas]
//
// --json prints one object: { config, backends: { <name>: { tokensPerSecond, mfu, matmulGflops,
// threads } }, pytorch: { tokensPerSecond, torch, build } | null, pool: { ... } | null,
// batches: [...] | null, ideas: {...} | null }. Each backend reports its faster thread count; MFU is model FLOP/s over
// threads × that backend's single-thread matmul GFLOP/s.
//
// The pool line is the real c-BTM job: k = 4 experts plus the dense model, each trained for
// --pool-steps steps by `trainExperts` (one worker process per core, wasm), wall time from the
// call to its return (worker start, data, checkpoint at the end included), against PyTorch
// training the same five models one after another with 2 threads (model creation included).
// --batches measures per-token throughput at small batches (compute matched by steps gives each
// expert batch/k rows), wasm and PyTorch side by side.
// --ideas measures ideas before anyone builds them: k experts' products as one grouped product,
// the AdamW step's share of a training step, and the share of a step spent outside kernels.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoCorpusPaths, readCorpus, writeFileAtomic } from '@cbtm/core/node';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdamW,
  GptModel,
  resolveGptConfig,
  selectBackend,
  trainBpeTokenizer,
  trainExperts,
  trainLanguageModel,
} from '../dist/node.js';

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const json = flag('json');
const steps = Number(option('steps', '6'));
const say = (...xs) => {
  if (!json) console.log(...xs);
};

const config = resolveGptConfig({
  vocabSize: 4096,
  nLayer: 2,
  dModel: 128,
  nHead: 4,
  contextLength: 128,
  mlpRatio: 4,
});
const batchSize = Number(option('batch', '16'));
const tokensPerStep = batchSize * config.contextLength;
const cores = Number(option('threads', String(availableParallelism())));

/** Token ids pass through as-is: documents are pre-tokenized random ids, named by index. */
function syntheticData(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  const docs = Array.from({ length: 64 }, () =>
    Int32Array.from({ length: 1000 }, () => next() % (config.vocabSize - 1)),
  );
  const tokenizer = {
    vocabSize: config.vocabSize,
    eosId: config.vocabSize - 1,
    encode: (text) => docs[Number(text)],
  };
  return { tokenizer, data: () => docs.map((_, i) => String(i)) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Best-of-n GFLOP/s of the model's two most common products on the active backend. */
function matmulGflops() {
  let best = 0;
  for (const [m, k, n] of [
    [2048, 128, 512],
    [2048, 128, 4096],
  ]) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    tf.matMul(a, b).dispose();
    const reps = n > 1000 ? 3 : 8;
    for (let r = 0; r < reps; r++) {
      // A fresh right operand each time, as in training (the wasm kernel packs it per call).
      const bb = tf.add(b, 0);
      const t0 = performance.now();
      const c = tf.matMul(a, bb);
      c.dataSync();
      const ms = performance.now() - t0;
      c.dispose();
      bb.dispose();
      best = Math.max(best, (2 * m * k * n) / ms / 1e6);
    }
    a.dispose();
    b.dispose();
  }
  return best;
}

async function profileStep(model, data, tokenizer) {
  const byKernel = new Map();
  const info = await tf.profile(async () => {
    await trainLanguageModel({
      model,
      data,
      tokenizer,
      steps: 1,
      batchSize,
      shuffleBuffer: 16,
      warmupSteps: 0,
    });
  });
  for (const k of info.kernels) {
    // Composite ops (fused matmul, custom-gradient ops) contain the kernels they run.
    if (k.name === 'forward' || k.name.endsWith('__op')) continue;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs;
    e.calls += 1;
    byKernel.set(k.name, e);
  }
  const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
  return { total, rows: [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12) };
}

async function trainRate(name, threads, data, tokenizer) {
  const model = await GptModel.create(config, { seed: 1 });
  // The cpu backend takes about a minute a step: one step, warm-up included, gives its order.
  const n = name === 'cpu' ? 0 : steps;
  const r = await trainLanguageModel({
    model,
    data,
    tokenizer,
    steps: n + 1,
    batchSize,
    logEvery: 1,
    shuffleBuffer: 16,
    warmupSteps: 0,
    threads,
  });
  const timed = n === 0 ? r.history : r.history.slice(1);
  return { model, tokensPerSecond: median(timed.map((h) => h.tokensPerSecond)) };
}

async function benchBackend(name) {
  try {
    await selectBackend(name, { log: () => {} });
  } catch {
    return null;
  }
  const { tokenizer, data } = syntheticData(1);
  const before = matmulGflops();
  // One thread per step, and (on wasm, where wasm threads cannot start under Node) one worker
  // thread per extra core sharing each batch: the configuration PyTorch's 2 threads compare to.
  const threadCounts = name === 'wasm' && cores > 1 ? [1, cores] : [1];
  const runs = [];
  for (const threads of threadCounts)
    runs.push({ threads, ...(await trainRate(name, threads, data, tokenizer)) });
  // The matmul rate is measured before and after training; the higher one is the peak.
  const gflops = Math.max(before, matmulGflops());
  let best;
  for (const { threads, model, tokensPerSecond } of runs) {
    const mfu = (tokensPerSecond * model.flopsPerToken()) / (threads * gflops * 1e9);
    say(
      `${`${name}${threads > 1 ? ` ×${threads} threads` : ''}`.padEnd(20)} ${tokensPerSecond.toFixed(0).padStart(6)} tokens/s` +
        `  ${((1000 * tokensPerStep) / tokensPerSecond).toFixed(0).padStart(6)} ms/step  matmul ${gflops.toFixed(1)} GFLOP/s per thread  MFU ${(100 * mfu).toFixed(1)}%`,
    );
    if (threads === 1 && !json && name !== 'cpu' && !flag('no-profile')) {
      const p = await profileStep(model, data, tokenizer);
      say(`  where one step's kernel time goes (${p.total.toFixed(0)} ms in kernels, tf.profile):`);
      for (const [k, e] of p.rows) {
        say(
          `    ${k.padEnd(28)} ${e.ms.toFixed(1).padStart(7)} ms  ${((100 * e.ms) / p.total).toFixed(0).padStart(3)}%  ×${e.calls}`,
        );
      }
    }
    model.dispose();
    if (!best || tokensPerSecond > best.tokensPerSecond)
      best = { tokensPerSecond, mfu, matmulGflops: gflops, threads };
  }
  return best;
}

function pytorch(extra = [], batch = batchSize) {
  if (flag('no-torch')) return null;
  const script = join(
    dirname(fileURLToPath(import.meta.url)),
    '../../../tools/train/torch_bench.py',
  );
  const python = '/usr/bin/python3';
  if (!existsSync(python) || !existsSync(script)) return null;
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const run = spawnSync(
    python,
    [
      script,
      '--json',
      '--steps',
      String(steps),
      '--threads',
      '2',
      '--batch',
      String(batch),
      ...extra,
    ],
    {
      encoding: 'utf8',
      timeout: 600_000,
    },
  );
  if (run.status !== 0) {
    say(`pytorch: failed (${(run.stderr || '').trim().split('\n').at(-1)})`);
    return null;
  }
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1));
  if (extra.length === 0 && batch === batchSize) {
    say(
      `pytorch ${out.torch} (${out.threads} threads) ${out.tokensPerSecond.toFixed(0).padStart(6)} tokens/s   [${out.build}]`,
    );
  }
  return out;
}

/** Median of n calls of a measurement that may be unavailable (null). */
function medianOf(n, measure) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const r = measure();
    if (r) xs.push(r.tokensPerSecond);
  }
  return xs.length ? median(xs) : null;
}

/**
 * A temporary run for the pool line: a BPE tokenizer of the reference vocabulary and five
 * shards cut from the built-in demo corpus.
 */
async function poolFixture(dir) {
  const docs = [];
  for await (const doc of readCorpus(demoCorpusPaths().train)) docs.push(doc);
  const tokenizer = await trainBpeTokenizer(docs, {
    vocabSize: config.vocabSize,
    sampleBytes: 1_000_000,
  });
  const tokenizerPath = join(dir, 'tokenizer.json');
  await tokenizer.save(tokenizerPath);
  const shards = [];
  for (let j = 0; j < 4; j++) {
    const file = join(dir, `shard-${j}.jsonl`);
    const lines = docs.filter((_, i) => i % 4 === j).map((d) => JSON.stringify(d));
    await writeFileAtomic(file, `${lines.join('\n')}\n`);
    shards.push(file);
  }
  return { tokenizerPath, shards };
}

/** k = 4 experts plus the dense model through trainExperts on every core; tokens/s of the pool. */
async function poolRate() {
  const poolSteps = Number(option('pool-steps', '20'));
  const dir = await mkdtemp(join(tmpdir(), 'cbtm-pool-bench-'));
  try {
    const { tokenizerPath, shards } = await poolFixture(dir);
    const tokens = poolSteps * tokensPerStep;
    const tasks = [
      ...shards.map((s, j) => ({
        name: `expert-${j}`,
        dir: join(dir, `e${j}`),
        data: [s],
        tokens,
      })),
      { name: 'dense', dir: join(dir, 'dense'), data: shards, tokens },
    ];
    const workers = Math.min(cores, tasks.length);
    const t0 = performance.now();
    await trainExperts(tasks, {
      tokenizer: tokenizerPath,
      modelConfig: config,
      train: { batchSize, warmupSteps: 0, evalEvery: 0, evalTokens: 2048, checkpointEvery: 0 },
      workers,
      backend: 'wasm',
      log: () => {},
    });
    const seconds = (performance.now() - t0) / 1000;
    return {
      tokensPerSecond: (tasks.length * tokens) / seconds,
      seconds,
      models: tasks.length,
      workers,
      steps: poolSteps,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

say(
  `reference GPT: ${config.nLayer} layers, d ${config.dModel}, ${config.nHead} heads, ctx ${config.contextLength}, vocab ${config.vocabSize}, batch ${batchSize}`,
);
const requested = option('backends', 'tensorflow-gpu,tensorflow,wasm,cpu').split(',');
const backends = {};
// The machine is shared: PyTorch runs right before and right after the wasm runs, and the
// comparison uses the mean of the two.
const torchRuns = [pytorch()];
for (const name of requested) {
  const r = await benchBackend(name);
  if (r) backends[name] = r;
  else say(`${name.padEnd(20)} not available`);
  if (name === 'wasm' && torchRuns[0]) torchRuns.push(pytorch());
}
const measured = torchRuns.filter(Boolean);
const torch = measured.length
  ? { tokensPerSecond: measured.reduce((a, r) => a + r.tokensPerSecond, 0) / measured.length }
  : null;
if (torch) {
  for (const [name, r] of Object.entries(backends)) {
    say(
      `${name} (${r.threads} thread${r.threads > 1 ? 's' : ''}): ${(r.tokensPerSecond / torch.tokensPerSecond).toFixed(2)}× PyTorch's tokens/s`,
    );
  }
}

let pool = null;
if (!flag('no-pool')) {
  pool = await poolRate();
  const poolSteps = pool.steps;
  const torchPool = pytorch(['--models', String(pool.models), '--steps', String(poolSteps)]);
  say(
    `pool: ${pool.models} models (k = 4 + dense), ${poolSteps} steps each, ${pool.workers} workers   ${pool.tokensPerSecond.toFixed(0).padStart(6)} tokens/s  (${pool.seconds.toFixed(1)} s)`,
  );
  if (torchPool) {
    say(
      `pytorch, the same ${pool.models} models one after another (2 threads)  ${torchPool.tokensPerSecond.toFixed(0).padStart(6)} tokens/s  → pool ${(pool.tokensPerSecond / torchPool.tokensPerSecond).toFixed(2)}× PyTorch`,
    );
    pool = { ...pool, pytorchTokensPerSecond: torchPool.tokensPerSecond };
  }
}

let batches = null;
const batchList = option('batches', '');
if (batchList !== '' && backends.wasm) {
  await selectBackend('wasm', { log: () => {} });
  const { tokenizer, data } = syntheticData(1);
  batches = [];
  say('small batches (tokens/s per model, 1 thread wasm vs PyTorch 2 threads):');
  for (const b of batchList.split(',').map(Number)) {
    const model = await GptModel.create(config, { seed: 1 });
    const r = await trainLanguageModel({
      model,
      data,
      tokenizer,
      steps: steps + 1,
      batchSize: b,
      logEvery: 1,
      shuffleBuffer: 16,
      warmupSteps: 0,
    });
    model.dispose();
    const wasm = median(r.history.slice(1).map((h) => h.tokensPerSecond));
    const torchB = medianOf(1, () => pytorch([], b));
    batches.push({ batchSize: b, wasm, pytorch: torchB });
    say(
      `  batch ${String(b).padStart(2)}  wasm ${wasm.toFixed(0).padStart(6)}  pytorch ${torchB === null ? '   n/a' : torchB.toFixed(0).padStart(6)}${torchB ? `  ${(wasm / torchB).toFixed(2)}×` : ''}`,
    );
  }
}

/**
 * The issue's ideas, measured on wasm with one thread (`--ideas`):
 * - grouped products: k experts' products of one layer as one batched product of their stacked
 *   weights, against k separate products, for each product shape of the model at batch/k rows
 *   per expert (compute matched by steps), forward only;
 * - AdamW: one optimizer step over the model's weights, as a share of a training step;
 * - outside kernels: a step's wall time minus its kernel time (tf.profile), the most that fewer
 *   tensor allocations (or any other JS-side saving) could remove.
 */
async function ideas(k = 4) {
  await selectBackend('wasm', { log: () => {} });
  const { tokenizer, data } = syntheticData(1);
  const rows = (batchSize / k) * config.contextLength;
  const d = config.dModel;
  const shapes = [
    ['qkv', d, 3 * d],
    ['attention out', d, d],
    ['mlp in', d, config.mlpRatio * d],
    ['mlp out', config.mlpRatio * d, d],
    ['tied output', d, config.vocabSize],
  ];
  const time = (fn, reps = 7) => {
    fn();
    const xs = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      fn();
      xs.push(performance.now() - t0);
    }
    return median(xs);
  };
  const grouped = [];
  for (const [name, K, N] of shapes) {
    const xs = Array.from({ length: k }, () => tf.randomNormal([rows, K]));
    const ws = Array.from({ length: k }, () => tf.randomNormal([K, N]));
    const x3 = tf.stack(xs);
    const w3 = tf.stack(ws);
    const separate = time(() => {
      for (let j = 0; j < k; j++) {
        const y = tf.matMul(xs[j], ws[j]);
        y.dataSync();
        y.dispose();
      }
    });
    const together = time(() => {
      const y = tf.matMul(x3, w3);
      y.dataSync();
      y.dispose();
    });
    tf.dispose([...xs, ...ws, x3, w3]);
    grouped.push({
      product: `${rows}×${K}·${K}×${N}`,
      name,
      separateMs: separate,
      groupedMs: together,
    });
  }
  const sepMs = grouped.reduce((a, g) => a + g.separateMs, 0);
  const grpMs = grouped.reduce((a, g) => a + g.groupedMs, 0);

  const model = await GptModel.create(config, { seed: 1 });
  const weights = [...model.getWeights().values()];
  const grads = weights.map((w) => w.map((_, i) => Math.sin(i) * 1e-3));
  const opt = new AdamW(weights.map((w) => w.length));
  const decay = weights.map(() => true);
  const adamMs = time(() => opt.step(weights, grads, decay, 1e-3));
  const r = await trainLanguageModel({
    model,
    data,
    tokenizer,
    steps: steps + 1,
    batchSize,
    logEvery: 1,
    shuffleBuffer: 16,
    warmupSteps: 0,
  });
  const stepMs = (1000 * tokensPerStep) / median(r.history.slice(1).map((h) => h.tokensPerSecond));
  const kernelMs = (await profileStep(model, data, tokenizer)).total;
  model.dispose();
  const out = {
    experts: k,
    rowsPerExpert: rows,
    grouped,
    groupedSpeedup: sepMs / grpMs,
    parameters: weights.reduce((a, w) => a + w.length, 0),
    adamwMs: adamMs,
    stepMs,
    adamwShare: adamMs / stepMs,
    kernelMs,
    outsideKernelsShare: Math.max(0, stepMs - kernelMs) / stepMs,
  };
  say(`ideas (wasm, 1 thread, batch ${batchSize}; k = ${k} experts of ${rows} rows each):`);
  for (const g of grouped) {
    say(
      `  ${g.name.padEnd(14)} ${g.product.padEnd(20)} ${k} separate ${g.separateMs.toFixed(1).padStart(6)} ms  grouped ${g.groupedMs.toFixed(1).padStart(6)} ms  ${(g.separateMs / g.groupedMs).toFixed(2)}×`,
    );
  }
  say(
    `  grouped products, all shapes: ${out.groupedSpeedup.toFixed(2)}× on one core (the pool runs the experts on every core instead)`,
  );
  say(
    `  AdamW step over ${out.parameters} weights: ${adamMs.toFixed(1)} ms = ${(100 * out.adamwShare).toFixed(1)}% of a ${stepMs.toFixed(0)} ms training step`,
  );
  say(
    `  outside kernels: ${Math.max(0, stepMs - kernelMs).toFixed(0)} ms of the step (${(100 * out.outsideKernelsShare).toFixed(1)}%; kernels ${kernelMs.toFixed(0)} ms by tf.profile)`,
  );
  return out;
}

const ideasResult = flag('ideas') ? await ideas() : null;

if (json)
  console.log(
    JSON.stringify({
      config: { ...config, batchSize },
      backends,
      pytorch: torch,
      pool,
      batches,
      ideas: ideasResult,
    }),
  );
