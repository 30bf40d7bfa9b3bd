/**
 * The model worker thread's entry: loads the run once, then runs the tasks the main thread sends
 * (several at once when the server allows it: their generation steps share one batch per expert),
 * posting each task's events and its answer (or error) back. The HTTP server on the main thread
 * stays responsive whatever the models are doing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AbortError, InvalidArgumentError } from '@cbtm/core';
import type { Ensemble } from '@cbtm/ensemble';
import {
  type FromWorker,
  serializeError,
  type ToWorker,
  type WorkerInit,
} from './worker-protocol.js';
import { runTask } from './worker-tasks.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const cancel = new Int32Array(init.cancel);
const post = (m: FromWorker) => port.postMessage(m);
const log = (line: string) => post({ type: 'log', line });

/**
 * A signal for task `id` that also fires when the main thread writes `id` into the task's shared
 * cancel cell. The ensemble reads `signal.aborted` between expert passes, often without yielding
 * to the event loop, so a cancel posted as a message could wait until the task had finished anyway.
 */
function taskSignal(id: number, cell: number): AbortSignal {
  const ac = new AbortController();
  const signal = ac.signal;
  const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
  Object.defineProperty(signal, 'aborted', {
    get() {
      if (!nativeAborted.call(signal) && Atomics.load(cancel, cell) === id) {
        ac.abort(new AbortError('The request was cancelled.'));
      }
      return nativeAborted.call(signal);
    },
  });
  return signal;
}

/**
 * The window stride of generation: `asked`, checked against the experts' context length, or a
 * quarter of it. Loads the first active expert (the first request would).
 */
async function slideStrideOf(ensemble: Ensemble, asked: number | undefined): Promise<number> {
  const first = ensemble.activeExperts()[0];
  if (first === undefined) return asked ?? 1;
  const C = await ensemble.experts.use(first, (m) => m.config.contextLength);
  if (asked === undefined) return Math.max(1, Math.floor(C / 4));
  if (asked > C) {
    throw new InvalidArgumentError(
      `slideStride (--slide-stride) must be at most the experts' context length, ${C}; got ${asked}.`,
    );
  }
  return asked;
}

async function main(): Promise<void> {
  const { loadRun, ExpertStepBatcher } = await import('@cbtm/ensemble/node');
  const run = await loadRun(init.runDir, {
    maxLoadedExperts: init.maxLoadedExperts,
    ...(init.backend ? { backend: init.backend } : {}),
    log,
  });
  let prior = init.prior;
  if (init.priorDocuments !== undefined) {
    try {
      prior = Array.from(
        await run.cbtm.estimatePrior(init.priorDocuments, {
          ...(init.priorMaxDocuments !== undefined ? { maxDocuments: init.priorMaxDocuments } : {}),
        }),
      );
    } catch (err) {
      await run.dispose();
      throw err;
    }
  }
  const models = new Map<string, Ensemble>([
    ['cbtm', run.cbtm],
    ...(run.dense ? ([['dense', run.dense]] as const) : []),
  ]);
  const batchers = new Map([...models.keys()].map((id) => [id, new ExpertStepBatcher()]));
  let slideStride: number;
  try {
    slideStride = await slideStrideOf(run.cbtm, init.slideStride);
  } catch (err) {
    await run.dispose();
    throw err;
  }
  log(
    init.kvCache
      ? `cbtm/serve: generation keeps key/value caches; past the context each expert's window slides ${slideStride} token${slideStride === 1 ? '' : 's'} at a time.`
      : `cbtm/serve: generation recomputes the window at every token (kvCache: false); past the context it slides ${slideStride} token${slideStride === 1 ? '' : 's'} at a time.`,
  );
  const loaded = {
    models,
    batchers,
    cache: init.kvCache,
    slideStride,
    ...(prior ? { prior } : {}),
  };

  port.on('message', (m: ToWorker) => {
    if (m.type === 'dispose') {
      // Exiting ends this thread only; the main thread waits for its exit event.
      void run.dispose().finally(() => process.exit(0));
      return;
    }
    const { id, cell, task } = m;
    runTask(loaded, task, taskSignal(id, cell), (event) => post({ type: 'event', id, event })).then(
      (value) => post({ type: 'done', id, value }),
      (err: unknown) => post({ type: 'failed', id, error: serializeError(err) }),
    );
  });
  post({
    type: 'ready',
    k: run.cbtm.k,
    backend: run.backend,
    models: [...models.keys()],
    hasPrior: prior !== undefined,
  });
}

main().catch((err: unknown) => {
  post({ type: 'init-failed', error: serializeError(err) });
  port.close();
});
