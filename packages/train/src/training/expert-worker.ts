/**
 * Entry point of a training worker process (forked by `trainExperts`). It trains one model at a
 * time, as the parent asks, resuming from the model's checkpoint when one exists, and reports
 * progress and results over the IPC channel.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CbtmError } from '@cbtm/core';
import { selectBackend } from '../backend/select-backend.js';
import '../node-platform.js';
import { GptModel } from '../model/gpt-model.js';
import { BpeTokenizer } from '../tokenizer/index.js';
import { CHECKPOINT_FILE } from './checkpoint.js';
import type { ExpertTask, FromWorker, ToWorker } from './expert-task.js';
import { trainLanguageModel } from './train-language-model.js';

let current: AbortController | undefined;

const send = (msg: FromWorker) =>
  new Promise<void>((resolve) => {
    if (!process.send) resolve();
    else process.send(msg, undefined, undefined, () => resolve());
  });

async function run(task: ExpertTask): Promise<void> {
  await selectBackend(task.backend, { log: (line) => void send({ type: 'backend', line }) });
  if (task.restart) await rm(join(task.dir, CHECKPOINT_FILE), { force: true });
  const tokenizer = await BpeTokenizer.load(task.tokenizerPath);
  const model = await GptModel.create(task.config, { seed: task.initSeed });
  current = new AbortController();
  try {
    const result = await trainLanguageModel({
      ...task.settings,
      model,
      tokenizer,
      data: task.data.length === 1 ? task.data[0]! : task.data,
      tokens: task.tokens,
      seed: task.dataSeed,
      checkpointDir: task.dir,
      resume: true,
      ...(task.initFrom !== undefined ? { initFrom: task.initFrom } : {}),
      task: task.name,
      signal: current.signal,
      onProgress: (event) => void send({ type: 'progress', event }),
    });
    await send({ type: 'done', name: task.name, result });
  } finally {
    model.dispose();
    current = undefined;
  }
}

process.on('message', (msg: ToWorker) => {
  if (msg.type === 'abort') {
    current?.abort();
    return;
  }
  if (msg.type === 'exit') {
    process.exit(0);
  }
  if (msg.type === 'train') {
    run(msg.task).catch(async (err: unknown) => {
      const e = err as Error & { code?: string };
      await send({
        type: 'error',
        name: msg.task.name,
        code: err instanceof CbtmError ? err.code : 'E_WORKER',
        message: e?.message ?? String(err),
        aborted: err instanceof CbtmError && err.code === 'E_ABORTED',
      });
    });
  }
});
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal reaches the whole process group. Treat it like the parent's abort message:
// finish the step, checkpoint, report. Dying here would make the pool restart this model.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => current?.abort());
void send({ type: 'ready', pid: process.pid });
