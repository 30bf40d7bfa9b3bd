import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoCorpusPaths, RunDir, readCorpus, sha256Path } from '@cbtm/core/node';
import { loadRun } from '@cbtm/ensemble/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalResults } from '../results.js';
import { runPipeline } from '../run-pipeline.js';
import { captureContext } from '../test-utils/capture-context.js';
import { runBin } from '../test-utils/spawn-cli.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { type EvalCommandOptions, evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { mergeCommand } from './merge.js';
import { removeExpertCommand } from './remove-expert.js';
import { serveCommand } from './serve.js';

let root: string;
let runDir: string;

async function evalJson(flags: Partial<EvalCommandOptions> = {}): Promise<EvalResults> {
  const ctx = captureContext(root);
  await evalCommand({ run: runDir, json: true, ...flags }, ctx);
  return JSON.parse(ctx.out()) as EvalResults;
}

/** Every tensor of a saved model, read straight from model.json and the weights file. */
async function rawTensors(dir: string): Promise<Map<string, Float64Array>> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
  };
  const out = new Map<string, Float64Array>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(join(dir, p)))));
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      out.set(
        w.name,
        Float64Array.from({ length: n }, (_, i) => bytes.readFloatLE(4 * (offset + i))),
      );
      offset += n;
    }
  }
  return out;
}

/** Checks that every tensor of `merged` is Σ c_j W_j over the run's experts (float32-rounded). */
async function expectWeightedMean(merged: string, coefficients: number[]): Promise<void> {
  const experts = await Promise.all(
    coefficients.map((_, j) => rawTensors(join(runDir, 'experts', String(j)))),
  );
  const m = await rawTensors(merged);
  expect([...m.keys()]).toEqual([...experts[0]!.keys()]);
  for (const [name, w] of m) {
    const want = Float32Array.from(w, (_, i) =>
      experts.reduce((s, e, j) => s + coefficients[j]! * e.get(name)![i]!, 0),
    );
    expect(Float32Array.from(w), name).toEqual(want);
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-grow-'));
  runDir = join(root, 'run');
  await runPipeline(
    tinyConfig(runDir, {
      cluster: { k: 3 },
      baselines: { dense: true, random: false },
      report: { enabled: false },
    }),
  );
}, 300_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('cbtm remove-expert', () => {
  it('drops an expert recoverably; eval and generate renormalize over the rest', async () => {
    const before = await evalJson();
    const sums = async () =>
      Promise.all(
        ['experts/0', 'experts/2', 'router', 'dense', 'tokenizer'].map((p) =>
          sha256Path(join(runDir, p)),
        ),
      );
    const kept = await sums();

    const ctx = captureContext(root);
    await removeExpertCommand({ run: runDir, expert: 1 }, ctx);
    expect(ctx.out()).toBe('2 of 3 experts take part now: 0, 2.\n');
    expect(ctx.err()).toMatch(/Removed expert 1: moved .*experts\/1 to .*removed-experts\/1\./);
    expect(await sums()).toEqual(kept);
    expect(await readdir(join(runDir, 'experts'))).not.toContain('1');
    const run = await RunDir.open(runDir);
    expect(run.stage('experts')!.info).toMatchObject({ removedExperts: [1] });

    // The run's own eval is scored again (the models changed), never from the old results.
    const after = await evalJson();
    expect(after.createdAt).not.toBe(before.createdAt);
    expect(after.methods.dense!.perplexity).toBe(before.methods.dense!.perplexity);
    expect(after.methods['cbtm-all']!.perplexity).not.toBe(before.methods['cbtm-all']!.perplexity);
    // Two experts left: top-2 is all of them.
    expect(after.methods['cbtm-top2']!.perplexity).toBeCloseTo(
      after.methods['cbtm-all']!.perplexity,
      9,
    );

    const gen = captureContext(root);
    await generateCommand({ run: runDir, prompt: 'The', maxTokens: 6, seed: 1 }, gen);
    expect(gen.err()).toMatch(/experts used: expert/);
    expect(gen.err()).not.toMatch(/expert 1 \(/);

    const again = await runBin(['remove-expert', '--run', runDir, '--expert', '1']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already removed/);

    const restore = await runBin(['remove-expert', '--run', runDir, '--restore', '1']);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toBe('3 of 3 experts take part now: 0, 1, 2.\n');
    const back = await evalJson();
    expect(back.methods['cbtm-all']!.perplexity).toBeCloseTo(
      before.methods['cbtm-all']!.perplexity,
      9,
    );
  });

  it('needs exactly one of --expert and --restore', async () => {
    const cli = await runBin(['remove-expert', '--run', runDir]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/exactly one of --expert J/);
  });
});

describe('cbtm merge', () => {
  it('uniform: every tensor is the mean of the experts’; --eval scores it beside c-BTM and dense', async () => {
    const out = join(root, 'models', 'uniform');
    const ctx = captureContext(root);
    await mergeCommand({ run: runDir, out, eval: true, json: true }, ctx);
    const printed = JSON.parse(ctx.out()) as {
      coefficients: number[];
      results: { methods: Record<string, { perplexity: number }> };
    };
    expect(printed.coefficients).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(Object.keys(printed.results.methods)).toEqual(['dense', 'cbtm-all', 'merged-uniform']);
    expect(Number.isFinite(printed.results.methods['merged-uniform']!.perplexity)).toBe(true);
    await expectWeightedMean(out, [1 / 3, 1 / 3, 1 / 3]);
    expect(await readdir(out)).toEqual(
      expect.arrayContaining(['model.json', 'tokenizer.json', 'cbtm-merge.json']),
    );
    expect(await readFile(join(out, 'tokenizer.json'))).toEqual(
      await readFile(join(runDir, 'tokenizer', 'tokenizer.json')),
    );
    const table = captureContext(root);
    await mergeCommand({ run: runDir, out, eval: true }, table);
    expect(table.out()).toMatch(/merged-uniform\s+\d+\.\d\d\s+[+-]\d/);
  });

  it('posterior: weights are p(j | corpus), the mean of each document’s posterior', async () => {
    const out = join(root, 'models', 'posterior');
    const corpus = demoCorpusPaths().valid;
    const ctx = captureContext(root);
    await mergeCommand({ run: runDir, out, weights: 'posterior', corpus, maxDocs: 6 }, ctx);
    expect(ctx.out()).toBe(`${out}\n`);
    const marker = JSON.parse(await readFile(join(out, 'cbtm-merge.json'), 'utf8')) as {
      sources: { coefficient: number }[];
      describe: { weights: string };
    };
    const c = marker.sources.map((s) => s.coefficient);
    // The same estimate, computed apart from the command.
    const loaded = await loadRun(runDir, { log: () => undefined });
    const prior = await loaded.cbtm.estimatePrior(readCorpus(corpus), { maxDocuments: 6 });
    await loaded.dispose();
    c.forEach((x, j) => {
      expect(x).toBeCloseTo(prior[j]!, 12);
    });
    expect(c.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(new Set(c.map((x) => x.toFixed(6))).size).toBeGreaterThan(1);
    expect(marker.describe.weights).toBe('posterior');
    await expectWeightedMean(out, c);
  });

  it('refuses the run directory, its parents and folders it did not make, changing nothing', async () => {
    const manifest = await readFile(join(runDir, 'manifest.json'), 'utf8');
    for (const out of [runDir, root, join(runDir, 'experts', '0'), join(runDir, 'merged')]) {
      const cli = await runBin(['merge', '--run', runDir, '--out', out]);
      expect(cli.code, out).toBe(2);
      expect(cli.stderr).toMatch(/must never write into|overlaps the model folder/);
    }
    await mkdir(join(root, 'mine'));
    await writeFile(join(root, 'mine', 'notes.txt'), 'keep');
    const cli = await runBin(['merge', '--run', runDir, '--out', join(root, 'mine')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/was not made by cbtm merge/);
    expect(await readdir(join(root, 'mine'))).toEqual(['notes.txt']);
    expect(await readFile(join(runDir, 'manifest.json'), 'utf8')).toBe(manifest);
    const noCorpus = await runBin([
      'merge',
      '--run',
      runDir,
      '--out',
      join(root, 'x'),
      '--weights',
      'posterior',
    ]);
    expect(noCorpus.code).toBe(2);
    expect(noCorpus.stderr).toMatch(/needs --corpus/);
  });
});

describe('--mixing in eval, generate and serve', () => {
  it('cbtm eval scores BTM’s updating and cached priors beside c-BTM, on the same tokens', async () => {
    const plain = await evalJson();
    const updating = await evalJson({ mixing: 'updating-prior' });
    expect(Object.keys(updating.methods)).toEqual([
      ...Object.keys(plain.methods),
      ...Object.keys(plain.methods)
        .filter((n) => n.startsWith('cbtm-'))
        .map((n) => `${n}-updating-prior`),
    ]);
    expect(updating.tokens).toBe(plain.tokens);
    expect(updating.methods['cbtm-all']!.perplexity).toBeCloseTo(
      plain.methods['cbtm-all']!.perplexity,
      9,
    );
    for (const m of Object.values(updating.methods))
      expect(Number.isFinite(m.perplexity)).toBe(true);
    expect(updating.config).toMatchObject({ mixing: 'updating-prior', prior: null });
    // A second call with the same flags is answered from its cache.
    expect((await evalJson({ mixing: 'updating-prior' })).createdAt).toBe(updating.createdAt);

    const cached = await evalJson({ mixing: 'cached-prior', priorDocs: 4 });
    const prior = cached.config.prior as number[];
    expect(prior).toHaveLength(3);
    expect(prior.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(cached.config).toMatchObject({ mixing: 'cached-prior', priorDocuments: 4 });
    expect(cached.methods['cbtm-top1-cached-prior']!.expertsPerDocument).toBe(1);

    const bad = await runBin(['eval', '--run', runDir, '--prior-docs', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/go with --mixing cached-prior or updating-prior/);
  });

  it('cbtm generate and cbtm serve take --mixing', async () => {
    const gen = await runBin([
      'generate',
      '--run',
      runDir,
      '--prompt',
      'The',
      '--max-tokens',
      '5',
      '--mixing',
      'cached-prior',
      '--prior-docs',
      '3',
    ]);
    expect(gen.code).toBe(0);
    expect(gen.stderr).toMatch(
      /cached-prior: prior over experts from the first 3 documents of .*\(0: 0\.\d{3}, 1: /,
    );
    expect(gen.stderr).toMatch(/experts used: expert/);
    const up = captureContext(root);
    await generateCommand(
      { run: runDir, prompt: 'The', maxTokens: 4, seed: 1, mixing: 'updating-prior' },
      up,
    );
    // The updating prior runs every expert at every step.
    expect(up.err()).toMatch(
      /in 4\/4 steps\), expert \d \(mean weight [\d.]+, in 4\/4 steps\), expert/,
    );

    const ac = new AbortController();
    const ctx = captureContext(root, ac.signal);
    const serving = serveCommand(
      { run: runDir, port: 0, mixing: 'cached-prior', priorDocs: 3 },
      ctx,
    );
    try {
      for (let i = 0; i < 200 && !ctx.out().includes('http'); i++)
        await new Promise((r) => setTimeout(r, 50));
      const url = ctx.out().trim();
      const res = await fetch(`${url}/v1/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'The court held' }),
      });
      const body = (await res.json()) as { tokens: { experts: number[] }[] };
      expect(res.status).toBe(200);
      expect(body.tokens[0]!.experts).toHaveLength(3);
    } finally {
      ac.abort();
      await serving;
    }
  });
});
