import { CbtmError, InvalidArgumentError, Rng } from '@cbtm/core';
import { readSeedModelFiles } from '../hf/read-hf-checkpoint.js';
import type { GptModel } from '../model/gpt-model.js';
import { AdamW, type AdamWOptions } from './adamw.js';
import { hasCheckpoint, readCheckpoint } from './checkpoint.js';
import type { BlockStreamState } from './packed-blocks.js';
import { type CheckpointHeader, sameConfig, type TrainingState } from './training-state.js';

/** What {@link restoreTraining} needs to know. */
export interface RestoreTrainingOptions {
  readonly model: GptModel;
  /** Settings and config, serialized: a checkpoint written with others is refused. */
  readonly fingerprint: string;
  readonly adamOptions: AdamWOptions;
  /** Seed of the data shuffle and dropout. */
  readonly seed: number;
  readonly checkpointDir?: string;
  readonly resume: boolean;
  readonly initFrom?: string;
}

/**
 * The state a training starts from. With `resume` and a checkpoint in `checkpointDir`: the
 * checkpoint's weights (set on the model), optimizer moments, counters, RNG states and data
 * position, exactly. Otherwise the model's own weights, or those of the seed model in
 * `initFrom`, with a fresh optimizer; `stream` is then undefined (the data starts over).
 */
export async function restoreTraining(
  o: RestoreTrainingOptions,
): Promise<{ state: TrainingState; stream: BlockStreamState | undefined }> {
  const { model } = o;
  const config = model.config;
  const specs = model.paramSpecs();
  if (o.resume && o.checkpointDir && (await hasCheckpoint(o.checkpointDir))) {
    const ck = await readCheckpoint<CheckpointHeader>(o.checkpointDir);
    if (!sameConfig(ck.header.config, config)) {
      throw new CbtmError(
        'E_MODEL',
        `The checkpoint in ${o.checkpointDir} is for another model shape. Delete it or use the same config.`,
      );
    }
    if (ck.header.fingerprint !== o.fingerprint) {
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
    const weights = specs.map((s) => get(`w:${s.name}`) as Float32Array);
    const optimizer = new AdamW(
      weights.map((w) => w.length),
      o.adamOptions,
      {
        t: ck.header.optimizerStep,
        m: specs.map((s) => get(`m:${s.name}`) as Float32Array),
        v: specs.map((s) => get(`v:${s.name}`) as Float32Array),
      },
    );
    model.setWeights(new Map(specs.map((s, i) => [s.name, weights[i]!])));
    return {
      state: {
        weights,
        optimizer,
        step: ck.header.step,
        tokens: ck.header.tokens,
        trainRng: Rng.fromState(ck.header.rng),
        history: [...ck.header.history],
        valLoss: ck.header.valLoss,
      },
      stream: {
        epoch: ck.header.data.epoch,
        docIndex: ck.header.data.docIndex,
        rng: ck.header.data.rng,
        pending: get('data:pending') as Int32Array,
        buffer: get('data:buffer') as Int32Array,
      },
    };
  }
  if (o.initFrom) {
    const seed = await readSeedModelFiles(o.initFrom, config);
    if (!sameConfig(seed.config, config)) {
      throw new InvalidArgumentError(
        `The seed model in ${o.initFrom} has another shape than the model to train.`,
      );
    }
    model.setWeights(seed.weights);
  }
  const current = model.getWeights();
  const weights = specs.map((s) => current.get(s.name)!);
  return {
    state: {
      weights,
      optimizer: new AdamW(
        weights.map((w) => w.length),
        o.adamOptions,
      ),
      step: 0,
      tokens: 0,
      trainRng: new Rng(o.seed ^ 0x5eed),
      history: [],
      valLoss: null,
    },
    stream: undefined,
  };
}
