export {
  BACKEND_LADDER,
  type BackendName,
  type BackendPreference,
  currentBackend,
  defaultSelectBackendOptions,
  ensureBackend,
  type SelectBackendOptions,
  selectBackend,
} from './backend/select-backend.js';
export {
  averageWeights,
  type ModelWeights,
  normalizeCoefficients,
} from './merge/average-weights.js';
export {
  MERGE_MARKER_FILE,
  MERGED_TOKENIZER_FILE,
  type MergeModelFoldersOptions,
  type MergeModelFoldersResult,
  type MergeSource,
  mergeModelFolders,
} from './merge/merge-model-folders.js';
export {
  defaultGptConfig,
  type GptConfig,
  gptFlopsPerToken,
  gptParamCount,
  gptParamSpecs,
  type ParamSpec,
  resolveGptConfig,
} from './model/gpt-config.js';
export { type CreateGptOptions, defaultCreateGptOptions, GptModel } from './model/gpt-model.js';
export {
  type GptModelJson,
  MODEL_JSON,
  WEIGHTS_BIN,
  type WeightSpec,
} from './model/model-files.js';
export * from './tokenizer/index.js';
export {
  AdamW,
  type AdamWOptions,
  type AdamWState,
  clipScale,
  defaultAdamWOptions,
} from './training/adamw.js';
export { CHECKPOINT_FILE } from './training/checkpoint.js';
export {
  defaultEvaluateOptions,
  type EvaluateLanguageModelOptions,
  evaluateLanguageModel,
} from './training/evaluate-language-model.js';
export type { ExpertTrainSettings } from './training/expert-task.js';
export { type LrDecay, type LrSchedule, learningRateAt } from './training/lr-schedule.js';
export {
  type BlockStreamOptions,
  type BlockStreamState,
  collectTokens,
  evaluationRows,
  PackedBlockStream,
} from './training/packed-blocks.js';
export { openTexts, type TextSource, type TextTokenizer } from './training/text-source.js';
export {
  defaultTrainExpertsOptions,
  type ExpertRunResult,
  type ModelTask,
  type RunModelTasksOptions,
  runModelTasks,
  type TrainExpertsOptions,
  type TrainExpertsResult,
  trainExperts,
} from './training/train-experts.js';
export {
  defaultTrainOptions,
  type TrainLanguageModelOptions,
  type TrainResult,
  trainLanguageModel,
} from './training/train-language-model.js';
export {
  readTrainProgress,
  readTrainState,
  readTrainStateIfPresent,
  TRAIN_STATE_FILE,
  type TrainHistoryEntry,
  type TrainProgress,
  type TrainState,
} from './training/train-state.js';
