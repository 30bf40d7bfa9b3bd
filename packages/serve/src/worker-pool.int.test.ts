import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTinyRun, type TinyRun, trainTinyExperts } from '@cbtm/testing/tiny-run';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from './worker-pool.js';
import type { GenerateTask, RouteTask } from './worker-protocol.js';

let root: string;
let run: TinyRun;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-pool-'));
  run = await buildTinyRun(join(root, 'run'), { documents: 40, k: 2 });
  await trainTinyExperts(run, 3);
}, 60_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const route: RouteTask = { op: 'route', text: 'In the beginning', routing: {} };
// Greedy decoding of this run does not reach end-of-text within 1000 tokens.
const long: GenerateTask = {
  op: 'generate',
  prompt: 'The',
  maxTokens: 1000,
  temperature: 0,
  topP: 1,
  topK: 0,
  seed: 0,
  stop: [],
  routing: {},
  mixing: 'distance',
};

describe('WorkerPool', () => {
  it('starts a crashed worker again: its running task fails, the next ones run on the new worker', async () => {
    const lines: string[] = [];
    const pool = await WorkerPool.start(
      { runDir: run.dir, maxLoadedExperts: 2, kvCache: true, backend: 'wasm' },
      { workers: 1, concurrency: 2, log: (l) => lines.push(l) },
    );
    try {
      const first = await pool.thread(0);
      const before = await first.run(route);
      const running = first.run(long);
      await first.kill();
      await expect(running).rejects.toThrow('The model worker exited with code 1.');
      expect(pool.restarting).toBe(true);
      expect(pool.failed).toBe(false);
      // Every slot of worker 1 waits for the new one.
      const [second, again] = await Promise.all([pool.thread(0), pool.thread(1)]);
      expect(second).toBe(again);
      expect(second).not.toBe(first);
      expect(pool.restarting).toBe(false);
      expect(second.concurrency).toBe(2);
      expect(await second.run(route)).toEqual(before);
      expect(lines.slice(-2)).toEqual([
        'Model worker 1 stopped (The model worker exited with code 1.); restarting it.',
        'Model worker 1 restarted.',
      ]);
    } finally {
      await pool.dispose();
    }
  });

  it('leaves a worker stopped once it crashes more than maxRestarts times within the window', async () => {
    const lines: string[] = [];
    const pool = await WorkerPool.start(
      { runDir: run.dir, maxLoadedExperts: 2, kvCache: true, backend: 'wasm' },
      { workers: 2, maxRestarts: 1, log: (l) => lines.push(l) },
    );
    try {
      const served = await (await pool.thread(0)).run(route);
      await (await pool.thread(1)).kill();
      const restarted = await pool.thread(1);
      await restarted.kill();
      expect(pool.failed).toBe(true);
      expect(pool.restarting).toBe(false);
      expect(lines.at(-1)).toBe(
        'Model worker 2 stopped (The model worker exited with code 1.); not restarting it: 2 crashes within 60 s.',
      );
      // Its slots answer with the crash's error; the other worker still serves.
      expect(await pool.thread(3)).toBe(restarted);
      await expect(restarted.run(route)).rejects.toThrow('exited with code 1');
      expect(await (await pool.thread(0)).run(route)).toEqual(served);
    } finally {
      await pool.dispose();
    }
  });
});
