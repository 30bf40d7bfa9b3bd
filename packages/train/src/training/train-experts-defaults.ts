// The defaults of trainExperts in a module of their own, so that `@cbtm/train/defaults` can offer
// them without loading TensorFlow.js or the worker code.

/**
 * Default `TrainExpertsOptions` (the fixed ones).
 *
 * @example
 * ```ts
 * await trainExperts(tasks, { ...defaultTrainExpertsOptions, tokenizer: 'runs/a/tokenizer/tokenizer.json' });
 * ```
 */
export const defaultTrainExpertsOptions = {
  seed: 0,
  backend: 'auto',
  maxRetries: 2,
  restart: false,
} as const;
