import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { loadClusterModel } from '@cbtm/cluster/node';
import { demoCorpusPaths, RunDir, sha256Path } from '@cbtm/core/node';
import { loadEmbedder, termSpaceOf, topTerms } from '@cbtm/embed/node';
import { ExactRouter, loadRouter } from '@cbtm/route/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CbtmConfigInput } from '../config/schema.js';
import { verifyModelFiles } from '../model-files.js';
import type { EvalResults } from '../results.js';
import { runPipeline } from '../run-pipeline.js';
import { captureContext } from '../test-utils/capture-context.js';
import { runBin } from '../test-utils/spawn-cli.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import type { AddedExpertsFile } from './add-expert.js';
import { addExpertCommand } from './add-expert.js';
import { type AssignMarker, assignCommand } from './assign.js';
import { evalCommand } from './eval.js';

let root: string;
let runDir: string;
/** The demo's `legal` documents: held out of the run, then added. */
let newCorpus: string;
let newDocs: { id: string; text: string; domain: string }[];
let config: CbtmConfigInput;

async function jsonLines<T>(file: string): Promise<T[]> {
  const input = file.endsWith('.gz')
    ? createReadStream(file).pipe(createGunzip())
    : createReadStream(file);
  const out: T[] = [];
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }))
    if (line.trim() !== '') out.push(JSON.parse(line) as T);
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-add-expert-'));
  runDir = join(root, 'run');
  const demo = await jsonLines<{ id: string; text: string; domain: string }>(
    demoCorpusPaths().train,
  );
  const kept = demo.filter((d) => d.domain !== 'legal').slice(0, 100);
  newDocs = demo.filter((d) => d.domain === 'legal').slice(0, 24);
  const train = join(root, 'train.jsonl');
  newCorpus = join(root, 'legal.jsonl');
  await writeFile(train, kept.map((d) => JSON.stringify(d)).join('\n'));
  await writeFile(newCorpus, newDocs.map((d) => JSON.stringify(d)).join('\n'));
  config = tinyConfig(runDir, {
    corpus: { train, valid: demoCorpusPaths().valid },
    baselines: { dense: false, random: false },
  });
  await runPipeline(config);
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('top terms', () => {
  it('clusters/metrics.json and the report list each centroid’s top terms', async () => {
    const metrics = JSON.parse(await readFile(join(runDir, 'clusters', 'metrics.json'), 'utf8'));
    const model = await loadClusterModel(join(runDir, 'clusters'));
    const space = termSpaceOf(await loadEmbedder(join(runDir, 'embedder')))!;
    expect(metrics.topTerms).toEqual(topTerms(space, model.centroids, model.k));
    expect(metrics.topTerms).toHaveLength(2);
    expect(metrics.topTerms[0]).toHaveLength(10);
    const report = await readFile(join(runDir, 'report.html'), 'utf8');
    expect(report).toContain(`<tr><td>1</td><td>${metrics.topTerms[1].join(', ')}</td></tr>`);
  });
});

describe('cbtm assign', () => {
  it('assigns every document to its nearest centroid, with shards and metrics; the run is unchanged', async () => {
    const manifest = await readFile(join(runDir, 'manifest.json'), 'utf8');
    const ctx = captureContext(root);
    await assignCommand({ run: runDir, corpus: newCorpus }, ctx);
    const out = join(runDir, 'assigned', 'legal');
    expect(ctx.out()).toMatch(
      /^Assigned 24 documents to k = 2 clusters: \d+ \/ \d+; purity 1\.000/,
    );
    const rows = await jsonLines<{ id: string; cluster: number }>(join(out, 'assignments.jsonl'));
    const model = await loadClusterModel(join(runDir, 'clusters'));
    const embedder = await loadEmbedder(join(runDir, 'embedder'));
    expect(rows.map((r) => r.id)).toEqual(newDocs.map((d) => d.id));
    for (const [i, d] of newDocs.entries()) {
      const { indices } = model.nearest(await embedder.embedText(d.text), 1);
      expect(rows[i]!.cluster).toBe(indices[0]);
    }
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    const sizes = [0, 1].map((j) => rows.filter((r) => r.cluster === j).length);
    expect(metrics.sizes).toEqual(sizes);
    expect(metrics.labels).toMatchObject({ field: 'domain', classes: ['legal'], purity: 1 });
    for (const j of [0, 1]) {
      const shard = await jsonLines<{ id: string }>(join(out, 'shards', `${j}.jsonl.gz`));
      expect(shard.map((d) => d.id)).toEqual(rows.filter((r) => r.cluster === j).map((r) => r.id));
    }
    const marker = JSON.parse(await readFile(join(out, 'assign.json'), 'utf8')) as AssignMarker;
    expect(marker).toMatchObject({ complete: true, documents: 24, k: 2, sizes });
    expect(await readFile(join(runDir, 'manifest.json'), 'utf8')).toBe(manifest);
    // Again into the same folder: it is ours, so it is rewritten.
    await assignCommand({ run: runDir, corpus: newCorpus }, captureContext(root));
  });

  it('never writes into a folder it did not make', async () => {
    const mine = join(root, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'notes.txt'), 'keep');
    const cli = await runBin(['assign', '--run', runDir, '--corpus', newCorpus, '--out', mine]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/was not made by cbtm assign/);
    expect(await readdir(mine)).toEqual(['notes.txt']);
    const missing = await runBin(['assign', '--run', runDir, '--corpus', join(root, 'nope.jsonl')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.jsonl/);
  });
});

describe('cbtm add-expert', () => {
  const checksums = async (ids: number[]) =>
    Promise.all(ids.map((j) => sha256Path(join(runDir, 'experts', String(j)))));

  it('an interrupted add leaves the run as it was', async () => {
    const manifest = await readFile(join(runDir, 'manifest.json'), 'utf8');
    const router = await sha256Path(join(runDir, 'router'));
    const ac = new AbortController();
    const ctx = captureContext(root, ac.signal);
    const adding = addExpertCommand(
      { run: runDir, corpus: newCorpus, tokens: 3000, eval: false },
      ctx,
    );
    for (let i = 0; i < 600 && !/\[train expert-2\]/.test(ctx.err()); i++)
      await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await expect(adding).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(await readFile(join(runDir, 'manifest.json'), 'utf8')).toBe(manifest);
    expect(await sha256Path(join(runDir, 'router'))).toBe(router);
    expect(await readdir(join(runDir, 'experts'))).not.toContain('2');
    expect(await readdir(join(runDir, 'shards'))).toEqual(['0.jsonl.gz', '1.jsonl.gz']);
    await verifyModelFiles(await RunDir.open(runDir));
  });

  it('adds an expert branched from the nearest experts; old experts stay byte-identical', async () => {
    const before = await checksums([0, 1]);
    const oldCentroids = (await loadClusterModel(join(runDir, 'clusters'))).centroids;
    const manifest = await readFile(join(runDir, 'manifest.json'), 'utf8');

    // A failure while the results move in (here: the router cannot be written) leaves the
    // manifest as it was, so eval refuses the run instead of scoring a half-grown one.
    const routerFile = join(runDir, 'router', 'router.json');
    const saved = await readFile(routerFile);
    const first = captureContext(root);
    const crashing = addExpertCommand({ run: runDir, corpus: newCorpus, tokens: 3000 }, first);
    for (let i = 0; i < 1200 && !/\[train expert-2\]/.test(first.err()); i++)
      await new Promise((r) => setTimeout(r, 10));
    await rm(routerFile);
    await mkdir(join(routerFile, 'blocker'), { recursive: true });
    await expect(crashing).rejects.toThrow();
    expect(await readFile(join(runDir, 'manifest.json'), 'utf8')).toBe(manifest);
    expect(await readdir(join(runDir, '.cbtm', 'add-expert'))).toContain('commit.json');
    await rm(routerFile, { recursive: true });
    await writeFile(routerFile, saved);
    const refused = await runBin(['eval', '--run', runDir]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/does not match its checksum in manifest\.json/);

    // The same call again finishes the move and adds nothing more.
    const ctx = captureContext(root);
    await addExpertCommand({ run: runDir, corpus: newCorpus, tokens: 3000 }, ctx);
    expect(ctx.err()).not.toMatch(/\[train/);
    expect(ctx.err()).toMatch(
      /Added expert 2: 24 documents of .*legal\.jsonl \(top terms: .*\); branched from 0\.\d+ × expert \d \+ 0\.\d+ × expert \d; trained \d+ steps on 3,000 tokens\./,
    );
    expect(ctx.out()).toMatch(/now has 3 experts \(expert 2 new\)/);
    expect(ctx.out()).toMatch(/c-BTM top-2/);
    expect(await checksums([0, 1])).toEqual(before);

    // The router and centroids: the old k plus the new data's centroid.
    const model = await loadClusterModel(join(runDir, 'clusters'));
    expect(model.k).toBe(3);
    expect(model.centroids.subarray(0, oldCentroids.length)).toEqual(oldCentroids);
    const router = await loadRouter(join(runDir, 'router'));
    expect(router.k).toBe(3);
    expect(router.centroids()).toEqual(model.centroids);
    // The new centroid is the mean embedding of the new documents (one balanced cluster).
    const embedder = await loadEmbedder(join(runDir, 'embedder'));
    const d = model.dimension;
    const mean = new Float64Array(d);
    for (const doc of newDocs) {
      const v = await embedder.embedText(doc.text);
      for (let c = 0; c < d; c++) mean[c]! += v[c]! / newDocs.length;
    }
    const fresh = model.centroids.subarray(2 * d);
    for (let c = 0; c < d; c++) expect(fresh[c]).toBeCloseTo(mean[c]!, 5);

    // Its initialization: the top-2 routing weights of the new centroid over the old ones.
    const added = JSON.parse(
      await readFile(join(runDir, 'clusters', 'added-experts.json'), 'utf8'),
    ) as AddedExpertsFile;
    expect(added.baseK).toBe(2);
    const [a] = added.experts;
    const want = new ExactRouter(oldCentroids, 2, d).route(fresh, {
      topK: 2,
      temperature: 0.1,
    });
    expect(a!.init).toEqual({
      kind: 'nearest',
      from: want.experts.map((expert, i) => ({ expert, weight: want.weights[i] })),
    });
    expect(a).toMatchObject({ expert: 2, documents: 24, tokens: 3000 });
    expect(a!.steps).toBeGreaterThan(0);

    // Shard, metrics and manifest agree; eval routes over three experts.
    const shard = await jsonLines<{ id: string }>(join(runDir, 'shards', '2.jsonl.gz'));
    expect(shard.map((s) => s.id)).toEqual(newDocs.map((s) => s.id));
    const metrics = JSON.parse(await readFile(join(runDir, 'clusters', 'metrics.json'), 'utf8'));
    expect(metrics.k).toBe(3);
    expect(metrics.sizes[2]).toBe(24);
    expect(metrics.topTerms).toHaveLength(3);
    expect(metrics.labels.classes).toContain('legal');
    expect(metrics.labels.contingency[metrics.labels.classes.indexOf('legal')]).toEqual([0, 0, 24]);
    const run = await RunDir.open(runDir);
    await verifyModelFiles(run);
    expect(run.stage('experts')!.info).toMatchObject({ addedExperts: [2] });
    expect(await readdir(join(runDir, '.cbtm', 'add-expert'))).toEqual([]);
    const evalCtx = captureContext(root);
    await evalCommand({ run: runDir, json: true }, evalCtx);
    const results = JSON.parse(evalCtx.out()) as EvalResults;
    // `cbtm run` with the same config keeps the grown run as it is.
    const again = await runPipeline(config);
    expect(again.stages.filter((st) => st.status === 'ran').map((st) => st.name)).toEqual([]);
    expect((await loadRouter(join(runDir, 'router'))).k).toBe(3);
    // The new expert takes part: on average more than the old two run per document.
    expect(results.methods['cbtm-all']!.expertsPerDocument).toBeGreaterThan(2);
    expect(Object.keys(results.methods)).toContain('cbtm-all');
  });

  it('--clusters 2 --init seed adds two experts from the seed', async () => {
    const before = await checksums([0, 1, 2]);
    const cli = await runBin([
      'add-expert',
      '--run',
      runDir,
      '--corpus',
      newCorpus,
      '--clusters',
      '2',
      '--init',
      'seed',
      '--tokens',
      '2048',
      '--no-eval',
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/now has 5 experts \(expert 3, expert 4 new\)/);
    expect(await checksums([0, 1, 2])).toEqual(before);
    const added = JSON.parse(
      await readFile(join(runDir, 'clusters', 'added-experts.json'), 'utf8'),
    ) as AddedExpertsFile;
    expect(added.experts.map((e) => [e.expert, e.init.kind])).toEqual([
      [2, 'nearest'],
      [3, 'seed'],
      [4, 'seed'],
    ]);
    expect(added.experts[1]!.documents + added.experts[2]!.documents).toBe(24);
    expect((await loadRouter(join(runDir, 'router'))).k).toBe(5);
  });

  it('refuses what it must not overwrite, naming it', async () => {
    await mkdir(join(runDir, 'experts', '5'));
    const cli = await runBin(['add-expert', '--run', runDir, '--corpus', newCorpus]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(
      /experts has expert folders 0, 1, 2, 3, 4, 5, .*expected folders 0\.\.4/,
    );
    await rm(join(runDir, 'experts', '5'), { recursive: true });
    await writeFile(join(runDir, 'shards', '5.jsonl.gz'), 'mine');
    const shard = await runBin(['add-expert', '--run', runDir, '--corpus', newCorpus]);
    expect(shard.code).not.toBe(0);
    expect(shard.stderr).toMatch(/shards\/5\.jsonl\.gz already exists.*will not overwrite it/);
    expect(await readFile(join(runDir, 'shards', '5.jsonl.gz'), 'utf8')).toBe('mine');
    await rm(join(runDir, 'shards', '5.jsonl.gz'));
    const bad = await runBin(['add-expert', '--run', runDir, '--corpus', newCorpus, '--init', 'x']);
    expect(bad.code).toBe(2);
  });
});
