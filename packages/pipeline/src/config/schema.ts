import { defaultBalancedKMeansOptions } from '@cbtm/cluster';
import { defaultReadCorpusOptions } from '@cbtm/core/node';
import { defaultBuildRouterOptions, defaultRouteOptions } from '@cbtm/route/node';
import {
  defaultBpeTrainOptions,
  defaultGptConfig,
  defaultTrainExpertsOptions,
} from '@cbtm/train/defaults';
import { z } from 'zod';

// Defaults: a setting that is a package option under another name takes that package's
// default (`default…Options`), so the value is written once. The others are the pipeline's own
// recipe for a small run (the demo), deliberately unlike the libraries' general defaults; they
// are written here and only here. Changing any of them changes the stage config hashes.

const positiveInt = () => z.number().int().min(1);

const corpusSchema = z
  .strictObject({
    train: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'Training corpus: a .jsonl, .jsonl.gz or .txt file, or a folder of them. null means the built-in demo corpus.',
      ),
    valid: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'Validation corpus for eval. null means the demo valid split (demo corpus), or a seeded hold-out of `holdout` of the training documents.',
      ),
    holdout: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.05)
      .describe(
        'Fraction of training documents held out for eval when `valid` is null and `train` is not the demo.',
      ),
    textField: z
      .string()
      .min(1)
      .default(defaultReadCorpusOptions.textField)
      .describe('JSONL field that holds the text.'),
    idField: z
      .string()
      .min(1)
      .default(defaultReadCorpusOptions.idField)
      .describe('JSONL field that holds the document id.'),
    limit: positiveInt()
      .nullable()
      .default(null)
      .describe('Read at most this many training documents.'),
    skipInvalid: z
      .boolean()
      .default(false)
      .describe(
        'Skip bad records (malformed JSON, missing or empty text) instead of stopping at the first; the run reports how many were skipped and where.',
      ),
  })
  .prefault({});

const embedSchema = z
  .strictObject({
    embedder: z
      .enum(['tfidf', 'transformers'])
      .default('tfidf')
      .describe(
        'tf-idf → truncated SVD (sklearn-compatible), or a transformers.js sentence embedder.',
      ),
    dimension: positiveInt().default(64).describe('SVD components of the tf-idf embedder.'),
    model: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Local model folder (or hub id) of the transformers embedder.'),
    sample: positiveInt()
      .nullable()
      .default(null)
      .describe('Fit the embedder on a seeded sample of this many documents (null: all).'),
  })
  .prefault({});

const clusterSchema = z
  .strictObject({
    k: positiveInt().default(4).describe('Number of clusters, i.e. experts.'),
    sample: positiveInt()
      .nullable()
      .default(null)
      .describe('Fit balanced k-means on a seeded sample of this many documents (null: all).'),
    iterations: positiveInt()
      .default(defaultBalancedKMeansOptions.maxIter)
      .describe('Balanced k-means iterations.'),
    balanceSlack: z
      .number()
      .min(0)
      .max(1)
      .default(defaultBalancedKMeansOptions.balanceSlack)
      .describe(
        'How far cluster sizes may stray from N/k: each cluster holds ⌊(1−s)·N/k⌋ to ⌈(1+s)·N/k⌉ of the fitted documents. 0 is exact balance, as in the paper.',
      ),
    inits: positiveInt()
      .default(defaultBalancedKMeansOptions.nInit)
      .describe('Independent k-means runs from different seeded inits; the lowest inertia wins.'),
  })
  .prefault({});

const tokenizerSchema = z
  .strictObject({
    vocabSize: z
      .number()
      .int()
      .min(259)
      .default(2048)
      .describe('BPE vocabulary size, shared by every model.'),
    sampleBytes: positiveInt()
      .default(defaultBpeTrainOptions.sampleBytes)
      .describe('Learn the merges from a seeded sample of this many bytes of training text.'),
  })
  .prefault({});

const modelSchema = z
  .strictObject({
    nLayer: positiveInt().default(defaultGptConfig.nLayer).describe('Transformer blocks.'),
    dModel: positiveInt()
      .default(defaultGptConfig.dModel)
      .describe('Model width; a multiple of nHead.'),
    nHead: positiveInt().default(defaultGptConfig.nHead).describe('Attention heads.'),
    contextLength: positiveInt()
      .default(defaultGptConfig.contextLength)
      .describe('Tokens of context.'),
    mlpRatio: positiveInt()
      .default(defaultGptConfig.mlpRatio)
      .describe('MLP hidden size / dModel.'),
    dropout: z
      .number()
      .min(0)
      .max(0.9)
      .default(defaultGptConfig.dropout)
      .describe('Dropout probability.'),
  })
  .prefault({})
  .refine((m) => m.dModel % m.nHead === 0, {
    message: 'must have dModel divisible by nHead',
    path: ['dModel'],
  });

const trainSchema = z
  .strictObject({
    tokens: positiveInt()
      .default(250_000)
      .describe(
        'Training tokens after the seed: the c-BTM experts share them (each gets tokens / k); the dense and random-cluster baselines get the same total.',
      ),
    seedTokens: z
      .number()
      .int()
      .min(0)
      .default(750_000)
      .describe(
        'Tokens of a shared seed model trained on everything first; every model (experts and baselines) branches from it. 0: every model starts from scratch. c-BTM gains over dense only when the seed is well trained relative to the phase after it (docs: Fidelity).',
      ),
    seedFrom: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "Branch every model from this already-trained model instead of training a seed; the seed stage is then skipped. Either a cbtm model folder (model.json + weights, same model shape and tokenizer), or a local GPT-2-layout Hugging Face checkpoint (config.json + model.safetensors + tokenizer.json, e.g. from cbtm export-hf): the run then uses the checkpoint's tokenizer instead of training one, and model must have its shape. Its checksum is part of the training stages' config (and, for a checkpoint, its tokenizer's of the tokenizer stage), so a changed seed retrains them. null: train a seed of seedTokens (or none).",
      ),
    batchSize: positiveInt().default(8).describe('Sequences per step.'),
    expertBatchSize: positiveInt()
      .nullable()
      .default(null)
      .describe(
        'Sequences per step of each expert. null: batchSize, so experts take k times fewer steps than the dense model on the same tokens. The official code matches by steps instead: batchSize / k.',
      ),
    learningRate: z
      .number()
      .positive()
      .max(1)
      .default(3e-3)
      .describe('Peak learning rate (AdamW, cosine decay).'),
    warmupSteps: z.number().int().min(0).default(20).describe('Linear warm-up steps.'),
    branchLearningRate: z
      .number()
      .positive()
      .max(1)
      .nullable()
      .default(null)
      .describe(
        'Peak learning rate of the models that branch from the seed (experts, dense and random baselines). null: learningRate.',
      ),
    branchWarmupSteps: z
      .number()
      .int()
      .min(0)
      .nullable()
      .default(null)
      .describe('Warm-up steps of the models that branch from the seed. null: warmupSteps.'),
    weightDecay: z.number().min(0).default(0.01).describe('AdamW weight decay.'),
    evalEvery: positiveInt().default(25).describe('Steps between validation-loss measurements.'),
    evalTokens: positiveInt()
      .default(4096)
      .describe("Tokens held out of each model's training data to measure its validation loss."),
    checkpointEvery: positiveInt()
      .default(50)
      .describe('Steps between checkpoints (resume points).'),
    workers: positiveInt().default(2).describe('Models trained in parallel, one process each.'),
    seedThreads: positiveInt()
      .default(2)
      .describe(
        "Threads that share each batch of the seed, which trains alone before the other models (so the other workers' cores are free): on 2 cores, 2 threads train the demo's seed about 1.3× faster. The result depends on it (sums run in another order), which is why it is a setting and not the machine's core count. 1: every core but one waits.",
      ),
    backend: z
      .enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'])
      .default(defaultTrainExpertsOptions.backend)
      .describe('Tensor backend; auto picks the best available.'),
  })
  .prefault({});

const baselinesSchema = z
  .strictObject({
    dense: z
      .boolean()
      .default(true)
      .describe('Train one dense model on everything, with the same total tokens.'),
    random: z
      .boolean()
      .default(true)
      .describe('Train k experts on randomly assigned documents, with the same tokens as c-BTM.'),
  })
  .prefault({});

const routerSchema = z
  .strictObject({
    kind: z
      .enum(['exact', 'hnsw'])
      .default(defaultBuildRouterOptions.kind)
      .describe('Nearest-centroid search.'),
  })
  .prefault({});

/** A top-k setting in a config file: a number of experts, or `'all'` (shared with the sweep config). */
export const topKSchema = z.union([positiveInt(), z.literal('all')]);

const evalSchema = z
  .strictObject({
    topK: z
      .array(topKSchema)
      .min(1)
      .default([1, 2, 'all'])
      .describe('c-BTM settings to evaluate: experts mixed per token (an integer, or "all").'),
    temperature: z
      .number()
      .positive()
      .default(defaultRouteOptions.temperature)
      .describe('Routing temperature T in w ∝ exp(−d²/T).'),
    maxDocs: positiveInt()
      .nullable()
      .default(null)
      .describe('Evaluate at most this many validation documents.'),
    maxTokensPerDoc: positiveInt()
      .nullable()
      .default(256)
      .describe('Score at most this many tokens per document (null: all).'),
  })
  .prefault({});

const reportSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Write <run>/report.html at the end of `cbtm run`.'),
    maxPoints: positiveInt().default(3000).describe('Documents drawn on the embedding map.'),
  })
  .prefault({});

/**
 * The zod schema of `cbtm.config.json`. Every field has a default, so `{}` is a valid config
 * (the demo run).
 *
 * @example
 * ```ts
 * const config = cbtmConfigSchema.parse({ cluster: { k: 8 } });
 * config.cluster.k; // 8
 * ```
 */
export const cbtmConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path of the JSON Schema, for editors.'),
    out: z.string().min(1).default('runs/demo').describe('Run directory.'),
    seed: z.number().int().min(0).default(1).describe('Seed of every random choice in the run.'),
    corpus: corpusSchema,
    embed: embedSchema,
    cluster: clusterSchema,
    tokenizer: tokenizerSchema,
    model: modelSchema,
    train: trainSchema,
    baselines: baselinesSchema,
    router: routerSchema,
    eval: evalSchema,
    report: reportSchema,
  })
  .describe('cbtm run configuration (cbtm.config.json).');

/**
 * A validated config with every default filled in.
 *
 * @example
 * ```ts
 * const config: CbtmConfig = resolveConfig({ cluster: { k: 4 } });
 * ```
 */
export type CbtmConfig = z.output<typeof cbtmConfigSchema>;

/**
 * What a user writes: every field optional.
 *
 * @example
 * ```ts
 * const input: CbtmConfigInput = { cluster: { k: 8 }, train: { tokens: 2_000_000 } };
 * ```
 */
export type CbtmConfigInput = z.input<typeof cbtmConfigSchema>;

/** A top-k setting: a number of experts, or `'all'`. */
export type TopK = z.output<typeof topKSchema>;

/**
 * Types a config in a `cbtm.config.mjs` or `.ts` file; returns it unchanged.
 *
 * @example
 * ```ts
 * // cbtm.config.mjs
 * import { defineConfig } from '@cbtm/pipeline';
 * export default defineConfig({ cluster: { k: 8 } });
 * ```
 */
export function defineConfig(config: CbtmConfigInput): CbtmConfigInput {
  return config;
}
