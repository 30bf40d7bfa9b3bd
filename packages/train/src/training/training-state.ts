import type { Rng } from '@cbtm/core';
import type { GptConfig } from '../model/gpt-config.js';
import type { AdamW } from './adamw.js';
import type { TrainHistoryEntry } from './train-state.js';

/**
 * What a training run changes as it goes: the weights (updated in place by the optimizer), the
 * optimizer, the counters, the RNG of dropout seeds, the history and the last held-out loss.
 * `restoreTraining` makes it, the training loop advances it, `saveTraining` writes it.
 */
export interface TrainingState {
  /** One array per parameter, in `model.paramSpecs()` order. */
  readonly weights: Float32Array[];
  readonly optimizer: AdamW;
  /** Steps completed in total (including those before a resume). */
  step: number;
  /** Training tokens seen in total. */
  tokens: number;
  /** Draws each step's dropout seed. */
  readonly trainRng: Rng;
  readonly history: TrainHistoryEntry[];
  /** Last held-out loss, or null before the first evaluation. */
  valLoss: number | null;
}

/** The JSON header of a training's `checkpoint.bin`. */
export interface CheckpointHeader {
  readonly format: 'cbtm-checkpoint';
  readonly version: 1;
  readonly step: number;
  readonly totalSteps: number;
  readonly tokens: number;
  readonly config: GptConfig;
  readonly optimizerStep: number;
  readonly data: { epoch: number; docIndex: number; rng: number[] };
  readonly rng: number[];
  readonly history: TrainHistoryEntry[];
  readonly valLoss: number | null;
  readonly fingerprint: string;
}

/** Whether two model configs describe the same shape. */
export const sameConfig = (a: GptConfig, b: GptConfig): boolean =>
  JSON.stringify(a) === JSON.stringify(b);
