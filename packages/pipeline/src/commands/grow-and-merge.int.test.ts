import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir, sha256Path } from '@cbtm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalResults } from '../results.js';
import { runPipeline } from '../run-pipeline.js';
import { captureContext } from '../test-utils/capture-context.js';
import { runBin } from '../test-utils/spawn-cli.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { removeExpertCommand } from './remove-expert.js';

let root: string;
let runDir: string;

async function evalJson(flags: { topK?: string } = {}): Promise<EvalResults> {
  const ctx = captureContext(root);
  await evalCommand({ run: runDir, json: true, ...flags }, ctx);
  return JSON.parse(ctx.out()) as EvalResults;
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
