import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists, RunDir } from '@cbtm/core/node';
import { describeWithProgram, REDIS_SERVER, startRedis, type TestRedis } from '@cbtm/testing';
import {
  buildTinyRun,
  expertDir,
  TINY_BATCH,
  TINY_MODEL,
  type TinyRun,
  TOKENS_PER_STEP,
} from '@cbtm/testing/tiny-run';
import { readTrainProgress, readTrainState } from '@cbtm/train/node';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueTraining } from './enqueue-training.js';
import { queueStatus } from './queue-status.js';
import { runWorker } from './run-worker.js';
import { type TrainingJobResult, trainingJobId } from './training-job.js';

// The killed worker runs the built code (see worker-process.mjs): build the package first.
const workerProcess = fileURLToPath(new URL('./test-utils/worker-process.mjs', import.meta.url));

let redis: TestRedis;
let root: string;
let run: TinyRun;

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, everyMs));
  }
}

/** A fresh run with the same tokenizer and shards (so it trains the same experts). */
async function copyRun(name: string): Promise<string> {
  const dir = join(root, name);
  await RunDir.create(dir, { config: { tiny: true } });
  for (const sub of ['tokenizer', 'shards'])
    await cp(join(run.dir, sub), join(dir, sub), { recursive: true });
  return dir;
}

function settings(steps: number, k: number, checkpointEvery: number) {
  return {
    totalTokens: k * steps * TOKENS_PER_STEP,
    modelConfig: TINY_MODEL,
    train: { batchSize: TINY_BATCH, checkpointEvery, logEvery: 1 },
    seed: 1,
    backend: 'wasm' as const,
  };
}

describeWithProgram(REDIS_SERVER, 'training queue (BullMQ on a real redis-server)', () => {
  beforeAll(async () => {
    redis = await startRedis();
    root = await mkdtemp(join(tmpdir(), 'cbtm-queue-'));
    run = await buildTinyRun(join(root, 'a'), { documents: 40, k: 2 });
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('trains two experts on two workers; enqueueing again is idempotent', async () => {
    const conn = { redis: redis.url, queueName: 'two-workers' };
    const steps = 6;
    const opts = { ...conn, ...settings(steps, 2, 2) };
    const first = await enqueueTraining(run.dir, opts);
    expect(first.jobs.map((j) => [j.id, j.outcome, j.state])).toEqual([
      [trainingJobId(first.runId, 'expert-0'), 'added', 'waiting'],
      [trainingJobId(first.runId, 'expert-1'), 'added', 'waiting'],
    ]);
    const again = await enqueueTraining(run.dir, opts);
    expect(again.jobs.map((j) => j.outcome)).toEqual(['exists', 'exists']);
    const queue = new Queue(conn.queueName, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'cbtm',
    });
    try {
      expect(
        await queue.getJobCountByTypes('waiting', 'active', 'completed', 'failed', 'delayed'),
      ).toBe(2);

      const ac = new AbortController();
      const workers = [0, 1].map(() =>
        runWorker({ ...conn, signal: ac.signal, stalledIntervalMs: 1000, log: () => undefined }),
      );
      await waitFor('both jobs to complete', async () =>
        (await queueStatus(run.dir, conn)).models.every((m) => m.state === 'completed'),
      );
      ac.abort();
      const summaries = await Promise.all(workers);
      expect(summaries.flatMap((s) => s.completed).sort()).toEqual(first.jobs.map((j) => j.id));
      expect(summaries.flatMap((s) => s.failed)).toEqual([]);

      for (const j of [0, 1]) {
        expect(await pathExists(join(expertDir(run, j), 'model.json'))).toBe(true);
        const state = await readTrainState(expertDir(run, j));
        expect(state).toMatchObject({
          step: steps,
          totalSteps: steps,
          done: true,
          backend: 'wasm',
        });
        expect(state.history.map((h) => h.step)).toEqual([1, 2, 3, 4, 5, 6]);
        const result = (await queue.getJob(trainingJobId(first.runId, `expert-${j}`)))!
          .returnvalue as TrainingJobResult;
        expect(result).toMatchObject({
          name: `expert-${j}`,
          steps,
          resumedFromStep: 0,
          skipped: false,
          backend: 'wasm',
        });
      }
      const status = await queueStatus(run.dir, conn);
      expect(status.allExpertsTrained).toBe(true);
      expect(status.models.map((m) => [m.name, m.state, m.step, m.totalSteps, m.trained])).toEqual([
        ['expert-0', 'completed', steps, steps, true],
        ['expert-1', 'completed', steps, steps, true],
      ]);
      // Finished jobs stay finished: nothing is queued again.
      const third = await enqueueTraining(run.dir, opts);
      expect(third.jobs.map((j) => [j.outcome, j.state])).toEqual([
        ['exists', 'completed'],
        ['exists', 'completed'],
      ]);
      expect(await queue.getJobCountByTypes('waiting', 'active', 'delayed')).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it('a queued expert is the same model `trainExperts` makes with the same settings', async () => {
    // Trained directly, in another run with the same shards, as `cbtm train` would.
    const { runModelTasks, trainExperts } = await import('@cbtm/train/node');
    const direct = await copyRun('direct');
    const { totalTokens, ...options } = settings(6, 2, 2);
    const tasks = runModelTasks(direct, {
      totalTokens,
      shards: [0, 1],
      experts: [1],
      dense: false,
    });
    await trainExperts(tasks, {
      ...options,
      tokenizer: join(direct, 'tokenizer', 'tokenizer.json'),
      workers: 1,
      log: () => undefined,
    });
    const viaQueue = await readTrainState(expertDir(run, 1));
    const same = await readTrainState(join(direct, 'experts', '1'));
    expect(viaQueue.history.map((h) => h.loss)).toEqual(same.history.map((h) => h.loss));
    expect(viaQueue.hyperparameters).toEqual(same.hyperparameters);
  });

  it('resumes a job from its checkpoint on another worker after its worker is killed', async () => {
    const dir = await copyRun('killed');
    const conn = { redis: redis.url, queueName: 'kill' };
    const steps = 60;
    const { runId, jobs } = await enqueueTraining(dir, {
      ...conn,
      ...settings(steps, 2, 2),
      experts: [0],
    });
    const id = jobs[0]!.id;
    const model = join(dir, 'experts', '0');
    const fast = { lockDurationMs: 1500, stalledIntervalMs: 500 };

    let child: ChildProcess | undefined = spawn(
      process.execPath,
      [workerProcess, JSON.stringify({ ...conn, ...fast })],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let childLog = '';
    child.stderr!.on('data', (b: Buffer) => {
      childLog += b.toString();
    });
    let killedAt = 0;
    try {
      await waitFor(
        'the first worker to checkpoint',
        async () => {
          if (child!.exitCode !== null)
            throw new Error(`the worker process exited early:\n${childLog}`);
          killedAt = (await readTrainProgress(model)).step;
          return killedAt >= 4;
        },
        30_000,
        10,
      );
      child.kill('SIGKILL');
      await new Promise((ok) => child!.once('exit', ok));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      child = undefined;
    }
    expect(killedAt).toBeLessThan(steps);
    // The dead worker's job still looks active; the step shown is the one it will resume from.
    expect((await queueStatus(dir, conn)).models[0]).toMatchObject({
      name: 'expert-0',
      state: 'active',
      step: (await readTrainProgress(model)).step,
      trained: false,
    });

    const lines: string[] = [];
    const ac = new AbortController();
    const worker = runWorker({ ...conn, ...fast, signal: ac.signal, log: (l) => lines.push(l) });
    try {
      await waitFor(
        'the job to be finished by the second worker',
        async () => (await queueStatus(dir, conn)).models[0]!.state === 'completed',
      );
    } finally {
      ac.abort();
    }
    const summary = await worker;
    expect(summary.completed).toEqual([id]);

    const state = await readTrainState(model);
    expect(state).toMatchObject({ step: steps, done: true });
    // Every step is in the history once: the second worker went on from the checkpoint.
    expect(state.history.map((h) => h.step)).toEqual(
      Array.from({ length: steps }, (_, i) => i + 1),
    );
    const queue = new Queue(conn.queueName, {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'cbtm',
    });
    try {
      const job = (await queue.getJob(trainingJobId(runId, 'expert-0')))!;
      const result = job.returnvalue as TrainingJobResult;
      expect(result.resumedFromStep).toBeGreaterThanOrEqual(killedAt);
      expect(result.resumedFromStep).toBeLessThan(steps);
      expect(result.steps).toBe(steps);
      const { logs } = await queue.getJobLogs(id);
      expect(logs.some((l) => l.includes('training from scratch'))).toBe(true);
      expect(
        logs.some((l) => l.includes(`resuming from step ${result.resumedFromStep} of ${steps}`)),
      ).toBe(true);
      expect(
        lines.some((l) => l.includes(`${id}: resuming from step ${result.resumedFromStep}`)),
      ).toBe(true);
    } finally {
      await queue.close();
    }
  });

  it('a worker told to stop checkpoints its job and puts it back in the queue', async () => {
    const dir = await copyRun('stopped');
    const conn = { redis: redis.url, queueName: 'stop' };
    const steps = 60;
    const { jobs } = await enqueueTraining(dir, {
      ...conn,
      ...settings(steps, 2, 5),
      experts: [1],
    });
    const ac = new AbortController();
    let stopAt = 0;
    const worker = runWorker({
      ...conn,
      signal: ac.signal,
      log: () => undefined,
      onProgress: (e) => {
        if (e.task === 'expert-1' && e.done >= 3 && !ac.signal.aborted) {
          stopAt = e.done;
          ac.abort();
        }
      },
    });
    const summary = await worker;
    expect(summary).toEqual({ completed: [], failed: [], returned: [jobs[0]!.id] });
    const m = (await queueStatus(dir, conn)).models.find((x) => x.name === 'expert-1');
    // The job keeps the steps done before the stop (the checkpoint written on abort).
    expect(m).toMatchObject({
      name: 'expert-1',
      state: 'waiting',
      trained: false,
      totalSteps: steps,
    });
    expect(m!.step).toBeGreaterThanOrEqual(stopAt);
    expect(m!.step).toBeLessThan(steps);
  });

  it('says what to do when Redis is not there', async () => {
    await expect(
      queueStatus(run.dir, { redis: 'redis://127.0.0.1:1', connectTimeoutMs: 1000 }),
    ).rejects.toThrow(/Cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*Start a Redis server/);
  });
});
