#!/usr/bin/env node
// Training throughput of the reference GPT on every available tensor backend, its model FLOP
// utilization against the same backend's matmul rate, and PyTorch on the same config, all in
// one run (the machine is shared: only ratios from one run are comparable).
//
//   npm run bench -w @cbtm/train [-- --json] [-- --steps 6] [-- --backends wasm,cpu] [-- --threads 2]
//                                [-- --no-torch] [-- --no-profile]
//
// --json prints one object: { config, backends: { <name>: { tokensPerSecond, mfu, matmulGflops,
// threads } }, pytorch: { tokensPerSecond } | null }. Each backend reports its faster thread count;
// MFU is model FLOP/s over threads × that backend's single-thread matmul GFLOP/s.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { GptModel, resolveGptConfig, selectBackend, trainLanguageModel } from '../dist/node.js';

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
const batchSize = 16;
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

function pytorch() {
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
    [script, '--json', '--steps', String(steps), '--threads', '2', '--batch', String(batchSize)],
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
  say(
    `pytorch ${out.torch} (${out.threads} threads) ${out.tokensPerSecond.toFixed(0).padStart(6)} tokens/s`,
  );
  return { tokensPerSecond: out.tokensPerSecond };
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
if (json)
  console.log(JSON.stringify({ config: { ...config, batchSize }, backends, pytorch: torch }));
