export {
  CompletedWords,
  type ContextState,
  completeTokenCount,
  createContextState,
} from './context-state.js';
export {
  defaultEstimatePriorOptions,
  defaultGenerateOptions,
  defaultScoreOptions,
  Ensemble,
  type EnsembleParts,
  type EstimatePriorOptions,
  type GeneratedToken,
  type GenerateOptions,
  type ScoreOptions,
  type SequenceScore,
  type WeightsMode,
} from './ensemble.js';
export {
  defaultEvaluateOptions,
  type EvalResults,
  type EvaluateOptions,
  evaluate,
  type MethodResult,
} from './evaluate.js';
export {
  defaultExpertDecodersOptions,
  ExpertDecoders,
  type ExpertDecodersOptions,
  windowStart,
} from './expert-decoders.js';
export { defaultExpertPoolOptions, ExpertPool, type ExpertPoolOptions } from './expert-pool.js';
export {
  EXPERT_SET_VERSION,
  ExpertSet,
  type ExpertSetJson,
  ExpertSubsetRouting,
  type RemovedExpert,
} from './expert-set.js';
export { ExpertStepBatcher } from './expert-step-batcher.js';
export {
  logSumExp,
  type MixtureStep,
  mixDistributions,
  mixLogProb,
  mixSequence,
  topLogProbs,
} from './mixture.js';
export { PerplexityAccumulator, type PerplexityStats, perplexity } from './perplexity.js';
export {
  MIXING_RULES,
  type MixingRule,
  posteriorWeights,
  topWeightsRoute,
  updatingPriorRoutes,
} from './posterior.js';
export { fixedRoute, type Routing, routeOrPrior, UniformRouting } from './routing.js';
export {
  defaultSamplingOptions,
  type SamplingOptions,
  sampleToken,
} from './sampling.js';
export {
  defaultEvalMethods,
  type EvalMethod,
  evalMethodName,
  type RunEnsembles,
  type Scorer,
  scorersFor,
} from './scorers.js';
export {
  expertTargetLogProbs,
  type PreparedSequence,
  type PrepareSequenceOptions,
  perTokenContexts,
  prepareSequence,
  sequenceContext,
} from './sequence.js';
export { StopSequenceBuffer } from './stop-sequences.js';
export type {
  ContextEmbedder,
  EnsembleTokenizer,
  ExpertDecoder,
  ExpertModel,
  PrefixEmbeddingLike,
} from './types.js';
