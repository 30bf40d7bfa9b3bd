export {
  BpeTokenizer,
  DEFAULT_EOS_TOKEN,
  DEFAULT_PAD_TOKEN,
  defaultEncodeOptions,
  defaultLoadTokenizerOptions,
  type EncodeOptions,
  type LoadTokenizerOptions,
} from './bpe-tokenizer.js';
export { type BpeTrainOptions, defaultBpeTrainOptions, trainBpeTokenizer } from './bpe-trainer.js';
export { GPT2_SPLIT_PATTERN } from './byte-level.js';
export type {
  BpeVocabulary,
  HfAddedToken,
  HfTokenizerJson,
  SpecialToken,
} from './tokenizer-json.js';
