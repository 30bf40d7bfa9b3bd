import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunManifest, readJsonFile } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runBin } from './test-utils/spawn-cli.js';
import { tinyConfig } from './test-utils/tiny-config.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cbtm-resume-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** mtime and SHA-256 of every file in a model directory. */
async function snapshot(
  modelDir: string,
): Promise<Record<string, { mtimeMs: number; sha: string }>> {
  const out: Record<string, { mtimeMs: number; sha: string }> = {};
  for (const name of (await readdir(modelDir)).sort()) {
    const file = join(modelDir, name);
    out[name] = {
      mtimeMs: (await stat(file)).mtimeMs,
      sha: createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    };
  }
  return out;
}

/**
 * Starts `cbtm run` in its own process group and, once a stderr line matches `when`, sends
 * `signal` to the whole group (the CLI and its training workers) or to the CLI alone.
 */
function runAndSignal(
  args: readonly string[],
  when: RegExp,
  signal: NodeJS.Signals,
  target: 'group' | 'cli',
): Promise<{ signaled: boolean; stderr: string; code: number | null; secondsAfter: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (!sentAt && when.test(stderr)) {
        sentAt = Date.now();
        process.kill(target === 'group' ? -child.pid! : child.pid!, signal);
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ signaled: sentAt > 0, stderr, code, secondsAfter: (Date.now() - sentAt) / 1000 }),
    );
  });
}

/** Two experts of 40 steps trained one after another (one worker), no seed, checkpoints every 4 steps. */
async function writeSequentialConfig(name: string): Promise<string> {
  const config = tinyConfig(join(dir, name), {
    train: {
      tokens: 2 * 40 * 256,
      seedTokens: 0,
      batchSize: 8,
      warmupSteps: 2,
      evalEvery: 8,
      evalTokens: 512,
      checkpointEvery: 4,
      workers: 1,
    },
  });
  const cfgFile = join(dir, `${name}.config.json`);
  await writeFile(cfgFile, JSON.stringify(config));
  return cfgFile;
}

describe('cbtm run stopped with SIGINT (Ctrl-C from a process manager)', () => {
  it('stops after the current step with exit code 130, and the rerun resumes from that step', async () => {
    const cfgFile = await writeSequentialConfig('interrupted');
    const first = await runAndSignal(
      ['run', '--config', cfgFile],
      /\[train expert-0\] (8|1\d)\/40 steps/,
      'SIGINT',
      'cli',
    );
    expect(first.signaled, first.stderr).toBe(true);
    expect(first.code).toBe(130);
    expect(first.secondsAfter).toBeLessThan(30);
    expect(first.stderr.trimEnd().split('\n').at(-1)).toBe(
      'cbtm: interrupted. Finished work is saved; rerun the same command to resume.',
    );
    const runDir = join(dir, 'interrupted');
    // The abort wrote a checkpoint at the step it stopped at.
    const stopped = await readJsonFile<{ done: boolean; step: number }>(
      join(runDir, 'experts', '0', 'train-state.json'),
    );
    expect(stopped.done).toBe(false);
    expect(stopped.step).toBeGreaterThanOrEqual(8);
    const again = await runBin(['run', '--config', cfgFile], { timeoutMs: 180_000 });
    expect(again.code, again.stderr).toBe(0);
    const after = await readJsonFile<RunManifest>(join(runDir, 'manifest.json'));
    expect(after.stages.experts!.info).toEqual({
      models: [
        { name: 'expert-0', reused: false, resumedFromStep: stopped.step, steps: 40 },
        { name: 'expert-1', reused: false, resumedFromStep: 0, steps: 40 },
      ],
    });
  }, 300_000);
});

describe('cbtm run killed with SIGKILL mid-training', () => {
  it('resumes: finished models and stages are reused, the interrupted model continues from its checkpoint', async () => {
    // One worker, so the models train one after another: expert-0 finishes before expert-1 starts.
    const cfgFile = await writeSequentialConfig('run');

    // Progress lines come every 10 steps and at each eval (every 8): kill once expert-1 is
    // past step 16. Its checkpoint at 12 is on disk by then (the one at 16 may still be in
    // flight when the kill lands).
    const first = await runAndSignal(
      ['run', '--config', cfgFile],
      /\[train expert-1\] (1[6-9]|2\d|3\d)\/40 steps/,
      'SIGKILL',
      'group',
    );
    expect(first.signaled, first.stderr).toBe(true);
    const runDir = join(dir, 'run');
    const before = await readJsonFile<RunManifest>(join(runDir, 'manifest.json'));
    expect(Object.keys(before.stages).sort()).toEqual(['cluster', 'embed', 'shard', 'tokenizer']);
    const expert0 = await snapshot(join(runDir, 'experts', '0'));
    const state0 = await readJsonFile<{ done: boolean; step: number }>(
      join(runDir, 'experts', '0', 'train-state.json'),
    );
    expect(state0).toMatchObject({ done: true, step: 40 });
    const state1 = await readJsonFile<{ done: boolean; step: number }>(
      join(runDir, 'experts', '1', 'train-state.json'),
    );
    expect(state1.done).toBe(false);
    expect(state1.step).toBeGreaterThanOrEqual(12);

    const again = await runBin(['run', '--config', cfgFile], { timeoutMs: 180_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/c-BTM top-1 +\d+\.\d\d/);
    const after = await readJsonFile<RunManifest>(join(runDir, 'manifest.json'));
    // Stages finished before the kill were not redone.
    for (const name of ['embed', 'cluster', 'shard', 'tokenizer']) {
      expect(after.stages[name]!.completedAt, name).toBe(before.stages[name]!.completedAt);
    }
    expect(again.stderr).toMatch(
      /Stages: embed reused, cluster reused, shard reused, tokenizer reused, experts ran/,
    );
    // The finished expert kept its files; the interrupted one resumed from its last checkpoint.
    expect(await snapshot(join(runDir, 'experts', '0'))).toEqual(expert0);
    expect(after.stages.experts!.info).toEqual({
      models: [
        { name: 'expert-0', reused: true, resumedFromStep: null, steps: 40 },
        { name: 'expert-1', reused: false, resumedFromStep: state1.step, steps: 40 },
      ],
    });
    const resumedState = await readJsonFile<{
      done: boolean;
      step: number;
      history: { step: number }[];
    }>(join(runDir, 'experts', '1', 'train-state.json'));
    expect(resumedState.done).toBe(true);
    // The history continues from the checkpoint: no step was logged twice.
    const steps = resumedState.history.map((h) => h.step);
    expect(new Set(steps).size).toBe(steps.length);
    expect(after.stages.dense!.info).toEqual({
      models: [{ name: 'dense', reused: false, resumedFromStep: 0, steps: 80 }],
    });
  }, 300_000);
});
