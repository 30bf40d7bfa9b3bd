import { InvalidArgumentError, type LongRunOptions, progressReporter } from '@cbtm/core';
import { type BackendName, currentBackend, ensureBackend } from '../backend/select-backend.js';
import type { GptModel } from '../model/gpt-model.js';
import { defaultAdamWOptions } from './adamw.js';
import type { LrDecay } from './lr-schedule.js';
import { collectTokens, evaluationRows, PackedBlockStream } from './packed-blocks.js';
import { restoreTraining } from './restore-training.js';
import { saveTraining } from './save-training.js';
import { LocalStepRunner, type StepRunner, ThreadedStepRunner } from './step-runner.js';
import type { TextSource, TextTokenizer } from './text-source.js';
import type { TrainHistoryEntry } from './train-state.js';
import { runTrainingLoop } from './training-loop.js';

/**
 * Options of {@link trainLanguageModel}. Give `steps` or `tokens`.
 *
 * @example
 * ```ts
 * await trainLanguageModel({ model, tokenizer, data: 'shard.jsonl.gz', tokens: 1e6, batchSize: 16 });
 * ```
 */
export interface TrainLanguageModelOptions extends LongRunOptions {
  /** The model to train, in place. */
  readonly model: GptModel;
  /** Training text (see {@link TextSource}); documents are packed with the end-of-document id. */
  readonly data: TextSource;
  readonly tokenizer: TextTokenizer;
  /** Optimizer steps. */
  readonly steps?: number;
  /** Training tokens; steps = ⌈tokens / (batchSize · contextLength)⌉. */
  readonly tokens?: number;
  /** Rows per step. @default 16 */
  readonly batchSize?: number;
  /** Peak learning rate. @default 1e-3 */
  readonly lr?: number;
  /** Final learning rate. @default lr / 10 */
  readonly minLr?: number;
  /** Linear warmup steps. @default min(100, ⌊steps / 10⌋) */
  readonly warmupSteps?: number;
  /** Decay after warmup. @default 'cosine' */
  readonly decay?: LrDecay;
  /** AdamW decoupled weight decay (matrices and embeddings only). @default 0.1 */
  readonly weightDecay?: number;
  /** @default 0.9 */
  readonly beta1?: number;
  /** @default 0.95 */
  readonly beta2?: number;
  /** Clip gradients to this global L2 norm. @default 1.0 */
  readonly gradClip?: number;
  /** Seed of the data shuffle and dropout. @default 0 */
  readonly seed?: number;
  /** Blocks in the shuffle buffer. @default 256 */
  readonly shuffleBuffer?: number;
  /** Measure held-out loss every this many steps (and at the end); 0 turns it off. @default 0 */
  readonly evalEvery?: number;
  /** Held-out text; without it the first documents of `data` (≈ `evalTokens`) are held out. */
  readonly evalData?: TextSource;
  /** Tokens in the held-out slice. @default 8192 */
  readonly evalTokens?: number;
  /** Directory for model.json, weights, checkpoint.bin and train-state.json. */
  readonly checkpointDir?: string;
  /** Checkpoint every this many steps (and always at the end and on abort). @default 0 (end only) */
  readonly checkpointEvery?: number;
  /** Continue from `checkpointDir`'s checkpoint when there is one. @default false */
  readonly resume?: boolean;
  /** Seed branching: start from this model directory's weights instead of the model's own. */
  readonly initFrom?: string;
  /** Keep a history entry every this many steps (eval steps are always kept). @default 10 */
  readonly logEvery?: number;
  /** `task` stamped on progress events (e.g. `expert-3`). */
  readonly task?: string;
  /**
   * Threads that share each batch (data parallelism: the extra ones are worker threads with
   * their own backend instance). Results depend on the count, so resume with the same one.
   * @default 1
   */
  readonly threads?: number;
}

/**
 * Default {@link TrainLanguageModelOptions} (those with fixed defaults).
 *
 * @example
 * ```ts
 * const lr = options.lr ?? defaultTrainOptions.lr;
 * ```
 */
export const defaultTrainOptions = {
  batchSize: 16,
  lr: 1e-3,
  decay: 'cosine',
  weightDecay: defaultAdamWOptions.weightDecay,
  beta1: defaultAdamWOptions.beta1,
  beta2: defaultAdamWOptions.beta2,
  gradClip: 1.0,
  seed: 0,
  shuffleBuffer: 256,
  evalEvery: 0,
  evalTokens: 8192,
  checkpointEvery: 0,
  resume: false,
  logEvery: 10,
  threads: 1,
} as const satisfies Partial<TrainLanguageModelOptions>;

/**
 * What {@link trainLanguageModel} returns.
 *
 * @example
 * ```ts
 * const { steps, finalLoss, valLoss, backend } = await trainLanguageModel(options);
 * ```
 */
export interface TrainResult {
  /** Steps completed in total (including those before a resume). */
  readonly steps: number;
  /** Training tokens seen in total. */
  readonly tokens: number;
  /** Loss of the last step's batch. */
  readonly finalLoss: number;
  /** Last held-out loss, or null without validation. */
  readonly valLoss: number | null;
  readonly history: readonly TrainHistoryEntry[];
  /** The tensor backend that ran it. */
  readonly backend: BackendName;
}

/**
 * Trains a {@link GptModel} on packed blocks of `data` with AdamW (β = 0.9, 0.95), linear warmup
 * then cosine or linear decay, and gradient clipping. With `checkpointDir` it writes the model
 * (TF.js format), `checkpoint.bin` (weights, optimizer moments, data position, RNG states) and
 * `train-state.json`, atomically, every `checkpointEvery` steps and at the end. `resume: true`
 * continues a checkpoint exactly. An aborted signal stops after the current step, writes a
 * checkpoint, and rejects with `AbortError`.
 *
 * @example
 * ```ts
 * const model = await GptModel.create({ vocabSize: tokenizer.vocabSize });
 * const result = await trainLanguageModel({
 *   model, tokenizer, data: 'runs/a/shards/0.jsonl.gz', tokens: 1_000_000,
 *   checkpointDir: 'runs/a/experts/0', checkpointEvery: 100, resume: true,
 *   onProgress: (e) => console.log(e.done, e.metrics?.loss),
 * });
 * ```
 */
export async function trainLanguageModel(options: TrainLanguageModelOptions): Promise<TrainResult> {
  const o = { ...defaultTrainOptions, ...options };
  const { model, tokenizer } = o;
  const config = model.config;
  const T = config.contextLength;
  const B = o.batchSize;
  if (!(Number.isInteger(B) && B > 0))
    throw new InvalidArgumentError(`batchSize must be a positive integer, got ${B}.`);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new InvalidArgumentError(
      `The tokenizer has ${tokenizer.vocabSize} ids but the model only ${config.vocabSize}.`,
    );
  }
  const totalSteps =
    o.steps ?? (o.tokens !== undefined ? Math.ceil(o.tokens / (B * T)) : Number.NaN);
  if (!(Number.isInteger(totalSteps) && totalSteps > 0)) {
    throw new InvalidArgumentError(
      'Give steps (a positive integer) or tokens (a positive number).',
    );
  }
  if (!(Number.isInteger(o.threads) && o.threads >= 1))
    throw new InvalidArgumentError(`threads must be a positive integer, got ${o.threads}.`);
  if ((o.resume || o.checkpointEvery > 0) && !o.checkpointDir) {
    throw new InvalidArgumentError('resume and checkpointEvery need checkpointDir.');
  }
  await ensureBackend();
  const backend = currentBackend()!;
  const schedule = {
    lr: o.lr,
    minLr: o.minLr ?? o.lr / 10,
    warmupSteps: o.warmupSteps ?? Math.min(100, Math.floor(totalSteps / 10)),
    totalSteps,
    decay: o.decay,
  };
  const hyperparameters = {
    batchSize: B,
    ...schedule,
    weightDecay: o.weightDecay,
    beta1: o.beta1,
    beta2: o.beta2,
    gradClip: o.gradClip,
    seed: o.seed,
    shuffleBuffer: o.shuffleBuffer,
    evalEvery: o.evalEvery,
    evalTokens: o.evalTokens,
    threads: o.threads,
  };
  const fingerprint = JSON.stringify({ config, hyperparameters });

  // Held-out slice: fixed, so a resumed run measures the same thing.
  let evalRows: ReturnType<typeof evaluationRows> | undefined;
  let heldOutDocuments = 0;
  if (o.evalEvery > 0) {
    const held = await collectTokens(o.evalData ?? o.data, tokenizer, o.evalTokens + 1);
    if (!o.evalData) {
      if (held.exhausted) {
        throw new InvalidArgumentError(
          `The training data has fewer than ${o.evalTokens} tokens, all of which a held-out slice would take. Pass evalData, lower evalTokens, or set evalEvery: 0.`,
        );
      }
      heldOutDocuments = held.documents;
    }
    evalRows = evaluationRows(held.tokens, T, tokenizer.eosId);
  }

  const { state, stream: streamState } = await restoreTraining({
    model,
    fingerprint,
    adamOptions: { beta1: o.beta1, beta2: o.beta2, weightDecay: o.weightDecay },
    seed: o.seed,
    resume: o.resume,
    ...(o.checkpointDir !== undefined ? { checkpointDir: o.checkpointDir } : {}),
    ...(o.initFrom !== undefined ? { initFrom: o.initFrom } : {}),
  });

  const runner: StepRunner =
    o.threads > 1
      ? await ThreadedStepRunner.start(model, o.threads, backend)
      : new LocalStepRunner(model);
  const stream = new PackedBlockStream(
    o.data,
    tokenizer,
    {
      contextLength: T,
      shuffleBuffer: o.shuffleBuffer,
      seed: o.seed,
      skipDocuments: heldOutDocuments,
    },
    streamState,
  );
  const progress = progressReporter('train', o.onProgress, {
    total: totalSteps,
    unit: 'steps',
    ...(o.task !== undefined ? { task: o.task } : {}),
  });
  const checkpointDir = o.checkpointDir;
  const checkpoint = async (done: boolean, finalLoss: number | null) => {
    if (!checkpointDir) return;
    const context = {
      dir: checkpointDir,
      model,
      totalSteps,
      fingerprint,
      backend,
      hyperparameters,
      heldOutDocuments,
      initFrom: o.initFrom,
    };
    await saveTraining(context, state, stream.state(), done, finalLoss);
  };

  progress.start(`training ${model.paramCount().toLocaleString('en-US')} weights on ${backend}`);
  progress.update(state.step);
  let lastLoss: number;
  try {
    lastLoss = await runTrainingLoop(
      {
        model,
        runner,
        stream,
        schedule,
        batchSize: B,
        gradClip: o.gradClip,
        lr: o.lr,
        evalEvery: o.evalEvery,
        evalRows,
        logEvery: o.logEvery,
        checkpointEvery: o.checkpointEvery,
        progress,
        signal: o.signal,
        checkpoint,
      },
      state,
    );
    await checkpoint(true, lastLoss);
  } finally {
    await stream.close();
    await runner.dispose();
  }
  const { step, tokens, valLoss, history } = state;
  progress.done({ metrics: { loss: lastLoss, ...(valLoss !== null ? { valLoss } : {}) } });
  return { steps: step, tokens, finalLoss: lastLoss, valLoss, history, backend };
}
