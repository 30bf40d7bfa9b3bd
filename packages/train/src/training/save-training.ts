import type { BackendName } from '../backend/select-backend.js';
import type { GptModel } from '../model/gpt-model.js';
import { writeModelFiles } from '../model/model-files.js';
import { type CheckpointSection, writeCheckpoint } from './checkpoint.js';
import type { BlockStreamState } from './packed-blocks.js';
import { type TrainState, writeTrainState } from './train-state.js';
import type { CheckpointHeader, TrainingState } from './training-state.js';

/** What {@link saveTraining} writes besides the state itself. */
export interface SaveTrainingContext {
  readonly dir: string;
  readonly model: GptModel;
  readonly totalSteps: number;
  readonly fingerprint: string;
  readonly backend: BackendName;
  /** The resolved settings, recorded in train-state.json. */
  readonly hyperparameters: TrainState['hyperparameters'];
  readonly heldOutDocuments: number;
  readonly initFrom: string | undefined;
}

/**
 * Writes a training's state to `ctx.dir`, each file atomically: `checkpoint.bin` (weights,
 * optimizer moments, data position, RNG states, history), the model in TensorFlow.js format,
 * and `train-state.json`. `done` and `finalLoss` mark the end of the run.
 */
export async function saveTraining(
  ctx: SaveTrainingContext,
  state: TrainingState,
  data: BlockStreamState,
  done: boolean,
  finalLoss: number | null,
): Promise<void> {
  const { model, dir } = ctx;
  const config = model.config;
  const specs = model.paramSpecs();
  const opt = state.optimizer.state();
  const sections: CheckpointSection[] = [];
  specs.forEach((s, i) => {
    sections.push(
      { name: `w:${s.name}`, data: state.weights[i]! },
      { name: `m:${s.name}`, data: opt.m[i]! },
      { name: `v:${s.name}`, data: opt.v[i]! },
    );
  });
  sections.push(
    { name: 'data:pending', data: data.pending },
    { name: 'data:buffer', data: data.buffer },
  );
  const header: CheckpointHeader = {
    format: 'cbtm-checkpoint',
    version: 1,
    step: state.step,
    totalSteps: ctx.totalSteps,
    tokens: state.tokens,
    config,
    optimizerStep: opt.t,
    data: { epoch: data.epoch, docIndex: data.docIndex, rng: data.rng },
    rng: state.trainRng.state(),
    history: state.history,
    valLoss: state.valLoss,
    fingerprint: ctx.fingerprint,
  };
  await writeCheckpoint(dir, header, sections);
  await writeModelFiles(dir, config, new Map(specs.map((s, i) => [s.name, state.weights[i]!])));
  const trainState: TrainState = {
    format: 'cbtm-train-state',
    version: 1,
    step: state.step,
    totalSteps: ctx.totalSteps,
    tokens: state.tokens,
    done,
    backend: ctx.backend,
    config,
    paramCount: model.paramCount(),
    flopsPerToken: model.flopsPerToken(),
    hyperparameters: ctx.hyperparameters,
    data: { epoch: data.epoch, docIndex: data.docIndex, heldOutDocuments: ctx.heldOutDocuments },
    rng: { train: state.trainRng.state(), data: data.rng },
    initFrom: ctx.initFrom ?? null,
    finalLoss,
    valLoss: state.valLoss,
    history: state.history,
    updatedAt: new Date().toISOString(),
  };
  await writeTrainState(dir, trainState);
}
