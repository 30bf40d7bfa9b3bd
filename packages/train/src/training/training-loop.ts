import { CbtmError, type ProgressReporter, throwIfAborted } from '@cbtm/core';
import type { GptModel } from '../model/gpt-model.js';
import { clipScale } from './adamw.js';
import { type LrSchedule, learningRateAt } from './lr-schedule.js';
import type { evaluationRows, PackedBlockStream } from './packed-blocks.js';
import type { StepRunner } from './step-runner.js';
import type { TrainHistoryEntry } from './train-state.js';
import { evaluateLoss } from './train-step.js';
import type { TrainingState } from './training-state.js';

/** What {@link runTrainingLoop} works with. */
export interface TrainingLoop {
  readonly model: GptModel;
  readonly runner: StepRunner;
  readonly stream: PackedBlockStream;
  readonly schedule: LrSchedule;
  readonly batchSize: number;
  readonly gradClip: number;
  /** Peak learning rate, named in the error when the loss diverges. */
  readonly lr: number;
  readonly evalEvery: number;
  readonly evalRows: ReturnType<typeof evaluationRows> | undefined;
  readonly logEvery: number;
  readonly checkpointEvery: number;
  readonly progress: ProgressReporter;
  readonly signal: AbortSignal | undefined;
  /** Writes a checkpoint of the state so far (a no-op without a checkpoint directory). */
  checkpoint(done: boolean, finalLoss: number | null): Promise<void>;
}

/**
 * Runs optimizer steps until `state.step` reaches the schedule's total, advancing `state`:
 * each step draws a batch, its dropout seed, the gradients (clipped to `gradClip`), and an
 * AdamW update. It measures held-out loss every `evalEvery` steps and at the end, keeps a
 * history entry every `logEvery` steps, and checkpoints every `checkpointEvery` steps. An
 * aborted `signal` stops it after the current step with a checkpoint and an `AbortError`.
 * Returns the loss of the last step (NaN when no step ran and the history is empty).
 */
export async function runTrainingLoop(loop: TrainingLoop, state: TrainingState): Promise<number> {
  const { model, runner, stream, schedule, progress } = loop;
  const config = model.config;
  const B = loop.batchSize;
  const T = config.contextLength;
  const totalSteps = schedule.totalSteps;
  const decayFlags = model.paramSpecs().map((s) => s.decay);
  const evaluate = () => {
    const rows = loop.evalRows;
    if (!rows || rows.rows === 0) return null;
    return evaluateLoss(model, rows.inputs, rows.targets, rows.rows, B);
  };
  let lastLoss = state.history.length ? state.history[state.history.length - 1]!.loss : Number.NaN;
  let windowStart = performance.now();
  let windowTokens = 0;
  throwIfAborted(loop.signal);
  while (state.step < totalSteps) {
    const { inputs, targets } = await stream.nextBatch(B);
    const lr = learningRateAt(state.step, schedule);
    const dropoutSeed = state.trainRng.int(0, 0x7fffffff);
    const drop = config.dropout > 0 ? { rate: config.dropout, seed: dropoutSeed } : undefined;
    const { loss, grads } = await runner.run(inputs, targets, B, drop);
    if (!Number.isFinite(loss)) {
      throw new CbtmError(
        'E_MODEL',
        `The training loss became ${loss} at step ${state.step + 1}. Lower lr (now ${loop.lr}) or check the data.`,
      );
    }
    const { scale } = clipScale(grads, loop.gradClip);
    state.optimizer.step(state.weights, grads, decayFlags, lr, scale);
    runner.weightsChanged(state.weights);
    state.step += 1;
    state.tokens += B * T;
    windowTokens += B * T;
    lastLoss = loss;
    const step = state.step;
    const isEval = loop.evalEvery > 0 && (step % loop.evalEvery === 0 || step === totalSteps);
    if (isEval) state.valLoss = evaluate();
    if (step % loop.logEvery === 0 || isEval || step === totalSteps) {
      const now = performance.now();
      const tokensPerSecond = windowTokens / Math.max(1e-9, (now - windowStart) / 1000);
      windowStart = now;
      windowTokens = 0;
      const valLoss = state.valLoss;
      const entry: TrainHistoryEntry = {
        step,
        loss,
        lr,
        tokensPerSecond,
        ...(isEval && valLoss !== null ? { valLoss } : {}),
      };
      state.history.push(entry);
      progress.update(step, {
        metrics: { loss, lr, tokensPerSecond, ...(isEval && valLoss !== null ? { valLoss } : {}) },
      });
    }
    if (loop.checkpointEvery > 0 && step % loop.checkpointEvery === 0 && step < totalSteps)
      await loop.checkpoint(false, null);
    // Let abort signals and worker IPC through between steps; the loop is otherwise synchronous.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (loop.signal?.aborted) {
      await loop.checkpoint(false, null);
      throwIfAborted(loop.signal);
    }
  }
  return lastLoss;
}
