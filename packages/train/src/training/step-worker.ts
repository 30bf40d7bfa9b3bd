/**
 * Entry point of a data-parallel training thread: it holds a copy of the model and computes
 * the loss and gradients of its share of each batch (see `ThreadedStepRunner`).
 */
import { parentPort } from 'node:worker_threads';
import { selectBackend } from '../backend/select-backend.js';
import '../node-platform.js';
import type { GptConfig } from '../model/gpt-config.js';
import { GptModel } from '../model/gpt-model.js';
import type { StepRequest, StepWorkerInit, StepWorkerReply } from './step-runner.js';
import { lossAndGradients } from './train-step.js';

let model: GptModel | undefined;

async function init(msg: StepWorkerInit): Promise<void> {
  await selectBackend(msg.backend, { log: () => {} });
  model = await GptModel.fromWeights(
    msg.config as GptConfig,
    new Map(msg.names.map((n, i) => [n, msg.weights[i]!])),
  );
}

function step(msg: StepRequest): StepWorkerReply {
  const m = model!;
  if (msg.weights) m.setWeights(new Map(m.paramSpecs().map((s, i) => [s.name, msg.weights![i]!])));
  const { loss, grads } = lossAndGradients(m, msg.inputs, msg.targets, msg.rows, msg.drop);
  return { type: 'step', loss, grads };
}

parentPort!.on('message', (msg: StepWorkerInit | StepRequest) => {
  if (msg.type === 'init') {
    init(msg).then(
      () => parentPort!.postMessage({ type: 'ready' } satisfies StepWorkerReply),
      (err: Error) =>
        parentPort!.postMessage({ type: 'error', message: err.message } satisfies StepWorkerReply),
    );
    return;
  }
  try {
    const reply = step(msg);
    if (reply.type === 'step')
      parentPort!.postMessage(
        reply,
        reply.grads.map((g) => g.buffer as ArrayBuffer),
      );
  } catch (err) {
    parentPort!.postMessage({
      type: 'error',
      message: (err as Error).message,
    } satisfies StepWorkerReply);
  }
});
