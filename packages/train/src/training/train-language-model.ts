import {
  CbtmError,
  InvalidArgumentError,
  type LongRunOptions,
  progressReporter,
  Rng,
  throwIfAborted,
} from '@cbtm/core';
import { type BackendName, currentBackend, ensureBackend } from '../backend/select-backend.js';
import type { GptConfig } from '../model/gpt-config.js';
import type { GptModel } from '../model/gpt-model.js';
import { readModelFiles, writeModelFiles } from '../model/model-files.js';
import { AdamW, clipScale, defaultAdamWOptions } from './adamw.js';
import {
  type CheckpointSection,
  hasCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.js';
import { type LrDecay, learningRateAt } from './lr-schedule.js';
import {
  type BlockStreamState,
  collectTokens,
  evaluationRows,
  PackedBlockStream,
} from './packed-blocks.js';
import { LocalStepRunner, type StepRunner, ThreadedStepRunner } from './step-runner.js';
import type { TextSource, TextTokenizer } from './text-source.js';
import { type TrainHistoryEntry, type TrainState, writeTrainState } from './train-state.js';
import { evaluateLoss } from './train-step.js';

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

interface CheckpointHeader {
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

const sameConfig = (a: GptConfig, b: GptConfig) => JSON.stringify(a) === JSON.stringify(b);

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

  const specs = model.paramSpecs();
  const decayFlags = specs.map((s) => s.decay);
  let weights: Float32Array[];
  let optimizer: AdamW;
  let step = 0;
  let tokens = 0;
  let trainRng = new Rng(o.seed ^ 0x5eed);
  let streamState: BlockStreamState | undefined;
  let history: TrainHistoryEntry[] = [];
  let valLoss: number | null = null;
  const adamOptions = { beta1: o.beta1, beta2: o.beta2, weightDecay: o.weightDecay };

  if (o.resume && o.checkpointDir && (await hasCheckpoint(o.checkpointDir))) {
    const ck = await readCheckpoint<CheckpointHeader>(o.checkpointDir);
    if (!sameConfig(ck.header.config, config)) {
      throw new CbtmError(
        'E_MODEL',
        `The checkpoint in ${o.checkpointDir} is for another model shape. Delete it or use the same config.`,
      );
    }
    if (ck.header.fingerprint !== fingerprint) {
      throw new CbtmError(
        'E_MODEL',
        `The checkpoint in ${o.checkpointDir} was written with other training settings. Resume with the same settings, or delete checkpoint.bin to start over.`,
      );
    }
    const get = (name: string) => {
      const s = ck.sections.get(name);
      if (!s)
        throw new CbtmError(
          'E_FORMAT',
          `The checkpoint in ${o.checkpointDir} lacks ${name}. Delete it to start over.`,
        );
      return s;
    };
    weights = specs.map((s) => get(`w:${s.name}`) as Float32Array);
    optimizer = new AdamW(
      weights.map((w) => w.length),
      adamOptions,
      {
        t: ck.header.optimizerStep,
        m: specs.map((s) => get(`m:${s.name}`) as Float32Array),
        v: specs.map((s) => get(`v:${s.name}`) as Float32Array),
      },
    );
    step = ck.header.step;
    tokens = ck.header.tokens;
    trainRng = Rng.fromState(ck.header.rng);
    history = [...ck.header.history];
    valLoss = ck.header.valLoss;
    streamState = {
      epoch: ck.header.data.epoch,
      docIndex: ck.header.data.docIndex,
      rng: ck.header.data.rng,
      pending: get('data:pending') as Int32Array,
      buffer: get('data:buffer') as Int32Array,
    };
    model.setWeights(new Map(specs.map((s, i) => [s.name, weights[i]!])));
  } else {
    if (o.initFrom) {
      const seed = await readModelFiles(o.initFrom);
      if (!sameConfig(seed.config, config)) {
        throw new InvalidArgumentError(
          `The seed model in ${o.initFrom} has another shape than the model to train.`,
        );
      }
      model.setWeights(seed.weights);
    }
    const current = model.getWeights();
    weights = specs.map((s) => current.get(s.name)!);
    optimizer = new AdamW(
      weights.map((w) => w.length),
      adamOptions,
    );
  }

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

  const saveAll = async (done: boolean, finalLoss: number | null) => {
    if (!o.checkpointDir) return;
    const dir = o.checkpointDir;
    const ds = stream.state();
    const opt = optimizer.state();
    const sections: CheckpointSection[] = [];
    specs.forEach((s, i) => {
      sections.push(
        { name: `w:${s.name}`, data: weights[i]! },
        { name: `m:${s.name}`, data: opt.m[i]! },
        { name: `v:${s.name}`, data: opt.v[i]! },
      );
    });
    sections.push(
      { name: 'data:pending', data: ds.pending },
      { name: 'data:buffer', data: ds.buffer },
    );
    const header: CheckpointHeader = {
      format: 'cbtm-checkpoint',
      version: 1,
      step,
      totalSteps,
      tokens,
      config,
      optimizerStep: opt.t,
      data: { epoch: ds.epoch, docIndex: ds.docIndex, rng: ds.rng },
      rng: trainRng.state(),
      history,
      valLoss,
      fingerprint,
    };
    await writeCheckpoint(dir, header, sections);
    await writeModelFiles(dir, config, new Map(specs.map((s, i) => [s.name, weights[i]!])));
    const state: TrainState = {
      format: 'cbtm-train-state',
      version: 1,
      step,
      totalSteps,
      tokens,
      done,
      backend,
      config,
      paramCount: model.paramCount(),
      flopsPerToken: model.flopsPerToken(),
      hyperparameters,
      data: { epoch: ds.epoch, docIndex: ds.docIndex, heldOutDocuments },
      rng: { train: trainRng.state(), data: ds.rng },
      initFrom: o.initFrom ?? null,
      finalLoss,
      valLoss,
      history,
      updatedAt: new Date().toISOString(),
    };
    await writeTrainState(dir, state);
  };

  const evaluate = () => {
    if (!evalRows || evalRows.rows === 0) return null;
    return evaluateLoss(model, evalRows.inputs, evalRows.targets, evalRows.rows, B);
  };

  progress.start(`training ${model.paramCount().toLocaleString('en-US')} weights on ${backend}`);
  progress.update(step);
  let lastLoss = history.length ? history[history.length - 1]!.loss : Number.NaN;
  let windowStart = performance.now();
  let windowTokens = 0;
  throwIfAborted(o.signal);
  try {
    while (step < totalSteps) {
      const { inputs, targets } = await stream.nextBatch(B);
      const lr = learningRateAt(step, schedule);
      const dropoutSeed = trainRng.int(0, 0x7fffffff);
      const drop = config.dropout > 0 ? { rate: config.dropout, seed: dropoutSeed } : undefined;
      const { loss, grads } = await runner.run(inputs, targets, B, drop);
      if (!Number.isFinite(loss)) {
        throw new CbtmError(
          'E_MODEL',
          `The training loss became ${loss} at step ${step + 1}. Lower lr (now ${o.lr}) or check the data.`,
        );
      }
      const { scale } = clipScale(grads, o.gradClip);
      optimizer.step(weights, grads, decayFlags, lr, scale);
      runner.weightsChanged(weights);
      step += 1;
      tokens += B * T;
      windowTokens += B * T;
      lastLoss = loss;
      const isEval = o.evalEvery > 0 && (step % o.evalEvery === 0 || step === totalSteps);
      if (isEval) valLoss = evaluate();
      if (step % o.logEvery === 0 || isEval || step === totalSteps) {
        const now = performance.now();
        const tokensPerSecond = windowTokens / Math.max(1e-9, (now - windowStart) / 1000);
        windowStart = now;
        windowTokens = 0;
        const entry: TrainHistoryEntry = {
          step,
          loss,
          lr,
          tokensPerSecond,
          ...(isEval && valLoss !== null ? { valLoss } : {}),
        };
        history.push(entry);
        progress.update(step, {
          metrics: {
            loss,
            lr,
            tokensPerSecond,
            ...(isEval && valLoss !== null ? { valLoss } : {}),
          },
        });
      }
      if (o.checkpointEvery > 0 && step % o.checkpointEvery === 0 && step < totalSteps)
        await saveAll(false, null);
      // Let abort signals and worker IPC through between steps; the loop is otherwise synchronous.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (o.signal?.aborted) {
        await saveAll(false, null);
        throwIfAborted(o.signal);
      }
    }
    await saveAll(true, lastLoss);
  } finally {
    await stream.close();
    await runner.dispose();
  }
  progress.done({ metrics: { loss: lastLoss, ...(valLoss !== null ? { valLoss } : {}) } });
  return { steps: step, tokens, finalLoss: lastLoss, valLoss, history, backend };
}
