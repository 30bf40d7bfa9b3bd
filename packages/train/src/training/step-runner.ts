import { Worker } from 'node:worker_threads';
import { CbtmError } from '@cbtm/core';
import type { BackendName } from '../backend/select-backend.js';
import type { DropoutPlan } from '../model/gpt-forward.js';
import type { GptModel } from '../model/gpt-model.js';
import { builtScript } from './built-script.js';
import { lossAndGradients } from './train-step.js';

/** First message to a step thread: the model and the backend to run it on. */
export interface StepWorkerInit {
  readonly type: 'init';
  readonly backend: BackendName;
  readonly config: unknown;
  readonly names: string[];
  readonly weights: Float32Array[];
}

/** One share of a batch for a step thread; `weights` when they changed since the last one. */
export interface StepRequest {
  readonly type: 'step';
  readonly weights?: Float32Array[];
  readonly inputs: Int32Array;
  readonly targets: Int32Array;
  readonly rows: number;
  readonly drop?: DropoutPlan;
}

/** What a step thread answers. */
export type StepWorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'step'; readonly loss: number; readonly grads: Float32Array[] }
  | { readonly type: 'error'; readonly message: string };

/** Computes one batch's loss and gradients (spec order) for the current weights. */
export interface StepRunner {
  /** Tells the runner the weights changed (after an optimizer step). */
  weightsChanged(weights: readonly Float32Array[]): void;
  run(
    inputs: Int32Array,
    targets: Int32Array,
    rows: number,
    drop?: DropoutPlan,
  ): Promise<{ loss: number; grads: Float32Array[] }>;
  dispose(): Promise<void>;
}

/** Runs every step on the calling thread. */
export class LocalStepRunner implements StepRunner {
  readonly #model: GptModel;
  constructor(model: GptModel) {
    this.#model = model;
  }
  weightsChanged(weights: readonly Float32Array[]): void {
    const specs = this.#model.paramSpecs();
    this.#model.setWeights(new Map(specs.map((s, i) => [s.name, weights[i]!])));
  }
  async run(inputs: Int32Array, targets: Int32Array, rows: number, drop?: DropoutPlan) {
    return lossAndGradients(this.#model, inputs, targets, rows, drop);
  }
  async dispose(): Promise<void> {}
}

function validTargets(t: Int32Array): number {
  let n = 0;
  for (let i = 0; i < t.length; i++) if (t[i]! >= 0) n += 1;
  return n;
}

/**
 * Data parallelism inside one step: the batch's rows are split between this thread and
 * `threads − 1` worker threads, each with its own copy of the model on its own backend
 * instance (wasm threads do not start under Node, so this is how a step uses several cores).
 * Losses and gradients are averaged, weighted by scored tokens, which equals the whole-batch
 * mean up to rounding. Results depend on the thread count, never on timing.
 */
export class ThreadedStepRunner implements StepRunner {
  readonly #model: GptModel;
  readonly #workers: Worker[];
  #pendingWeights: Float32Array[] | undefined;

  private constructor(model: GptModel, workers: Worker[]) {
    this.#model = model;
    this.#workers = workers;
  }

  /** Starts `threads − 1` worker threads holding copies of `model`. */
  static async start(
    model: GptModel,
    threads: number,
    backend: BackendName,
  ): Promise<ThreadedStepRunner> {
    const script = builtScript(import.meta.url, 'step-worker.js');
    const specs = model.paramSpecs();
    const weights = model.getWeights();
    const workers = Array.from({ length: threads - 1 }, () => new Worker(script));
    try {
      await Promise.all(
        workers.map((w) => {
          const init: StepWorkerInit = {
            type: 'init',
            backend,
            config: model.config,
            names: specs.map((s) => s.name),
            weights: specs.map((s) => weights.get(s.name)!),
          };
          w.postMessage(init);
          return reply(w);
        }),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new ThreadedStepRunner(model, workers);
  }

  weightsChanged(weights: readonly Float32Array[]): void {
    const specs = this.#model.paramSpecs();
    this.#model.setWeights(new Map(specs.map((s, i) => [s.name, weights[i]!])));
    this.#pendingWeights = weights.map((w) => w.slice());
  }

  async run(inputs: Int32Array, targets: Int32Array, rows: number, drop?: DropoutPlan) {
    const parts = Math.min(this.#workers.length + 1, rows);
    const T = inputs.length / rows;
    const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * rows) / parts));
    const slice = (a: Int32Array, p: number) => a.slice(bounds[p]! * T, bounds[p + 1]! * T);
    const dropFor = (p: number): DropoutPlan | undefined =>
      drop ? { rate: drop.rate, seed: (drop.seed + 7919 * p) | 0 } : undefined;
    const weights = this.#pendingWeights;
    this.#pendingWeights = undefined;
    const remote = this.#workers.slice(0, parts - 1).map((w, i) => {
      const p = i + 1;
      const req: StepRequest = {
        type: 'step',
        ...(weights ? { weights } : {}),
        inputs: slice(inputs, p),
        targets: slice(targets, p),
        rows: bounds[p + 1]! - bounds[p]!,
        ...(dropFor(p) ? { drop: dropFor(p)! } : {}),
      };
      w.postMessage(req);
      return reply(w);
    });
    const localTargets = slice(targets, 0);
    const local = lossAndGradients(
      this.#model,
      slice(inputs, 0),
      localTargets,
      bounds[1]!,
      dropFor(0),
    );
    const results = [{ ...local, n: validTargets(localTargets) }];
    const answers = await Promise.all(remote);
    answers.forEach((a, i) => {
      if (a.type !== 'step')
        throw new CbtmError('E_WORKER', 'A training thread gave no gradients.');
      results.push({ loss: a.loss, grads: a.grads, n: validTargets(slice(targets, i + 1)) });
    });
    const total = results.reduce((s, r) => s + r.n, 0) || 1;
    const grads = results[0]!.grads.map((g) => new Float32Array(g.length));
    let loss = 0;
    for (const r of results) {
      const w = r.n / total;
      loss += w * r.loss;
      r.grads.forEach((g, p) => {
        const acc = grads[p]!;
        for (let i = 0; i < g.length; i++) acc[i]! += w * g[i]!;
      });
    }
    return { loss, grads };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

function reply(w: Worker): Promise<StepWorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: StepWorkerReply) => {
      cleanup();
      if (msg.type === 'error')
        reject(new CbtmError('E_WORKER', `A training thread failed: ${msg.message}`));
      else resolve(msg);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(
        new CbtmError('E_WORKER', `A training thread crashed: ${err.message}`, { cause: err }),
      );
    };
    const cleanup = () => {
      w.off('message', onMessage);
      w.off('error', onError);
    };
    w.on('message', onMessage);
    w.on('error', onError);
  });
}
