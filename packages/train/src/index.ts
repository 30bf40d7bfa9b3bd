// The pure entry of @cbtm/train: the tokenizer, the GPT model (forward pass, load and save
// through the registered file system), the optimizer and the backend ladder; no node: module,
// so a browser can load it. Training loops, workers, checkpoints and corpus readers are in
// `./node` (node.ts), which also registers the Node.js file system.
export {
  BACKEND_LADDER,
  type BackendName,
  type BackendPreference,
  currentBackend,
  defaultSelectBackendOptions,
  ensureBackend,
  type SelectBackendOptions,
  selectBackend,
  setWasmPaths,
} from './backend/select-backend.js';
export {
  fromGpt2Tensors,
  GPT_LAYER_NORM_EPSILON,
  GPT2_TANH_GELU_NAMES,
  type Gpt2ConfigJson,
  gpt2ConfigJson,
  gpt2WeightName,
  gptConfigFromGpt2,
  toGpt2Tensors,
} from './hf/gpt2-layout.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsTensor,
} from './hf/safetensors.js';
export {
  averageWeights,
  type ModelWeights,
  normalizeCoefficients,
} from './merge/average-weights.js';
export {
  defaultGptConfig,
  type GptConfig,
  gptFlopsPerToken,
  gptParamCount,
  gptParamSpecs,
  type ParamSpec,
  resolveGptConfig,
} from './model/gpt-config.js';
export {
  defaultGptDecoderOptions,
  GptDecoder,
  type GptDecoderOptions,
  type GptDecoderStats,
  type IncrementalModel,
  slidingWindowStart,
} from './model/gpt-decoder.js';
export {
  type CreateGptOptions,
  defaultCreateGptOptions,
  type ForwardIncrementalOptions,
  GptModel,
} from './model/gpt-model.js';
export { GptKvCache, type IncrementalRows } from './model/kv-cache.js';
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
export type { ExpertTrainSettings } from './training/expert-task.js';
export { type LrDecay, type LrSchedule, learningRateAt } from './training/lr-schedule.js';
