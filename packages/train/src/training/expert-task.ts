import type { ProgressEvent } from '@cbtm/core';
import type { BackendPreference } from '../backend/select-backend.js';
import type { GptConfig } from '../model/gpt-config.js';
import type { LrDecay } from './lr-schedule.js';
import type { TrainResult } from './train-language-model.js';

/**
 * Training settings shared by every model of a run (each has a default in trainLanguageModel).
 *
 * @example
 * ```ts
 * await trainExperts(tasks, { tokenizer, train: { lr: 6e-4, evalEvery: 200, checkpointEvery: 100 } });
 * ```
 */
export interface ExpertTrainSettings {
  readonly batchSize?: number;
  readonly lr?: number;
  readonly minLr?: number;
  readonly warmupSteps?: number;
  readonly decay?: LrDecay;
  readonly weightDecay?: number;
  readonly gradClip?: number;
  readonly shuffleBuffer?: number;
  readonly evalEvery?: number;
  readonly evalTokens?: number;
  readonly checkpointEvery?: number;
  readonly logEvery?: number;
  /** Threads per model (data parallelism inside a step). @default 1: the pool already uses every core */
  readonly threads?: number;
}

/** One model to train in a worker process. */
export interface ExpertTask {
  /** `expert-3`, `random-expert-3`, `dense` or `seed`. */
  readonly name: string;
  /** Output directory (model, checkpoint, train-state.json). */
  readonly dir: string;
  /** Shard files, read round-robin. */
  readonly data: readonly string[];
  readonly tokenizerPath: string;
  readonly config: GptConfig;
  readonly tokens: number;
  readonly initSeed: number;
  readonly dataSeed: number;
  readonly initFrom?: string;
  readonly settings: ExpertTrainSettings;
  readonly backend: BackendPreference;
  /** Delete an existing checkpoint instead of resuming it. */
  readonly restart: boolean;
}

/** Messages from the parent to a worker. */
export type ToWorker =
  | { readonly type: 'train'; readonly task: ExpertTask }
  | { readonly type: 'abort' }
  | { readonly type: 'exit' };

/** Messages from a worker to the parent. */
export type FromWorker =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'backend'; readonly line: string }
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'done'; readonly name: string; readonly result: TrainResult }
  | {
      readonly type: 'error';
      readonly name: string;
      readonly code: string;
      readonly message: string;
      readonly aborted: boolean;
    };
