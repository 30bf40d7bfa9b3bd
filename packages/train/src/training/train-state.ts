import { join } from 'node:path';
import { pathExists, readJsonFile, writeJsonAtomic } from '@cbtm/core/node';
import type { BackendName } from '../backend/select-backend.js';
import type { GptConfig } from '../model/gpt-config.js';

/**
 * File name of the human-readable training state next to a model.
 *
 * @example
 * ```ts
 * const state = await readJsonFile<TrainState>(join(dir, TRAIN_STATE_FILE));
 * ```
 */
export const TRAIN_STATE_FILE = 'train-state.json';

/**
 * One logged step of a training run.
 *
 * @example
 * ```ts
 * const last: TrainHistoryEntry | undefined = result.history.at(-1);
 * ```
 */
export interface TrainHistoryEntry {
  /** 1-based step just finished. */
  readonly step: number;
  /** Training loss of that step's batch (nats per token). */
  readonly loss: number;
  /** Learning rate used for that step. */
  readonly lr: number;
  /** Training tokens per second since the previous entry. */
  readonly tokensPerSecond: number;
  /** Held-out loss, when it was measured at this step. */
  readonly valLoss?: number;
}

/**
 * `train-state.json`: where a run stands, written atomically at every checkpoint.
 *
 * @example
 * ```ts
 * const { step, totalSteps, backend } = await readTrainState('runs/a/experts/0');
 * ```
 */
export interface TrainState {
  readonly format: 'cbtm-train-state';
  readonly version: 1;
  readonly step: number;
  readonly totalSteps: number;
  readonly tokens: number;
  readonly done: boolean;
  readonly backend: BackendName;
  readonly config: GptConfig;
  readonly paramCount: number;
  readonly flopsPerToken: number;
  readonly hyperparameters: Readonly<Record<string, unknown>>;
  /** Where the data stream stands (the full position, with the shuffle buffer, is in the checkpoint). */
  readonly data: {
    readonly epoch: number;
    readonly docIndex: number;
    readonly heldOutDocuments: number;
  };
  /** State of the training RNG (dropout seeds) and the data shuffle RNG. */
  readonly rng: { readonly train: number[]; readonly data: number[] };
  readonly initFrom: string | null;
  readonly finalLoss: number | null;
  readonly valLoss: number | null;
  readonly history: readonly TrainHistoryEntry[];
  readonly updatedAt: string;
}

/** Writes `train-state.json` into `dir` atomically. */
export async function writeTrainState(dir: string, state: TrainState): Promise<void> {
  await writeJsonAtomic(join(dir, TRAIN_STATE_FILE), state);
}

/**
 * Reads `train-state.json` from a model directory.
 *
 * @example
 * ```ts
 * const state = await readTrainState('runs/a/experts/0');
 * console.log(state.backend, state.step, state.valLoss);
 * ```
 */
export async function readTrainState(dir: string): Promise<TrainState> {
  return readJsonFile<TrainState>(join(dir, TRAIN_STATE_FILE));
}

/**
 * Reads `train-state.json` from a model directory, or null when the model has none yet (it
 * never trained, or has not reached its first checkpoint). A malformed file still throws.
 *
 * @example
 * ```ts
 * const state = await readTrainStateIfPresent('runs/a/dense');
 * console.log(state?.backend ?? 'not trained yet');
 * ```
 */
export async function readTrainStateIfPresent(dir: string): Promise<TrainState | null> {
  const file = join(dir, TRAIN_STATE_FILE);
  if (!(await pathExists(file))) return null;
  return readJsonFile<TrainState>(file);
}

/**
 * How far a model got, from its `train-state.json`.
 *
 * @example
 * ```ts
 * const { step, totalSteps, done }: TrainProgress = await readTrainProgress('runs/a/experts/0');
 * ```
 */
export interface TrainProgress {
  /** Steps saved by the last checkpoint: where training resumes (0 before the first). */
  readonly step: number;
  /** Steps the model trains in all; null before its first checkpoint. */
  readonly totalSteps: number | null;
  /** The state says training finished. */
  readonly done: boolean;
}

/**
 * How far the model in `dir` got: step 0, not done, when it has no `train-state.json` yet, or
 * when the file cannot be read (one being replaced right now; the next look will see it). For
 * polling while workers train; use {@link readTrainState} for the whole state.
 *
 * @example
 * ```ts
 * const { done } = await readTrainProgress('runs/a/experts/0');
 * if (!done) console.log('expert 0 still needs training');
 * ```
 */
export async function readTrainProgress(dir: string): Promise<TrainProgress> {
  const file = join(dir, TRAIN_STATE_FILE);
  const none: TrainProgress = { step: 0, totalSteps: null, done: false };
  if (!(await pathExists(file))) return none;
  try {
    const s = await readJsonFile<Partial<TrainState>>(file);
    return { step: s.step ?? 0, totalSteps: s.totalSteps ?? null, done: s.done === true };
  } catch {
    return none;
  }
}
