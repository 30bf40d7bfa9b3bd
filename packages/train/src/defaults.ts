// `@cbtm/train/defaults`: the package's default options and nothing else. It loads neither
// TensorFlow.js nor the training code, so a config loader can derive its defaults from it in
// milliseconds (`@cbtm/pipeline`'s config schema does).
export { defaultGptConfig } from './model/gpt-config.js';
export { defaultBpeTrainOptions } from './tokenizer/bpe-trainer.js';
export { defaultTrainExpertsOptions } from './training/train-experts-defaults.js';
