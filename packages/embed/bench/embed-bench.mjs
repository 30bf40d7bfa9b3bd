// Benchmark of @cbtm/embed against scikit-learn, measured in the same run.
//
//   npm run bench -w @cbtm/embed [-- <corpus.jsonl.gz>]
//
// Prints MB/s and docs/s for tf-idf fit and transform, the SVD fit time, the same numbers for
// scikit-learn when /usr/bin/python3 has it, and the cost of incremental-prefix routing against
// re-embedding every prefix (what the c-BTM reference does). All times are CPU seconds.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoCorpusPath, readCorpus } from '@cbtm/core/node';
import { cbtmTfidfOptions, TfidfSvdEmbedder, TfidfVectorizer, TruncatedSvd } from '../dist/node.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const defaultCorpus = resolve(repo, '..', 'shared', 'data', 'corpus-v1', 'train.jsonl.gz');
const corpus = process.argv[2] ?? (existsSync(defaultCorpus) ? defaultCorpus : demoCorpusPath());
const python = '/usr/bin/python3';
const REPEAT = 3;
const N_COMPONENTS = 100;

const fmt = (x, digits = 1) => x.toFixed(digits);
// CPU time (user + system) of this process, in seconds. The build machines are shared, so wall
// time swings with other people's jobs; CPU time does not, and scikit-learn is timed the same
// way (time.process_time).
const now = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

async function best(fn, repeat = REPEAT) {
  let bestS = Number.POSITIVE_INFINITY;
  let result;
  for (let i = 0; i < repeat; i++) {
    const t = now();
    result = await fn();
    bestS = Math.min(bestS, now() - t);
  }
  return { s: bestS, result };
}

function transformAll(v, texts) {
  const rows = [];
  for (const t of texts) {
    const { indices, counts } = v.counts(t);
    rows.push({ indices, values: v.weigh(indices, counts) });
  }
  return rows;
}

function sklearnBaseline(texts) {
  try {
    execFileSync(python, ['-c', 'import sklearn'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const script = join(repo, 'tools', 'embed', 'bench-sklearn.py');
  const out = execFileSync(python, [script, corpus, String(N_COMPONENTS), String(REPEAT)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  if (r.docs !== texts.length)
    throw new Error(`scikit-learn read ${r.docs} documents, we read ${texts.length}`);
  return r;
}

function contextWords(texts, n) {
  const words = [];
  for (const t of texts) {
    for (const w of t.split(/\s+/)) if (w) words.push(w);
    if (words.length >= n) break;
  }
  return words.slice(0, n);
}

// Seconds per call of `fn`: CPU time is counted in scheduler ticks (milliseconds), so calls are
// repeated until a batch takes at least `minSeconds`; the best of `batches` batches is kept.
function perCall(fn, { minSeconds = 0.25, batches = 3 } = {}) {
  fn(); // warm up
  let best = Number.POSITIVE_INFINITY;
  for (let b = 0; b < batches; b++) {
    let calls = 0;
    const t = now();
    let elapsed = 0;
    do {
      fn();
      calls += 1;
      elapsed = now() - t;
    } while (elapsed < minSeconds);
    best = Math.min(best, elapsed / calls);
  }
  return best;
}

// Per-word routing cost of a context of `words`: the incremental prefix state (one push and one
// vector() per word; LM pieces usually carry a leading space) against re-embedding the whole
// prefix from scratch at every word, as the c-BTM reference does. Both produce the vector a
// router reads after every word.
function routingCost(embedder, words) {
  const out = new Float32Array(embedder.dimension);
  let sink = 0;
  const incremental = perCall(() => {
    const state = embedder.prefix();
    for (let i = 0; i < words.length; i++) {
      state.push(i === 0 ? words[i] : ` ${words[i]}`);
      sink += state.vector(out)[0];
    }
  });
  const reembed = perCall(
    () => {
      let prefix = '';
      for (let i = 0; i < words.length; i++) {
        prefix += i === 0 ? words[i] : ` ${words[i]}`;
        sink += embedder.embedSync(prefix)[0];
      }
    },
    { batches: 2 },
  );
  return { incremental, reembed, sink };
}

async function main() {
  console.log(`corpus: ${corpus}`);
  const texts = [];
  for await (const d of readCorpus(corpus)) texts.push(d.text);
  const mb = texts.reduce((s, t) => s + Buffer.byteLength(t, 'utf8'), 0) / 1e6;
  console.log(
    `${texts.length} documents, ${fmt(mb, 2)} MB of UTF-8 text; CPU time, best of ${REPEAT} runs\n`,
  );

  const fit = await best(() => new TfidfVectorizer(cbtmTfidfOptions).fit(texts));
  const v = fit.result;
  const transform = await best(() => transformAll(v, texts));
  const fitTransform = await best(() => new TfidfVectorizer(cbtmTfidfOptions).fitTransform(texts));
  const matrix = fitTransform.result;
  const svd = await best(() => TruncatedSvd.fit(matrix, { nComponents: N_COMPONENTS, seed: 0 }), 1);

  const sk = sklearnBaseline(texts);
  const row = (name, s, skS) => {
    const ratio =
      skS === undefined
        ? ''
        : `   ${fmt(skS / s, 2)}× scikit-learn (${fmt(mb / skS, 2)} MB/s, ${fmt(texts.length / skS, 0)} docs/s)`;
    console.log(
      `${name.padEnd(22)} ${fmt(s, 3).padStart(7)} s  ${fmt(mb / s, 2).padStart(7)} MB/s  ${fmt(texts.length / s, 0).padStart(7)} docs/s${ratio}`,
    );
  };
  console.log(
    `tf-idf (c-BTM preset), ${v.nFeatures} features${sk ? ` (scikit-learn ${sk.sklearn}: ${sk.features})` : ''}`,
  );
  row('fit', fit.s, sk?.fit_s);
  row('transform', transform.s, sk?.transform_s);
  row('fitTransform', fitTransform.s, sk?.fit_transform_s);
  console.log(
    `\nTruncatedSVD(${N_COMPONENTS}) fit on ${matrix.nRows} × ${matrix.nCols} (nnz ${matrix.values.length}): ${fmt(svd.s, 2)} s` +
      (sk ? `   scikit-learn ${fmt(sk.svd_fit_s, 2)} s (${fmt(sk.svd_fit_s / svd.s, 2)}×)` : ''),
  );
  if (!sk)
    console.log(
      '\n(scikit-learn not found at /usr/bin/python3: apt-get install -y python3-sklearn for the baseline)',
    );

  const embedder = await TfidfSvdEmbedder.fit(texts, { nComponents: N_COMPONENTS, seed: 0 });
  console.log(`\nrouting: embed the context after every word, dimension ${embedder.dimension}`);
  for (const n of [256, 1024, 2048]) {
    const words = contextWords(texts, n);
    const { incremental, reembed } = routingCost(embedder, words);
    console.log(
      `${String(words.length).padStart(5)} words: incremental ${fmt((incremental / words.length) * 1e6, 2).padStart(7)} µs/word, ` +
        `re-embed every prefix ${fmt((reembed / words.length) * 1e6, 1).padStart(8)} µs/word  →  ${fmt(reembed / incremental, 0)}× cheaper`,
    );
  }
}

await main();
