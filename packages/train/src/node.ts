// The Node.js entry of @cbtm/train: everything in the pure entry, plus training (loops, worker
// threads and processes, checkpoints, train state) and reading texts from corpus files.
// Importing it registers the Node.js file system and the wasm files' folder (node-platform.ts).
import './node-platform.js';

export {
  type ExportHfOptions,
  type ExportHfResult,
  exportHfModel,
  HF_EXPORT_FILES,
  HF_EXPORT_MARKER,
} from './hf/export-hf.js';
export { encodeGpt2Onnx } from './hf/gpt2-onnx.js';
export {
  HF_CHECKPOINT_FILES,
  type HfCheckpoint,
  isHfCheckpoint,
  readHfCheckpoint,
  readHfModel,
  readHfTokenizer,
  readSeedModelFiles,
} from './hf/read-hf-checkpoint.js';
export * from './index.js';
export {
  MERGE_MARKER_FILE,
  MERGED_TOKENIZER_FILE,
  type MergeModelFoldersOptions,
  type MergeModelFoldersResult,
  type MergeSource,
  mergeModelFolders,
} from './merge/merge-model-folders.js';
export { CHECKPOINT_FILE } from './training/checkpoint.js';
export {
  defaultEvaluateOptions,
  type EvaluateLanguageModelOptions,
  evaluateLanguageModel,
} from './training/evaluate-language-model.js';
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
