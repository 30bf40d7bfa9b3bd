import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir } from '@cbtm/core/node';
import { describeWithProgram, REDIS_SERVER, startRedis, type TestRedis } from '@cbtm/testing';
import { readTrainState } from '@cbtm/train/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runPipeline } from '../run-pipeline.js';
import { captureContext } from '../test-utils/capture-context.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { queueEnqueueCommand, queueStatusCommand, workerCommand } from './queue.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';

let redis: TestRedis;
let root: string;
let runDir: string;

const context = (signal?: AbortSignal) => captureContext(root, signal);

describeWithProgram(
  REDIS_SERVER,
  'cbtm queue enqueue / worker / queue status, then cbtm train',
  () => {
    beforeAll(async () => {
      redis = await startRedis();
      root = await mkdtemp(join(tmpdir(), 'cbtm-queue-cli-'));
      runDir = join(root, 'run');
      // A pipeline run up to its shards, as `cbtm cluster` leaves it, plus the shared seed model
      // that every expert branches from (it must exist before experts are queued).
      await runPipeline(tinyConfig(runDir), {
        stages: ['embed', 'cluster', 'shard', 'tokenizer', 'seed'],
      });
    }, 120_000);

    afterAll(async () => {
      await redis?.stop();
      if (root) await rm(root, { recursive: true, force: true });
    });

    it('trains expert 0 through the queue with the settings `cbtm train` uses, and `cbtm train` records the stage', async () => {
      const flags = { redis: redis.url, queue: 'cli' };
      const enqueue = context();
      await queueEnqueueCommand({ ...flags, run: 'run', experts: '0' }, enqueue);
      expect(enqueue.out()).toMatch(/\/expert-0\tadded\twaiting\n$/);
      expect(enqueue.err()).toContain('cbtm worker --redis');

      const worker = context();
      await workerCommand({ ...flags, untilEmpty: true }, worker);
      expect(worker.err()).toContain('1 job(s) finished, 0 failed');

      const status = context();
      await queueStatusCommand({ ...flags, run: 'run', json: true }, status);
      const parsed = JSON.parse(status.out()) as {
        models: { name: string; state: string; trained: boolean }[];
        allExpertsTrained: boolean;
      };
      expect(parsed.models.map((m) => [m.name, m.state, m.trained])).toEqual([
        ['expert-0', 'completed', true],
        ['expert-1', 'not-queued', false],
      ]);
      expect(parsed.allExpertsTrained).toBe(false);

      // `cbtm train` trains what is left (expert 1) and, now that every expert is trained, records the stage.
      const queued = await readTrainState(join(runDir, 'experts', '0'));
      const train = context();
      await trainCommand({ run: 'run' }, train);
      expect(train.out()).toContain('expert-0: already trained');
      expect(train.out()).toMatch(/expert-1: trained, \d+ steps/);
      const direct = await readTrainState(join(runDir, 'experts', '1'));
      // Same model shape and training settings as the pipeline's own training (only the data seed differs per expert).
      expect(queued.config).toEqual(direct.config);
      expect({ ...queued.hyperparameters, seed: 0 }).toEqual({
        ...direct.hyperparameters,
        seed: 0,
      });
      expect(queued.totalSteps).toBe(direct.totalSteps);
      expect((await readTrainState(join(runDir, 'experts', '0'))).updatedAt).toBe(queued.updatedAt);
      expect((await RunDir.open(runDir)).stageDone('experts')).toBe(true);

      // Enqueueing again queues nothing: one job is finished, the other model is trained on disk.
      const again = context();
      await queueEnqueueCommand({ ...flags, run: 'run' }, again);
      expect(
        again
          .out()
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t').slice(1)),
      ).toEqual([
        ['exists', 'completed'],
        ['trained', 'none'],
      ]);
    });

    it('then `cbtm serve` serves the run until its signal', async () => {
      await runPipeline(tinyConfig(runDir), { stages: ['router'] });
      const ac = new AbortController();
      const ctx = context(ac.signal);
      const serving = serveCommand({ run: 'run', port: 0, topK: 1 }, ctx);
      while (!ctx.out().includes('\n')) await new Promise((ok) => setTimeout(ok, 20));
      const url = ctx.out().trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(`${url}/health`)).json()) as { status: string; k: number };
      expect(health).toMatchObject({ status: 'ok', k: 2 });
      // --top-k 1 is the default routing of requests that do not say.
      const route = (await (
        await fetch(`${url}/v1/route`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: 'the law of the land' }),
        })
      ).json()) as { experts: number[] };
      expect(route.experts).toHaveLength(1);
      ac.abort();
      await serving;
      expect(ctx.err()).toContain('Server stopped.');
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    });
  },
);
