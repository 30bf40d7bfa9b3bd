#!/usr/bin/env node
// Collects the fidelity ablations into the docs: for each run listed in
// tools/fidelity/ablations.json it reads the run's own files (manifest config, eval/results.json,
// eval/ablation*.json, train-results.json and each model's train-state.json) and writes
// docs/fidelity-data/ablations.json plus the markdown table docs/fidelity-data/table.md.
// No number is typed by hand.
//
//   node tools/fidelity/collect.mjs [--spec tools/fidelity/ablations.json]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: { spec: { type: 'string', default: join(ROOT, 'tools/fidelity/ablations.json') } },
});
const spec = JSON.parse(readFileSync(values.spec, 'utf8'));
const read = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** Seconds a model trained, from its history: each entry's tokens over its tokens/s. */
function trainSeconds(dir) {
  const file = join(dir, 'train-state.json');
  if (!existsSync(file)) return null;
  const state = read(file);
  const batchTokens = state.hyperparameters.batchSize * state.config.contextLength;
  let prev = 0;
  let seconds = 0;
  for (const h of state.history) {
    if (h.tokensPerSecond > 0) seconds += ((h.step - prev) * batchTokens) / h.tokensPerSecond;
    prev = h.step;
  }
  return seconds;
}

const rows = [];
for (const entry of spec.rows) {
  const run = resolve(ROOT, entry.run);
  const manifest = read(join(run, 'manifest.json'));
  const c = manifest.config;
  const ablationFile = join(run, 'eval', `ablation${entry.tag ? `-${entry.tag}` : ''}.json`);
  const ablation = existsSync(ablationFile) ? read(ablationFile) : null;
  const results = read(join(run, 'eval', 'results.json'));
  const ppl = (name) => {
    const a = ablation?.rows.find((r) => r.name === name);
    if (a) return a.perplexity;
    return null;
  };
  const pick = (abl, res) => ppl(abl) ?? results.methods[res]?.perplexity ?? null;
  // A run without its own dense model names one with the same seed, data and budget: training
  // is deterministic, so that model is the one this run would have trained.
  const dense = entry.denseFrom
    ? read(join(resolve(ROOT, entry.denseFrom), 'eval', 'results.json')).methods.dense.perplexity
    : pick('dense', 'dense');
  const seedDir = c.train.seedFrom ?? join(run, 'seed');
  const seedState = existsSync(join(seedDir, 'train-state.json'))
    ? read(join(seedDir, 'train-state.json'))
    : null;
  const row = {
    id: entry.id,
    group: entry.group,
    label: entry.label,
    run: entry.run,
    corpus: results.corpus.name,
    tokensScored: ablation?.tokens ?? results.tokens,
    k: c.cluster.k,
    // A seed from another run trained whole batches past its budget: shown to 10k tokens.
    seedTokens: c.train.seedFrom
      ? Math.round((seedState?.tokens ?? 0) / 1e4) * 1e4
      : c.train.seedTokens,
    tokens: c.train.tokens,
    model: c.model,
    learningRate: c.train.learningRate,
    branchLearningRate: c.train.branchLearningRate ?? c.train.learningRate,
    branchWarmupSteps: c.train.branchWarmupSteps ?? c.train.warmupSteps,
    batchSize: c.train.batchSize,
    seedValLoss: seedState?.valLoss ?? null,
    dense,
    cbtmAll: pick(`token-all-T${c.eval.temperature}`, 'cbtm-all'),
    cbtmTop2: pick(`token-top2-T${c.eval.temperature}`, 'cbtm-top2'),
    cbtmTop1: pick(`token-top1-T${c.eval.temperature}`, 'cbtm-top1'),
    oracleAll: ppl('seqdoc-all'),
    oracleTop1: ppl('seqdoc-top1'),
    seq32All: ppl('seq32-all'),
    random: results.methods.random?.perplexity ?? null,
    trainSeconds: {
      seed: seedState ? trainSeconds(seedDir) : 0,
      experts: Array.from({ length: c.cluster.k }, (_, j) =>
        trainSeconds(join(run, 'experts', String(j))),
      ).reduce((a, b) => a + (b ?? 0), 0),
      dense: trainSeconds(join(run, 'dense')),
    },
    ablation: ablation ? ablation.rows : null,
  };
  rows.push(row);
}

const outDir = join(ROOT, 'docs/fidelity-data');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'ablations.json'), `${JSON.stringify({ rows }, null, 2)}\n`);

const pct = (x, d) => {
  if (x === null || d === null) return '';
  const v = (x / d - 1) * 100;
  return `${v > 0 ? '+' : ''}${v.toFixed(1)}%`;
};
const num = (x) => (x === null ? '' : x.toFixed(2));
const k = (n) => (n === 0 ? '0' : n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
const lines = [];
for (const group of [...new Set(rows.map((r) => r.group))]) {
  lines.push(`### ${group}`, '');
  lines.push(
    '| ablation | k | seed | after seed | branch lr | dense | c-BTM all | top-2 | top-1 | oracle (all) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows.filter((x) => x.group === group)) {
    lines.push(
      `| ${r.label} | ${r.k} | ${k(r.seedTokens)} | ${k(r.tokens)} | ${r.branchLearningRate}${r.branchWarmupSteps !== 20 ? ` (warm-up ${r.branchWarmupSteps})` : ''} | ${num(r.dense)} | ${num(r.cbtmAll)} (${pct(r.cbtmAll, r.dense)}) | ${num(r.cbtmTop2)} (${pct(r.cbtmTop2, r.dense)}) | ${num(r.cbtmTop1)} (${pct(r.cbtmTop1, r.dense)}) | ${r.oracleAll === null ? '' : `${num(r.oracleAll)} (${pct(r.oracleAll, r.dense)})`} |`,
    );
  }
  lines.push('');
}
writeFileSync(join(outDir, 'table.md'), `${lines.join('\n')}\n`);

// Routing ablations: every method of a run's ablation file, and each expert per domain; one table
// per file listed (e.g. the first 256 tokens of each document, and whole documents).
for (const [i, routing] of (spec.routing ?? []).entries()) {
  const file = join(
    resolve(ROOT, routing.run),
    'eval',
    `ablation${routing.tag ? `-${routing.tag}` : ''}.json`,
  );
  const a = read(file);
  writeFileSync(join(outDir, `routing-${i}.json`), `${JSON.stringify(a, null, 2)}\n`);
  const domains = Object.keys(a.rows[0].perDomain).sort();
  const out = [
    `${a.documents} documents, ${a.tokens.toLocaleString('en-US')} tokens scored (${a.maxTokensPerDocument === 'all' ? 'whole documents' : `the first ${a.maxTokensPerDocument} tokens of each document`}).`,
    '',
    `| method | perplexity | vs dense | ${domains.join(' | ')} |`,
    `|---|---|---|${domains.map(() => '---').join('|')}|`,
  ];
  const describe = (name) => {
    if (name === 'dense') return 'dense';
    let m = /^expert-(\d+)$/.exec(name);
    if (m) return `expert ${m[1]} alone`;
    m = /^token-(all|top\d)-T(.+)$/.exec(name);
    if (m) return `per-token prefix routing, ${m[1] === 'all' ? 'all experts' : m[1]}, T = ${m[2]}`;
    m = /^seq32-(all|top1)$/.exec(name);
    if (m)
      return `per-sequence routing on the first 32 tokens, ${m[1] === 'all' ? 'all experts' : m[1]}`;
    m = /^seqdoc-(all|top1)$/.exec(name);
    if (m) return `oracle: routed on the whole document, ${m[1] === 'all' ? 'all experts' : m[1]}`;
    return name;
  };
  for (const r of a.rows) {
    out.push(
      `| ${describe(r.name)} | ${r.perplexity.toFixed(2)} | ${r.name === 'dense' ? '' : `${r.vsDense > 0 ? '+' : ''}${(r.vsDense * 100).toFixed(1)}%`} | ${domains.map((d) => r.perDomain[d].toFixed(1)).join(' | ')} |`,
    );
  }
  writeFileSync(join(outDir, `routing-${i}.md`), `${out.join('\n')}\n`);
}

/**
 * Markdown table of a k × budget grid: one row per k and method (k = 1 is dense), each cell a
 * perplexity and its change against k = 1 at the same budget.
 */
function gridTable(points, ks, budgets, methodsFor) {
  const at = (kk, t) => points.find((p) => p.k === kk && p.tokens === t);
  const out = [
    `| k | method | ${budgets.map(k).join(' | ')} |`,
    `|---|---|${budgets.map(() => '---').join('|')}|`,
  ];
  for (const kk of ks) {
    for (const m of kk === 1 ? ['all'] : methodsFor) {
      if (kk > 1 && m !== 'all' && Number(m.slice(3)) >= kk) continue;
      const cells = budgets.map((t) => {
        const p = at(kk, t);
        const d = at(1, t);
        if (!p || p.perplexity[m] === undefined) return '';
        const v = p.perplexity[m];
        return kk === 1 || !d ? v.toFixed(2) : `${v.toFixed(2)} (${pct(v, d.perplexity.all)})`;
      });
      out.push(
        `| ${kk} | ${kk === 1 ? 'dense' : m === 'all' ? 'c-BTM all' : `c-BTM ${m}`} | ${cells.join(' | ')} |`,
      );
    }
  }
  return out;
}

// Grid points gathered from several sweep folders (a grid split across machines or runs). Each
// point is read from its own sweep-results.json; the seed model it branched from is read from the
// point run's manifest (the checksum of the seed's files in its training stage config), so points
// are only put side by side when they share a seed. A point found twice must agree exactly.
function gatherPoints(sweeps) {
  const points = [];
  for (const sweep of sweeps) {
    const dir = resolve(ROOT, sweep);
    const r = read(join(dir, 'sweep-results.json'));
    for (const p of r.points) {
      const manifest = read(join(dir, p.run, 'manifest.json'));
      const seedFrom = manifest.stages.experts?.config?.seedFrom ?? null;
      const point = {
        ...p,
        sweep,
        seedTokens: r.seed?.tokens ?? 0,
        seedFrom,
        validation: r.validation,
      };
      const twin = points.find(
        (q) => q.k === p.k && q.tokens === p.tokens && q.seedFrom === seedFrom,
      );
      if (twin) {
        if (JSON.stringify(twin.perplexity) !== JSON.stringify(p.perplexity)) {
          throw new Error(
            `${sweep}/${p.run} and ${twin.sweep}/${twin.run} trained the same point but disagree.`,
          );
        }
        twin.reproducedBy = [...(twin.reproducedBy ?? []), `${sweep}/${p.run}`];
        continue;
      }
      points.push(point);
    }
  }
  return points;
}

// Sweeps whose seed grows with the budget: for each budget, the points of every k and the k = 1
// (dense) point that branched from the same seed.
if (spec.scaledSeed) {
  const ks = spec.scaledSeed.k;
  const out = [
    '| seed | after seed | k | dense (k = 1) | c-BTM all | top-2 | top-1 |',
    '|---|---|---|---|---|---|---|',
  ];
  const rowsOut = [];
  const figurePoints = [];
  for (const item of spec.scaledSeed.budgets) {
    const points = gatherPoints(item.sweeps).filter((x) => x.tokens === item.tokens);
    const d = points.find((x) => x.k === 1);
    if (!d) throw new Error(`no k = 1 point at ${item.tokens} in ${item.sweeps.join(', ')}.`);
    figurePoints.push(d);
    for (const kk of ks) {
      const p = points.find((x) => x.k === kk);
      if (!p) throw new Error(`no k = ${kk} point at ${item.tokens} in ${item.sweeps.join(', ')}.`);
      if (p.seedFrom !== d.seedFrom)
        throw new Error(`k = ${kk} at ${item.tokens} branched from another seed than its dense.`);
      const dense = d.perplexity.all;
      const cell = (m) =>
        p.perplexity[m] === undefined || (m !== 'all' && Number(m.slice(3)) >= kk)
          ? ''
          : `${p.perplexity[m].toFixed(2)} (${pct(p.perplexity[m], dense)})`;
      out.push(
        `| ${k(Math.round(p.seedTokens / 1e4) * 1e4)} | ${k(item.tokens)} | ${kk} | ${dense.toFixed(2)} | ${cell('all')} | ${cell('top2')} | ${cell('top1')} |`,
      );
      rowsOut.push({
        sweep: p.sweep,
        k: kk,
        tokens: item.tokens,
        seedTokens: p.seedTokens,
        dense,
        perplexity: p.perplexity,
      });
      figurePoints.push(p);
    }
  }
  // The paper-style figure of these points: one line per k, each budget on its own seed.
  const first = read(
    join(resolve(ROOT, spec.scaledSeed.budgets[0].sweeps[0]), 'sweep-results.json'),
  );
  const { renderSweepSvg } = await import('@cbtm/pipeline');
  const figure = {
    ...first,
    grid: { ...first.grid, k: [1, ...ks], tokens: spec.scaledSeed.budgets.map((b) => b.tokens) },
    seed: null,
    points: figurePoints.map(
      ({ sweep, seedTokens, seedFrom, validation, reproducedBy, ...p }) => p,
    ),
  };
  mkdirSync(join(ROOT, 'docs/public/fidelity'), { recursive: true });
  writeFileSync(
    join(ROOT, 'docs/public/fidelity/scaled-seed.svg'),
    `${renderSweepSvg(figure, 'all')}\n`,
  );
  writeFileSync(join(outDir, 'scaled-seed.json'), `${JSON.stringify(rowsOut, null, 2)}\n`);
  writeFileSync(join(outDir, 'scaled-seed.md'), `${out.join('\n')}\n`);
}

// A k × budget grid from one seed, gathered from several sweep folders (e.g. points trained in
// parallel on another machine): a table of c-BTM against k = 1, and the sweep figure.
for (const grid of spec.grids ?? []) {
  const points = gatherPoints(grid.sweeps);
  const seeds = new Set(points.map((p) => p.seedFrom));
  if (seeds.size !== 1)
    throw new Error(`grid ${grid.id}: its points branched from ${seeds.size} seeds.`);
  const budgets = [...new Set(points.map((p) => p.tokens))].sort((a, b) => a - b);
  const gridKs = [...new Set(points.map((p) => p.k))].sort((a, b) => a - b);
  const out = gridTable(points, gridKs, budgets, ['all', 'top2', 'top1']);
  const reproduced = points.filter((p) => p.reproducedBy);
  if (reproduced.length > 0) {
    out.push(
      '',
      `Trained twice, on two machines, with identical perplexities to the last digit: ${reproduced.map((p) => `k = ${p.k} at ${k(p.tokens)}`).join(', ')}.`,
    );
  }
  writeFileSync(join(outDir, `grid-${grid.id}.md`), `${out.join('\n')}\n`);
  const first = read(join(resolve(ROOT, grid.sweeps[0]), 'sweep-results.json'));
  const merged = {
    ...first,
    grid: { ...first.grid, k: gridKs, tokens: budgets },
    points: points.map(({ sweep, seedTokens, seedFrom, validation, reproducedBy, ...p }) => ({
      ...p,
      run: `${sweep}/${p.run}`,
    })),
  };
  writeFileSync(join(outDir, `grid-${grid.id}.json`), `${JSON.stringify(merged, null, 2)}\n`);
  const { renderSweepSvg } = await import('@cbtm/pipeline');
  const pub = join(ROOT, 'docs/public/fidelity');
  mkdirSync(pub, { recursive: true });
  writeFileSync(join(pub, `grid-${grid.id}.svg`), `${renderSweepSvg(merged, 'all')}\n`);
}

// The scaling sweep: its results file and figure, and a table of c-BTM against k = 1 (dense).
if (spec.sweep) {
  const dir = resolve(ROOT, spec.sweep);
  const r = read(join(dir, 'sweep-results.json'));
  writeFileSync(join(outDir, 'sweep-results.json'), `${JSON.stringify(r, null, 2)}\n`);
  const pub = join(ROOT, 'docs/public/fidelity');
  mkdirSync(pub, { recursive: true });
  writeFileSync(join(pub, 'sweep-figure.svg'), readFileSync(join(dir, 'sweep-figure.svg')));
  const budgets = r.grid.tokens.filter((t) => r.points.some((p) => p.tokens === t));
  const out = gridTable(
    r.points,
    r.grid.k,
    budgets,
    r.grid.topK.map((x) => (x === 'all' ? 'all' : `top${x}`)),
  );
  const at = (kk, t) => r.points.find((p) => p.k === kk && p.tokens === t);
  out.push(
    '',
    'Training time of each grid point (wall seconds of its training stage, and tokens per second over it):',
    '',
    `| k | ${budgets.map(k).join(' | ')} |`,
    `|---|${budgets.map(() => '---').join('|')}|`,
  );
  if (r.seed?.training) {
    const t = r.seed.training;
    out.push(
      `| seed (${k(Math.round(r.seed.tokens / 1e4) * 1e4)} tokens, once) | ${budgets.map((_, i) => (i === 0 ? `${Math.round(t.seconds)} s, ${Math.round(t.tokensPerSecond)} tokens/s` : '')).join(' | ')} |`,
    );
  }
  for (const kk of r.grid.k) {
    const cells = budgets.map((t) => {
      const p = at(kk, t);
      return p?.training
        ? `${Math.round(p.training.seconds)} s, ${Math.round(p.training.tokensPerSecond)} tokens/s`
        : '';
    });
    out.push(`| ${kk} | ${cells.join(' | ')} |`);
  }
  writeFileSync(join(outDir, 'sweep.md'), `${out.join('\n')}\n`);
}
console.log(`wrote ${rows.length} rows to ${outDir}`);
