import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProgressEvent, readJsonFile } from '@cbtm/core/node';
import { CHROMIUM, describeWithProgram } from '@cbtm/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_CHART_IDS } from './report/render-report.js';
import { type EvalResults, formatResultsTable } from './results.js';
import { type PipelineResult, runPipeline } from './run-pipeline.js';
import { ARTIFACTS, openReport } from './test-utils/open-report.js';
import { runBin } from './test-utils/spawn-cli.js';
import { tinyConfig } from './test-utils/tiny-config.js';

// One tiny real run (120 demo documents, k = 2, a 1-layer model) shared by every test here.
let dir: string;
let runDir: string;
let first: PipelineResult;
const events: ProgressEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-pipeline-'));
  runDir = join(dir, 'run');
  first = await runPipeline(tinyConfig(runDir), { onProgress: (e) => void events.push(e) });
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runPipeline on a tiny real run', () => {
  it('runs every stage and measures every method', async () => {
    expect(first.stages.map((s) => [s.name, s.status])).toEqual([
      ['embed', 'ran'],
      ['cluster', 'ran'],
      ['shard', 'ran'],
      ['tokenizer', 'ran'],
      ['seed', 'ran'],
      ['experts', 'ran'],
      ['dense', 'ran'],
      ['random', 'ran'],
      ['router', 'ran'],
      ['eval', 'ran'],
      ['report', 'ran'],
    ]);
    const results = first.results!;
    expect(Object.keys(results.methods)).toEqual(['dense', 'cbtm-top1', 'cbtm-all', 'random']);
    for (const m of Object.values(results.methods)) {
      // A trained model beats the uniform distribution over the vocabulary, and is no oracle.
      expect(m.perplexity).toBeGreaterThan(1);
      expect(m.perplexity).toBeLessThan(300);
      expect(m.perplexity).toBeCloseTo(Math.exp(m.nll), 6);
    }
    expect(results.corpus.documents).toBe(12);
    expect(results.clusters!.k).toBe(2);
    // The balanced fit covered all 120 documents, so its assignment is used as is: 60 / 60.
    expect(results.clusters!.sizes).toEqual([60, 60]);
    const metrics = await readJsonFile<{
      method: string;
      balanceRatio: number;
      nmi: number;
      labels: { nmi: number; classes: string[]; contingency: number[][] };
    }>(join(runDir, 'clusters', 'metrics.json'));
    expect(metrics.method).toBe('balanced-fit');
    expect(metrics.balanceRatio).toBe(1);
    expect(metrics.labels.nmi).toBeCloseTo(metrics.nmi, 12);
    // The contingency table counts every document once, per domain and per cluster.
    const table = metrics.labels.contingency;
    expect(table.length).toBe(metrics.labels.classes.length);
    expect(table.flat().reduce((a, b) => a + b, 0)).toBe(120);
    expect([0, 1].map((j) => table.reduce((s, row) => s + row[j]!, 0))).toEqual([60, 60]);
    expect(results.clusters!.purity).toBeGreaterThan(0.2);
    expect(await readJsonFile(join(runDir, 'eval', 'results.json'))).toEqual(results);
  });

  it('emits progress for every stage, per model while training, never going backwards', () => {
    const stages = new Set(events.map((e) => e.stage));
    for (const s of ['embed', 'cluster', 'shard', 'tokenizer', 'train', 'eval', 'report'])
      expect(stages).toContain(s);
    const tasks = new Set(events.filter((e) => e.stage === 'train' && e.task).map((e) => e.task));
    expect([...tasks].sort()).toEqual([
      'dense',
      'expert-0',
      'expert-1',
      'random-expert-0',
      'random-expert-1',
      'seed',
    ]);
    const last = new Map<string, number>();
    for (const e of events) {
      const key = `${e.stage}/${e.task ?? ''}`;
      if (e.status === 'start') last.set(key, e.done);
      expect(e.done, key).toBeGreaterThanOrEqual(last.get(key) ?? 0);
      last.set(key, e.done);
    }
  });

  it('reuses every stage when run again with the same config', async () => {
    const again = await runPipeline(tinyConfig(runDir));
    expect(
      again.stages.filter((s) => s.status !== 'skipped').every((s) => s.status === 'reused'),
    ).toBe(true);
    expect(again.results).toEqual(first.results);
  });

  it('cbtm eval --json prints the same numbers as the run', async () => {
    const out = await runBin(['eval', '--run', runDir, '--json']);
    expect(out.code, out.stderr).toBe(0);
    const printed = JSON.parse(out.stdout) as EvalResults;
    expect(printed).toEqual(first.results);
    const table = await runBin(['eval', '--run', runDir]);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(
      formatResultsTable(first.results!, { report: join(runDir, 'report.html') }),
    );
    for (const m of Object.values(first.results!.methods))
      expect(table.stdout).toContain(m.perplexity.toFixed(2));
  });

  it('cbtm eval with other settings evaluates afresh and leaves the run results alone', async () => {
    const out = await runBin([
      'eval',
      '--run',
      runDir,
      '--top-k',
      '1',
      '--temperature',
      '0.5',
      '--json',
    ]);
    expect(out.code, out.stderr).toBe(0);
    const printed = JSON.parse(out.stdout) as EvalResults;
    expect(printed.temperature).toBe(0.5);
    expect(Object.keys(printed.methods)).toEqual(['dense', 'cbtm-top1', 'random']);
    // The dense model does not route, so it scores exactly as before.
    expect(printed.methods.dense!.perplexity).toBe(first.results!.methods.dense!.perplexity);
    expect(await readJsonFile(join(runDir, 'eval', 'results.json'))).toEqual(first.results);
    const bad = await runBin(['eval', '--run', runDir, '--top-k', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      `cbtm: error: option '--top-k <k>' argument '0' is invalid. expected comma-separated integers ≥ 1 or "all" (such as 1,2,all), got "0".`,
    );
  });

  it('cbtm generate streams text, deterministic per seed, and names the experts on stderr', async () => {
    const args = [
      'generate',
      '--run',
      runDir,
      '--prompt',
      'In the beginning',
      '--max-tokens',
      '12',
      '--seed',
      '3',
    ];
    const a = await runBin(args);
    const b = await runBin(args);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.startsWith('In the beginning')).toBe(true);
    expect(a.stdout.length).toBeGreaterThan('In the beginning'.length);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stderr).toMatch(
      /experts used: expert [01] \(mean weight \d\.\d\d, in \d+\/\d+ steps\)/,
    );
  });

  it('cbtm report writes one self-contained HTML file with the data', async () => {
    const out = await runBin(['report', '--run', runDir]);
    expect(out.code, out.stderr).toBe(0);
    const file = join(runDir, 'report.html');
    expect(out.stdout.trim()).toBe(file);
    const html = await readFile(file, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).toContain(first.results!.methods['cbtm-top1']!.perplexity.toFixed(2));
    expect((await stat(file)).size).toBeGreaterThan(1_000_000); // ECharts is inlined
  });
});

describeWithProgram(CHROMIUM, 'report.html in headless Chromium', () => {
  it('draws every chart from the real run, offline, with no console errors', async () => {
    const page = await openReport(
      join(runDir, 'report.html'),
      fileURLToPath(new URL('report.png', ARTIFACTS)),
      REPORT_CHART_IDS,
    );
    expect(page.pageErrors).toEqual([]);
    expect(page.consoleErrors).toEqual([]);
    expect(page.requests).toEqual([]);
    for (const id of REPORT_CHART_IDS) {
      expect(page.charts[id], id).toBe('rendered');
      expect(page.canvases[id]!.canvases, id).toBeGreaterThan(0);
      expect(page.canvases[id]!.width, id).toBeGreaterThan(100);
      expect(page.canvases[id]!.colors, id).toBeGreaterThan(5);
    }
    expect(page.resultsText).toContain('c-BTM top-1');
    expect(page.resultsText).toContain(first.results!.methods.dense!.perplexity.toFixed(2));
  }, 60_000);
});

describe('cbtm cluster and cbtm train', () => {
  it('fits on a sample with a balance slack, then assigns every document to its nearest centroid', async () => {
    const { out: _out, ...config } = tinyConfig(join(dir, 'unused'));
    const cfgFile = join(dir, 'slack.config.json');
    await writeFile(cfgFile, JSON.stringify(config));
    const run3 = join(dir, 'run3');
    const args = ['cluster', '--config', cfgFile, '--k', '3', '--out', run3, '--sample', '60'];
    const clustered = await runBin([...args, '--balance-slack', '0.2']);
    expect(clustered.code, clustered.stderr).toBe(0);
    const fit = await readJsonFile<{ fittedOn: number; balanceSlack: number; sizes: number[] }>(
      join(run3, 'clusters', 'fit.json'),
    );
    expect(fit.fittedOn).toBe(60);
    expect(fit.balanceSlack).toBe(0.2);
    // 60 / 3 = 20 per cluster, ± 20 %: 16 to 24.
    expect(fit.sizes.reduce((a, b) => a + b, 0)).toBe(60);
    for (const size of fit.sizes) {
      expect(size).toBeGreaterThanOrEqual(16);
      expect(size).toBeLessThanOrEqual(24);
    }
    const metrics = await readJsonFile<{ method: string; sizes: number[] }>(
      join(run3, 'clusters', 'metrics.json'),
    );
    expect(metrics.method).toBe('nearest-centroid');
    expect(metrics.sizes.reduce((a, b) => a + b, 0)).toBe(120);
    await expect(stat(join(run3, 'clusters', 'fit-assignments.json'))).rejects.toThrow(/ENOENT/);
    const bad = await runBin([...args, '--balance-slack', '-1']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--balance-slack: field "cluster.balanceSlack"');
  }, 120_000);

  it('clusters, trains one expert, then the rest, reusing the one already trained', async () => {
    const cfgFile = join(dir, 'tiny.config.json');
    const { out: _out, ...config } = tinyConfig(join(dir, 'unused'));
    await writeFile(
      cfgFile,
      JSON.stringify({ ...config, baselines: { dense: false, random: false } }),
    );
    const run2 = join(dir, 'run2');
    const clustered = await runBin(['cluster', '--config', cfgFile, '--k', '2', '--out', run2]);
    expect(clustered.code, clustered.stderr).toBe(0);
    expect(clustered.stdout).toMatch(
      /^Clustered 120 documents into k = 2 clusters of sizes 60 \/ 60; purity 0\.\d{3}, NMI 0\.\d{3}/,
    );
    const one = await runBin(['train', '--run', run2, '--expert', '1']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^expert-1: trained, 24 steps$/m);
    expect(one.stdout).toMatch(/^seed: trained, 16 steps$/m);
    // Expert 0 is not trained: eval is not the next step yet.
    expect(one.stdout).toContain('Not trained yet: expert-0.');
    expect(one.stdout).toContain(`Next: cbtm train --run ${run2} (all of them, or --expert 0`);
    expect(one.stdout).not.toContain('Next: cbtm eval');
    const all = await runBin(['train', '--run', run2, '--all']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^expert-0: trained, 24 steps$/m);
    expect(all.stdout).toMatch(/^expert-1: already trained, 24 steps$/m);
    // The seed trained by the first call is reused, and says so.
    expect(all.stdout).toMatch(/^seed: already trained, 16 steps$/m);
    expect(all.stdout).toMatch(/^Next: cbtm eval --run /m);
    // eval builds the router on demand; without baselines it scores the c-BTM settings only.
    const evaluated = await runBin(['eval', '--run', run2, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(Object.keys((JSON.parse(evaluated.stdout) as EvalResults).methods)).toEqual([
      'cbtm-top1',
      'cbtm-all',
    ]);
  }, 180_000);
});
