import { InvalidArgumentError } from '@cbtm/core';

/**
 * Shape of a decoder-only transformer (GPT-2 style: pre-LayerNorm, GELU, learned positions,
 * tied input/output embeddings, causal attention).
 *
 * @example
 * ```ts
 * const config: GptConfig = { ...defaultGptConfig, vocabSize: 4096 };
 * ```
 */
export interface GptConfig {
  /** Number of token ids. */
  readonly vocabSize: number;
  /** Transformer blocks. @default 2 */
  readonly nLayer: number;
  /** Width of the residual stream. @default 128 */
  readonly dModel: number;
  /** Attention heads; must divide `dModel`. @default 4 */
  readonly nHead: number;
  /** Longest sequence the model sees at once. @default 128 */
  readonly contextLength: number;
  /** MLP hidden width as a multiple of `dModel`. @default 4 */
  readonly mlpRatio: number;
  /** Dropout on embeddings, attention weights and residual branches, while training. @default 0 */
  readonly dropout: number;
}

/**
 * Default {@link GptConfig} (the benchmark's reference model, given a vocabulary size).
 *
 * @example
 * ```ts
 * const config = resolveGptConfig({ vocabSize: 4096 }); // 2 layers, d 128, 4 heads, ctx 128
 * ```
 */
export const defaultGptConfig = {
  nLayer: 2,
  dModel: 128,
  nHead: 4,
  contextLength: 128,
  mlpRatio: 4,
  dropout: 0,
} as const satisfies Omit<GptConfig, 'vocabSize'>;

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

/**
 * Fills defaults into a partial config and checks it; the error says which field is wrong.
 *
 * @example
 * ```ts
 * resolveGptConfig({ vocabSize: 64, dModel: 16, nHead: 2, nLayer: 1, contextLength: 16 });
 * ```
 */
export function resolveGptConfig(
  partial: Partial<GptConfig> & Pick<GptConfig, 'vocabSize'>,
): GptConfig {
  const c: GptConfig = { ...defaultGptConfig, ...partial };
  for (const key of [
    'vocabSize',
    'nLayer',
    'dModel',
    'nHead',
    'contextLength',
    'mlpRatio',
  ] as const) {
    if (!positiveInt(c[key]))
      throw new InvalidArgumentError(`GptConfig.${key} must be a positive integer, got ${c[key]}.`);
  }
  if (c.dModel % c.nHead !== 0) {
    throw new InvalidArgumentError(
      `GptConfig.nHead (${c.nHead}) must divide dModel (${c.dModel}).`,
    );
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) {
    throw new InvalidArgumentError(`GptConfig.dropout must be in [0, 1), got ${c.dropout}.`);
  }
  return {
    vocabSize: c.vocabSize,
    nLayer: c.nLayer,
    dModel: c.dModel,
    nHead: c.nHead,
    contextLength: c.contextLength,
    mlpRatio: c.mlpRatio,
    dropout: c.dropout,
  };
}

/**
 * One named weight of the model: its shape and whether weight decay applies to it.
 *
 * @example
 * ```ts
 * const decayed = gptParamSpecs(config).filter((p) => p.decay).map((p) => p.name);
 * ```
 */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Matrices and embeddings decay; biases and LayerNorm gains do not. */
  readonly decay: boolean;
}

/**
 * Every weight of a model with `config`, in a fixed order (the save and checkpoint order).
 *
 * @example
 * ```ts
 * gptParamSpecs(config).map((p) => p.name); // ['wte', 'wpe', 'h.0.ln1.gamma', ...]
 * ```
 */
export function gptParamSpecs(config: GptConfig): ParamSpec[] {
  const { vocabSize: V, dModel: d, contextLength: T, nLayer, mlpRatio } = config;
  const m = mlpRatio * d;
  const specs: ParamSpec[] = [
    { name: 'wte', shape: [V, d], decay: true },
    { name: 'wpe', shape: [T, d], decay: true },
  ];
  for (let i = 0; i < nLayer; i++) {
    const p = `h.${i}`;
    specs.push(
      { name: `${p}.ln1.gamma`, shape: [d], decay: false },
      { name: `${p}.ln1.beta`, shape: [d], decay: false },
      { name: `${p}.attn.wqkv`, shape: [d, 3 * d], decay: true },
      { name: `${p}.attn.bqkv`, shape: [3 * d], decay: false },
      { name: `${p}.attn.wo`, shape: [d, d], decay: true },
      { name: `${p}.attn.bo`, shape: [d], decay: false },
      { name: `${p}.ln2.gamma`, shape: [d], decay: false },
      { name: `${p}.ln2.beta`, shape: [d], decay: false },
      { name: `${p}.mlp.w1`, shape: [d, m], decay: true },
      { name: `${p}.mlp.b1`, shape: [m], decay: false },
      { name: `${p}.mlp.w2`, shape: [m, d], decay: true },
      { name: `${p}.mlp.b2`, shape: [d], decay: false },
    );
  }
  specs.push(
    { name: 'lnf.gamma', shape: [d], decay: false },
    { name: 'lnf.beta', shape: [d], decay: false },
  );
  return specs;
}

/**
 * Number of weights (the output layer is tied to `wte`, so it adds none).
 *
 * @example
 * ```ts
 * gptParamCount(resolveGptConfig({ vocabSize: 4096 })); // 937472
 * ```
 */
export function gptParamCount(config: GptConfig): number {
  return gptParamSpecs(config).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Training FLOPs per token (forward + backward) at full context: 6·N for the matrix products,
 * where N counts `wte` once (it is the output layer too) and leaves out the position table
 * (an addition, not a product), plus 12·layers·d·T for attention scores and mixing.
 *
 * @example
 * ```ts
 * gptFlopsPerToken(resolveGptConfig({ vocabSize: 4096 })); // 5919744
 * ```
 */
export function gptFlopsPerToken(config: GptConfig): number {
  const n = gptParamCount(config) - config.contextLength * config.dModel;
  return 6 * n + 12 * config.nLayer * config.dModel * config.contextLength;
}
