#!/usr/bin/env node
// Generates the Results page's numbers and plots from the files tools/docs/collect-results.mjs
// copied out of a real run: docs/results/<name>/summary.md (tables) and
// docs/public/results/<name>/*.svg (plots, rendered with ECharts on the server). Nothing on the
// page is typed by hand, so it cannot disagree with the run.
//
//   node tools/docs/gen-results-page.mjs           # every docs/results/<name>/
//   node tools/docs/gen-results-page.mjs --check   # exit 1 if a generated file is out of date
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as echarts from 'echarts';
import { formatMarkdown } from './format-markdown.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'docs', 'results');

const COLORS = [
  '#2f6f73',
  '#e76f51',
  '#f4a261',
  '#8ab17d',
  '#9b5de5',
  '#e9c46a',
  '#00bbf9',
  '#f15bb5',
  '#577590',
  '#b5838d',
];

/** The same names `cbtm run` prints (see @cbtm/pipeline's methodLabel). */
function methodLabel(name) {
  const top = /^cbtm-top(\d+)$/.exec(name);
  if (top) return `c-BTM top-${top[1]}`;
  if (name === 'cbtm-all') return 'c-BTM all';
  if (name === 'random' || name === 'random-all') return 'random clusters (all)';
  if (name === 'random-top1') return 'random clusters (top-1)';
  return name;
}

const fmt = (n, d = 2) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const int = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : 'n/a');

function svg(option, width, height) {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({
    animation: false,
    color: COLORS,
    textStyle: { fontFamily: 'sans-serif' },
    ...option,
  });
  const out = chart.renderToSVGString();
  chart.dispose();
  return `${out}\n`;
}

function perplexityChart(results) {
  const names = Object.keys(results.methods);
  return svg(
    {
      title: {
        text: `Perplexity on ${results.corpus.name ?? 'the validation corpus'} (lower is better)`,
        left: 'center',
        textStyle: { fontSize: 14 },
      },
      grid: { left: 170, right: 70, top: 40, bottom: 44 },
      xAxis: { type: 'value', name: 'perplexity', nameLocation: 'middle', nameGap: 22 },
      yAxis: { type: 'category', data: names.map(methodLabel), inverse: true },
      series: [
        {
          type: 'bar',
          data: names.map((n, i) => ({
            value: Number(fmt(results.methods[n].perplexity)),
            itemStyle: { color: COLORS[i % COLORS.length] },
          })),
          label: { show: true, position: 'right', formatter: '{c}' },
        },
      ],
    },
    720,
    60 + 36 * names.length,
  );
}

function perDomainChart(results) {
  const names = Object.keys(results.methods);
  const domains = results.corpus.domains;
  return svg(
    {
      title: { text: 'Perplexity per domain', left: 'center', textStyle: { fontSize: 14 } },
      legend: { top: 26, data: names.map(methodLabel) },
      grid: { left: 60, right: 20, top: 80, bottom: 30 },
      xAxis: { type: 'category', data: domains },
      yAxis: { type: 'value', name: 'perplexity' },
      series: names.map((n) => ({
        name: methodLabel(n),
        type: 'bar',
        data: domains.map((d) => Number(fmt(results.methods[n].perDomain[d]?.perplexity))),
      })),
    },
    820,
    380,
  );
}

function lossChart(train, tokensPerStep) {
  const models = train.models.filter((m) => Array.isArray(m.history) && m.history.length > 0);
  // One legend entry, and one color, per group of models.
  const group = (name) =>
    name.startsWith('random-')
      ? ['random-cluster experts', '#b0b0b0', 1]
      : name === 'dense'
        ? ['dense', COLORS[0], 2.5]
        : name === 'seed'
          ? ['seed', COLORS[4], 1.5]
          : ['c-BTM experts', COLORS[1], 1.2];
  return svg(
    {
      title: {
        text: 'Training loss (nats per token)',
        left: 'center',
        textStyle: { fontSize: 14 },
      },
      legend: { top: 26 },
      grid: { left: 60, right: 30, top: 70, bottom: 44 },
      xAxis: { type: 'value', name: 'training tokens', nameLocation: 'middle', nameGap: 26 },
      yAxis: { type: 'value', name: 'loss', scale: true },
      series: models.map((m) => {
        const [name, color, width] = group(m.name);
        return {
          name,
          type: 'line',
          showSymbol: false,
          color,
          lineStyle: { width, color },
          z: name === 'dense' ? 3 : 2,
          data: m.history.map((h) => [h.step * tokensPerStep, Number(h.loss.toFixed(4))]),
        };
      }),
    },
    820,
    380,
  );
}

const pct = (a, b) => `${a > b ? '+' : ''}${fmt((100 * (a - b)) / b, 1)}%`;

/** Bullet points comparing the methods, computed from the results. */
function glance(results, train) {
  const m = results.methods;
  const out = [];
  const cbtm = Object.keys(m).filter((n) => n.startsWith('cbtm-'));
  const all = m['cbtm-all'];
  if (m.dense && cbtm.length > 0) {
    const best = cbtm.reduce((a, b) => (m[a].perplexity <= m[b].perplexity ? a : b));
    out.push(
      `- Best c-BTM setting, ${methodLabel(best)}, against the dense model: ${pct(m[best].perplexity, m.dense.perplexity)} perplexity.`,
    );
  }
  const random = m.random ?? m['random-all'];
  if (all && random) {
    out.push(
      `- c-BTM with all experts against the same number of experts on random clusters (same tokens): ${pct(all.perplexity, random.perplexity)}.`,
    );
  }
  if (all) {
    for (const n of cbtm.filter((x) => x !== 'cbtm-all')) {
      out.push(
        `- ${methodLabel(n)} against all experts: ${pct(m[n].perplexity, all.perplexity)}, running ${fmt(m[n].expertsPerDocument, 1)} instead of ${fmt(all.expertsPerDocument, 1)} experts per document.`,
      );
    }
  }
  if (train) {
    const expert = train.models.find((x) => x.name === 'expert-0');
    const dense = train.models.find((x) => x.name === 'dense');
    const seed = train.models.find((x) => x.name === 'seed');
    if (seed) {
      out.push(
        `- Every model starts from a shared seed model, trained ${int(seed.steps)} steps (${int(seed.tokens)} tokens) on everything.`,
      );
    }
    if (expert && dense) {
      out.push(
        `- Training steps: each expert ${int(expert.steps)} (${int(expert.tokens)} tokens), the dense model ${int(dense.steps)} (${int(dense.tokens)} tokens).`,
      );
    }
  }
  return out;
}

/** Markdown fragment (tables) and SVG plots for one collected run. */
export function renderResults(name) {
  const dir = join(RESULTS, name);
  const read = (f) =>
    existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null;
  const results = read('results.json');
  const run = read('run.json');
  const metrics = read('cluster-metrics.json');
  const train = read('train-results.json');
  if (!results || !run)
    throw new Error(`${dir} needs results.json and run.json (tools/docs/collect-results.mjs).`);
  const base = `/results/${name}`;
  const cfg = run.config ?? {};
  const plots = {
    'perplexity.svg': perplexityChart(results),
    'per-domain.svg': perDomainChart(results),
  };
  if (train)
    plots['training-loss.svg'] = lossChart(
      train,
      (cfg.train?.batchSize ?? 1) * (cfg.model?.contextLength ?? 1),
    );

  const dense = results.methods.dense;
  const lines = [
    `<!-- Generated by tools/docs/gen-results-page.mjs from docs/results/${name}/. Do not edit. -->`,
    '',
    '### The command',
    '',
    '```sh',
    run.command,
    '```',
    '',
    `It ran from ${run.createdAt} to ${run.finishedAt}${run.wallSeconds ? ` (${Math.max(1, Math.round(run.wallSeconds / 60))} min)` : ''}${run.machine ? ` on ${run.machine}` : ''}, with the tensor backend \`${results.backend}\`.`,
    '',
    '| setting | value |',
    '|---|---|',
    `| training corpus | \`${cfg.corpus?.train ?? 'demo corpus'}\` |`,
    `| evaluation corpus | ${results.corpus.name ?? 'n/a'}: ${int(results.corpus.documents)} documents, ${int(results.tokens)} tokens scored |`,
    `| clusters (experts) k | ${cfg.cluster?.k ?? 'n/a'} |`,
    `| embedder | ${cfg.embed?.embedder ?? 'tfidf'}, dimension ${cfg.embed?.dimension ?? 'n/a'} |`,
    `| tokenizer | byte-level BPE, ${int(cfg.tokenizer?.vocabSize)} ids |`,
    `| each model | ${cfg.model?.nLayer} layer(s), d ${cfg.model?.dModel}, ${cfg.model?.nHead} heads, context ${cfg.model?.contextLength}, ${cfg.model?.mlpRatio}× MLP |`,
    `| training tokens | ${int(cfg.train?.tokens)} for the experts together; the same for dense and for the random clusters |`,
    `| routing temperature T | ${results.temperature} |`,
    '',
    '### At a glance',
    '',
    ...glance(results, train),
    '',
    '### Perplexity',
    '',
    `![Perplexity per method](${base}/perplexity.svg)`,
    '',
    '| method | perplexity | vs dense | experts run per document |',
    '|---|--:|--:|--:|',
    ...Object.entries(results.methods).map(([n, m]) => {
      const vs =
        dense && n !== 'dense'
          ? `${m.perplexity > dense.perplexity ? '+' : ''}${fmt((100 * (m.perplexity - dense.perplexity)) / dense.perplexity, 1)}%`
          : '';
      return `| ${methodLabel(n)} | ${fmt(m.perplexity)} | ${vs} | ${fmt(m.expertsPerDocument, 1)} |`;
    }),
    '',
    '### Per domain',
    '',
    `![Perplexity per domain and method](${base}/per-domain.svg)`,
    '',
    `| domain | ${Object.keys(results.methods).map(methodLabel).join(' | ')} |`,
    `|---|${Object.keys(results.methods)
      .map(() => '--:')
      .join('|')}|`,
    ...results.corpus.domains.map(
      (d) =>
        `| ${d} | ${Object.values(results.methods)
          .map((m) => fmt(m.perDomain[d]?.perplexity))
          .join(' | ')} |`,
    ),
    '',
  ];
  if (metrics) {
    lines.push(
      '### Clusters',
      '',
      `Balanced k-means made ${metrics.k} clusters of ${metrics.sizes.join(' / ')} documents. Against the corpus's domain labels (never used to cluster): purity ${fmt(metrics.purity, 3)}, NMI ${fmt(metrics.nmi, 3)}.`,
      '',
    );
  }
  if (train) {
    const rows = train.models.map((m) => {
      const speeds = (m.history ?? [])
        .map((h) => h.tokensPerSecond)
        .filter((x) => Number.isFinite(x))
        .sort((a, b) => a - b);
      const median = speeds.length ? speeds[Math.floor(speeds.length / 2)] : null;
      return `| ${m.name} | ${int(m.steps)} | ${int(m.tokens)} | ${fmt(m.finalLoss, 3)} | ${fmt(m.valLoss, 3)} | ${median === null ? 'n/a' : int(Math.round(median))} |`;
    });
    lines.push(
      '### Training',
      '',
      `![Training loss of every model](${base}/training-loss.svg)`,
      '',
      '| model | steps | tokens | final training loss | held-out loss | median tokens/s |',
      '|---|--:|--:|--:|--:|--:|',
      ...rows,
      '',
    );
  }
  if (existsSync(join(ROOT, 'docs', 'public', 'results', name, 'report.html'))) {
    lines.push(
      `The run's own report, with the embedding map and every curve: <a href="${base}/report.html" target="_blank">report.html</a>.`,
      '',
    );
  }
  return { markdown: formatMarkdown(lines.join('\n'), join(dir, 'summary.md')), plots };
}

function main() {
  const check = process.argv.includes('--check');
  const stale = [];
  const names = existsSync(RESULTS)
    ? readdirSync(RESULTS, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
    : [];
  for (const name of names) {
    const { markdown, plots } = renderResults(name);
    const files = [[join(RESULTS, name, 'summary.md'), markdown]];
    for (const [f, content] of Object.entries(plots))
      files.push([join(ROOT, 'docs', 'public', 'results', name, f), content]);
    for (const [file, content] of files) {
      const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
      if (before === content) continue;
      if (check) stale.push(file);
      else {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
    }
  }
  if (stale.length > 0) {
    console.error(
      `Out of date (run node tools/docs/gen-results-page.mjs):\n  ${stale.join('\n  ')}`,
    );
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
