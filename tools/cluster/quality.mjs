#!/usr/bin/env node
// Cluster quality on a labelled corpus, for the @cbtm/cluster README:
//   ours: @cbtm/embed's default tf-idf → SVD(100) embedder, then balanced (and unbalanced)
//         k-means from @cbtm/cluster, NMI against the `domain` labels, over several seeds;
//   scikit-learn: KMeans on the same embeddings, and its own tf-idf → SVD → KMeans pipeline
//         (tools/cluster/sklearn-quality.py, run with Debian's /usr/bin/python3).
//
// Build first: (cd packages/cluster && npx tsc -b) && (cd packages/embed && npx tsc -b)
// Usage: node tools/cluster/quality.mjs [corpus.jsonl.gz] [--k 7] [--seeds 5] [--no-python]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  balancedAssignment,
  contingencyTable,
  fitBalancedKMeans,
  normalizedMutualInfo,
  purity,
} from '@cbtm/cluster';
import { readCorpus } from '@cbtm/core/node';
import { TfidfSvdEmbedder } from '@cbtm/embed/node';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const corpusPath = resolve(
  args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ??
    join(here, '../../../shared/data/corpus-v1/train.jsonl.gz'),
);
const k = Number(flag('--k', 7));
const seeds = Number(flag('--seeds', 5));
const python = '/usr/bin/python3';
const usePython = !args.includes('--no-python') && existsSync(python);

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (x) => x.toFixed(3);

const docs = await readCorpus(corpusPath).toArray();
const labels = docs.map((d) => String(d.domain));
console.error(`${docs.length} documents from ${corpusPath}`);
let t = performance.now();
const embedder = await TfidfSvdEmbedder.fit(docs);
const d = embedder.dimension;
const points = new Float32Array(docs.length * d);
let i = 0;
for await (const v of embedder.embed(docs)) points.set(v, d * i++);
console.error(`embedded (d=${d}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const rows = [];
const variants = [
  { label: 'balanced k-means (exact, the default)', balance: true, balanceSlack: 0 },
  { label: 'balanced k-means, balanceSlack 0.05', balance: true, balanceSlack: 0.05 },
  { label: 'balanced k-means, balanceSlack 0.1', balance: true, balanceSlack: 0.1 },
  { label: 'balanced k-means, balanceSlack 0.2', balance: true, balanceSlack: 0.2 },
  { label: 'unbalanced k-means', balance: false, balanceSlack: 0 },
];
for (const { label, balance, balanceSlack } of variants) {
  const nmis = [];
  const purities = [];
  const ratios = [];
  let seconds = 0;
  for (let seed = 0; seed < seeds; seed++) {
    t = performance.now();
    const res = await fitBalancedKMeans(points, docs.length, d, {
      k,
      seed,
      balance,
      balanceSlack,
    });
    seconds += (performance.now() - t) / 1000;
    const table = contingencyTable(labels, res.assignments, k);
    nmis.push(normalizedMutualInfo(table));
    purities.push(purity(table));
    ratios.push(Math.max(...res.sizes) / Math.min(...res.sizes));
  }
  rows.push({
    method: `cbtm tf-idf+SVD → ${label} (1 init)`,
    nmi: nmis,
    purity: mean(purities),
    ratio: Math.max(...ratios),
    seconds: seconds / seeds,
  });
}

// Context: the best a balanced clustering can score here. With one cluster per domain, the
// balanced assignment that keeps the most documents with their own domain's cluster
// (0/1 costs) is a reference point for how much the size constraint alone costs.
{
  const names = [...new Set(labels)].sort();
  if (names.length === k) {
    const costs = new Float64Array(docs.length * k);
    labels.forEach((l, q) => {
      for (let j = 0; j < k; j++) costs[q * k + j] = names[j] === l ? 0 : 1;
    });
    const oracle = balancedAssignment(costs, docs.length, k);
    const table = contingencyTable(labels, oracle.assignments, k);
    rows.push({
      method: 'balanced oracle: true labels, best balanced split (reference)',
      nmi: [normalizedMutualInfo(table)],
      purity: purity(table),
      ratio: Math.max(...oracle.sizes) / Math.min(...oracle.sizes),
      seconds: 0,
    });
  }
}

if (usePython) {
  const dir = await mkdtemp(join(tmpdir(), 'cbtm-quality-'));
  try {
    await writeFile(join(dir, 'x.f32'), Buffer.from(points.buffer));
    await writeFile(join(dir, 'labels.json'), JSON.stringify({ d, labels }));
    const script = join(here, 'sklearn-quality.py');
    const onOurs = JSON.parse(
      execFileSync(
        python,
        [
          script,
          '--embeddings',
          join(dir, 'x.f32'),
          '--labels',
          join(dir, 'labels.json'),
          '--k',
          String(k),
          '--seeds',
          String(seeds),
        ],
        { encoding: 'utf8' },
      ),
    );
    for (const r of onOurs.kmeans_on_given_embeddings) {
      rows.push({
        method: `cbtm tf-idf+SVD → scikit-learn KMeans (n_init=${r.n_init})`,
        nmi: r.nmi,
        seconds: r.seconds,
      });
    }
    const full = JSON.parse(
      execFileSync(python, [script, corpusPath, '--k', String(k), '--seeds', String(seeds)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    for (const r of full.pipeline) {
      rows.push({
        method: `scikit-learn tf-idf → SVD(100) → KMeans (n_init=${r.n_init})`,
        nmi: r.nmi,
        seconds: r.seconds,
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`\nNMI against \`domain\`, k=${k}, ${docs.length} documents, seeds 0..${seeds - 1}\n`);
console.log('| method | NMI mean | min | max | purity | max/min size | fit s |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.method} | ${fmt(mean(r.nmi))} | ${fmt(Math.min(...r.nmi))} | ${fmt(Math.max(...r.nmi))} | ${r.purity === undefined ? '' : fmt(r.purity)} | ${r.ratio === undefined ? '' : r.ratio.toFixed(2)} | ${r.seconds.toFixed(2)} |`,
  );
}
