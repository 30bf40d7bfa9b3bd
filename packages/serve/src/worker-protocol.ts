import type { Document } from '@cbtm/core';
import type { GeneratedToken, MixingRule, WeightsMode } from '@cbtm/ensemble';
import type { LoadRunOptions } from '@cbtm/ensemble/node';
import type { RouteOptions } from '@cbtm/route';

/** What the model worker needs to load the run (its `workerData`). */
export interface WorkerInit {
  readonly runDir: string;
  readonly backend?: LoadRunOptions['backend'];
  readonly maxLoadedExperts: number;
  /** Generation keeps key/value caches (`ServeOptions.kvCache`). */
  readonly kvCache: boolean;
  /** `ServeOptions.slideStride`; absent: a quarter of the experts' context length. */
  readonly slideStride?: number;
  readonly prior?: readonly number[];
  /** Held-out documents to estimate the cached prior from (read on the main thread). */
  readonly priorDocuments?: readonly (Document | string)[];
  readonly priorMaxDocuments?: number;
  /**
   * One Int32 cell per task the worker may run at once: the id of that cell's task to cancel.
   * The worker reads its task's cell synchronously whenever the ensemble checks the task's
   * signal, so a cancel lands between two expert passes even when the worker never returns to
   * its event loop.
   */
  readonly cancel: SharedArrayBuffer;
}

/** The loaded run, as the worker reports it once ready. */
export interface WorkerReady {
  readonly type: 'ready';
  /** Experts of the c-BTM ensemble. */
  readonly k: number;
  readonly backend: string;
  /** Served model ids: `cbtm`, and `dense` when the run has its baseline. */
  readonly models: readonly string[];
  readonly hasPrior: boolean;
}

/** Routing and mixing shared by the tasks. */
interface Mixed {
  readonly routing: RouteOptions;
  readonly mixing: MixingRule;
}

/** `/v1/route`. */
export interface RouteTask {
  readonly op: 'route';
  readonly text: string;
  readonly routing: RouteOptions;
}

/** `/v1/score`. */
export interface ScoreTask extends Mixed {
  readonly op: 'score';
  readonly text: string;
  readonly weightsMode?: WeightsMode;
  readonly maxTokens?: number;
  readonly appendEos?: boolean;
}

/** How the generating tasks sample, and when they stop. */
interface Sampled extends Mixed {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly seed: number;
  readonly stop: readonly string[];
}

/** `/v1/generate`: emits one `token` event per token. */
export interface GenerateTask extends Sampled {
  readonly op: 'generate';
  readonly prompt: string;
}

/** `/v1/completions`: every choice of the request, prompt-major; choice `i` uses `seed + i`. */
export interface CompletionTask extends Sampled {
  readonly op: 'completion';
  readonly model: string;
  readonly prompts: readonly string[];
  readonly n: number;
  /** Alternatives per token (0..5), or null for no log-probabilities. */
  readonly logprobs: number | null;
  readonly echo: boolean;
}

/** A unit of model work, as the main thread sends it. */
export type Task = RouteTask | ScoreTask | GenerateTask | CompletionTask;

/** One token of a completion, with the mixture's log-probabilities when asked. */
export interface Piece {
  readonly text: string;
  readonly logProb?: number;
  /** The most likely tokens as text, most likely first: `[text, logProb]`. */
  readonly top?: readonly (readonly [string, number])[];
}

/** What a task reports while it runs. */
export type TaskEvent =
  | { readonly kind: 'token'; readonly token: GeneratedToken }
  | { readonly kind: 'echo'; readonly index: number; readonly pieces: readonly Piece[] }
  | { readonly kind: 'piece'; readonly index: number; readonly piece: Piece }
  | { readonly kind: 'choice-done'; readonly index: number; readonly finishReason: FinishReason };

/** Why a generation ended: `length` at its token limit, `stop` at end-of-document or a stop string. */
export type FinishReason = 'length' | 'stop';

/** An error that crossed the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  /** `CbtmError`'s code, when it was one. */
  readonly code?: string;
  readonly stack?: string;
}

/** Main thread → worker. */
export type ToWorker =
  | {
      readonly type: 'task';
      readonly id: number;
      /** The task's cancel cell (see {@link WorkerInit.cancel}). */
      readonly cell: number;
      readonly task: Task;
    }
  | { readonly type: 'dispose' };

/** Worker → main thread. */
export type FromWorker =
  | WorkerReady
  | { readonly type: 'init-failed'; readonly error: SerializedError }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'event'; readonly id: number; readonly event: TaskEvent }
  | { readonly type: 'done'; readonly id: number; readonly value: unknown }
  | { readonly type: 'failed'; readonly id: number; readonly error: SerializedError };

/** `err` as plain data that `postMessage` can carry. */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(err.stack ? { stack: err.stack } : {}),
  };
}
