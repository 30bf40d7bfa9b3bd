import { CbtmError } from '@cbtm/core';
import { type GptConfig, gptParamSpecs, resolveGptConfig } from '../model/gpt-config.js';
import type { SafetensorsTensor } from './safetensors.js';

/**
 * LayerNorm epsilon of cbtm's GPT (ops/layer-norm.ts), the same as GPT-2's `layer_norm_epsilon`.
 *
 * @example
 * ```ts
 * gpt2Config.layer_norm_epsilon === GPT_LAYER_NORM_EPSILON; // true
 * ```
 */
export const GPT_LAYER_NORM_EPSILON = 1e-5;

/**
 * GELU names in a Hugging Face config that mean the tanh approximation cbtm uses (ops/gelu.ts:
 * x·σ(2·√(2/π)·(x + 0.044715x³)) = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), GPT-2's `gelu_new`).
 * The exact erf GELU (`gelu`) differs by up to about 1e-3 and is refused.
 *
 * @example
 * ```ts
 * GPT2_TANH_GELU_NAMES.includes('gelu_new'); // true
 * ```
 */
export const GPT2_TANH_GELU_NAMES: readonly string[] = [
  'gelu_new',
  'gelu_pytorch_tanh',
  'gelu_fast',
];

/**
 * The Hugging Face `config.json` fields of a GPT-2 causal LM that cbtm writes and reads.
 *
 * @example
 * ```ts
 * const json: Gpt2ConfigJson = gpt2ConfigJson(model.config, { eosTokenId: tok.eosId, padTokenId: tok.padId });
 * ```
 */
export interface Gpt2ConfigJson {
  readonly architectures: readonly string[];
  readonly model_type: 'gpt2';
  readonly vocab_size: number;
  readonly n_positions: number;
  readonly n_ctx: number;
  readonly n_embd: number;
  readonly n_layer: number;
  readonly n_head: number;
  readonly n_inner: number;
  readonly activation_function: string;
  readonly layer_norm_epsilon: number;
  readonly resid_pdrop: number;
  readonly embd_pdrop: number;
  readonly attn_pdrop: number;
  readonly initializer_range: number;
  readonly scale_attn_weights: boolean;
  readonly scale_attn_by_inverse_layer_idx: boolean;
  readonly reorder_and_upcast_attn: boolean;
  readonly tie_word_embeddings: boolean;
  readonly use_cache: boolean;
  readonly bos_token_id: number;
  readonly eos_token_id: number;
  readonly pad_token_id: number;
  readonly torch_dtype: 'float32';
}

/**
 * The Hugging Face `config.json` of a `GPT2LMHeadModel` with the shape of `config`. cbtm's GPT is
 * the GPT-2 layout (pre-LayerNorm, fused q·k·v, learned positions, tied output, tanh GELU,
 * epsilon 1e-5), so no field needs a mapping beyond renaming; the context length becomes
 * `n_positions`, and generation past it is not possible in either framework.
 *
 * @example
 * ```ts
 * await writeFile('out/config.json', JSON.stringify(gpt2ConfigJson(config, { eosTokenId: 0, padTokenId: 1 })));
 * ```
 */
export function gpt2ConfigJson(
  config: GptConfig,
  tokens: { readonly eosTokenId: number; readonly padTokenId: number },
): Gpt2ConfigJson {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: config.vocabSize,
    n_positions: config.contextLength,
    n_ctx: config.contextLength,
    n_embd: config.dModel,
    n_layer: config.nLayer,
    n_head: config.nHead,
    n_inner: config.mlpRatio * config.dModel,
    activation_function: 'gelu_new',
    layer_norm_epsilon: GPT_LAYER_NORM_EPSILON,
    resid_pdrop: config.dropout,
    embd_pdrop: config.dropout,
    attn_pdrop: config.dropout,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    use_cache: true,
    // GPT-2 has no separate beginning-of-text token: it is the end-of-text one.
    bos_token_id: tokens.eosTokenId,
    eos_token_id: tokens.eosTokenId,
    pad_token_id: tokens.padTokenId,
    torch_dtype: 'float32',
  };
}

/**
 * Reads the shape of a cbtm GPT from a Hugging Face `config.json` object, refusing what cbtm's
 * forward pass would compute differently: another architecture, an erf GELU, another LayerNorm
 * epsilon, untied output weights, cross-attention, unscaled or layer-scaled attention. `file` is
 * named in every error. Dropout is 0: it is a training setting, not part of the checkpoint.
 *
 * @example
 * ```ts
 * const config = gptConfigFromGpt2(JSON.parse(await readFile(file, 'utf8')), file);
 * ```
 */
export function gptConfigFromGpt2(json: unknown, file: string): GptConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CbtmError('E_FORMAT', `${file} is not a JSON object (a Hugging Face config.json).`);
  }
  const c = json as Record<string, unknown>;
  const refuse = (what: string): never => {
    throw new CbtmError(
      'E_FORMAT',
      `${file}: ${what}. cbtm can only load GPT-2-layout causal LMs (model_type "gpt2", GPT2LMHeadModel).`,
    );
  };
  if (c.model_type !== 'gpt2') {
    refuse(
      `model_type is ${JSON.stringify(c.model_type)} (architectures ${JSON.stringify(c.architectures ?? null)}), not "gpt2"`,
    );
  }
  const int = (key: string): number => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      refuse(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const activation = c.activation_function ?? 'gelu_new';
  if (typeof activation !== 'string' || !GPT2_TANH_GELU_NAMES.includes(activation)) {
    refuse(
      `activation_function is ${JSON.stringify(activation)}; cbtm computes the tanh GELU (${GPT2_TANH_GELU_NAMES.join(', ')})`,
    );
  }
  const epsilon = c.layer_norm_epsilon ?? GPT_LAYER_NORM_EPSILON;
  if (typeof epsilon !== 'number' || Math.abs(epsilon - GPT_LAYER_NORM_EPSILON) > 1e-12) {
    refuse(`layer_norm_epsilon is ${JSON.stringify(epsilon)}; cbtm's LayerNorm uses 1e-5`);
  }
  if (c.tie_word_embeddings === false) refuse('tie_word_embeddings is false; cbtm ties them');
  if (c.add_cross_attention === true) refuse('add_cross_attention is true');
  if (c.scale_attn_weights === false) refuse('scale_attn_weights is false');
  if (c.scale_attn_by_inverse_layer_idx === true) refuse('scale_attn_by_inverse_layer_idx is true');
  const dModel = int('n_embd');
  const nInner = c.n_inner ?? null;
  let mlpRatio = 4;
  if (nInner !== null) {
    if (typeof nInner !== 'number' || !Number.isInteger(nInner) || nInner % dModel !== 0) {
      refuse(`n_inner (${JSON.stringify(nInner)}) must be a multiple of n_embd (${dModel})`);
    }
    mlpRatio = (nInner as number) / dModel;
  }
  try {
    return resolveGptConfig({
      vocabSize: int('vocab_size'),
      nLayer: int('n_layer'),
      dModel,
      nHead: int('n_head'),
      contextLength: int('n_positions'),
      mlpRatio,
      dropout: 0,
    });
  } catch (cause) {
    throw new CbtmError('E_FORMAT', `${file}: ${(cause as Error).message}`, { cause });
  }
}

/** cbtm weight name → GPT-2 name (under `transformer.`), by the part after `h.<i>.`. */
const BLOCK_NAMES: Readonly<Record<string, string>> = {
  'ln1.gamma': 'ln_1.weight',
  'ln1.beta': 'ln_1.bias',
  'attn.wqkv': 'attn.c_attn.weight',
  'attn.bqkv': 'attn.c_attn.bias',
  'attn.wo': 'attn.c_proj.weight',
  'attn.bo': 'attn.c_proj.bias',
  'ln2.gamma': 'ln_2.weight',
  'ln2.beta': 'ln_2.bias',
  'mlp.w1': 'mlp.c_fc.weight',
  'mlp.b1': 'mlp.c_fc.bias',
  'mlp.w2': 'mlp.c_proj.weight',
  'mlp.b2': 'mlp.c_proj.bias',
};

const TOP_NAMES: Readonly<Record<string, string>> = {
  wte: 'wte.weight',
  wpe: 'wpe.weight',
  'lnf.gamma': 'ln_f.weight',
  'lnf.beta': 'ln_f.bias',
};

/**
 * The `GPT2LMHeadModel` state-dict name of a cbtm weight (see `gptParamSpecs`). The shapes are
 * the same: GPT-2's `Conv1D` stores [in, out] like cbtm, and q·k·v are fused in the same order
 * (q, k, v, each split into heads of d/heads consecutive columns).
 *
 * @example
 * ```ts
 * gpt2WeightName('h.0.attn.wqkv'); // 'transformer.h.0.attn.c_attn.weight'
 * ```
 */
export function gpt2WeightName(name: string): string {
  const top = TOP_NAMES[name];
  if (top) return `transformer.${top}`;
  const m = /^h\.(\d+)\.(.+)$/.exec(name);
  const block = m ? BLOCK_NAMES[m[2]!] : undefined;
  if (!m || !block) {
    throw new CbtmError('E_MODEL', `No GPT-2 name for cbtm weight "${name}".`);
  }
  return `transformer.h.${m[1]}.${block}`;
}

/**
 * A cbtm model's weights as GPT-2 tensors by state-dict name, ready for `encodeSafetensors`.
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors(toGpt2Tensors(model.config, model.getWeights()), { format: 'pt' });
 * ```
 */
export function toGpt2Tensors(
  config: GptConfig,
  weights: ReadonlyMap<string, Float32Array>,
): Map<string, SafetensorsTensor> {
  const out = new Map<string, SafetensorsTensor>();
  for (const s of gptParamSpecs(config)) {
    const data = weights.get(s.name);
    if (!data || data.length !== s.shape.reduce((a, b) => a * b, 1)) {
      throw new CbtmError('E_MODEL', `Weight ${s.name} is missing or has the wrong size.`);
    }
    out.set(gpt2WeightName(s.name), { shape: s.shape, data });
  }
  return out;
}

/**
 * cbtm weights from the tensors of a GPT-2 `model.safetensors` (`file` is named in errors).
 * Names with or without the `transformer.` prefix are accepted; the causal-mask buffers of old
 * checkpoints (`attn.bias`, `attn.masked_bias`) are skipped, and `lm_head.weight` must equal
 * `wte` (tied). A missing tensor, a shape that disagrees with config.json, or a tensor cbtm has
 * no place for is an error.
 *
 * @example
 * ```ts
 * const weights = fromGpt2Tensors(config, decodeSafetensors(bytes, file).tensors, file);
 * ```
 */
export function fromGpt2Tensors(
  config: GptConfig,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  file: string,
): Map<string, Float32Array> {
  const byName = new Map<string, SafetensorsTensor>();
  let lmHead: SafetensorsTensor | undefined;
  for (const [raw, t] of tensors) {
    if (raw === 'lm_head.weight') {
      lmHead = t;
      continue;
    }
    const name = raw.startsWith('transformer.') ? raw : `transformer.${raw}`;
    if (/^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/.test(name)) continue;
    byName.set(name, t);
  }
  const out = new Map<string, Float32Array>();
  for (const s of gptParamSpecs(config)) {
    const name = gpt2WeightName(s.name);
    const t = byName.get(name);
    if (!t) {
      throw new CbtmError(
        'E_FORMAT',
        `${file} has no tensor ${name} (cbtm's ${s.name}), which config.json's shape needs.`,
      );
    }
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new CbtmError(
        'E_FORMAT',
        `${file}: tensor ${name} has shape [${t.shape.join(', ')}], but config.json says [${s.shape.join(', ')}].`,
      );
    }
    out.set(s.name, t.data);
    byName.delete(name);
  }
  if (byName.size > 0) {
    const extra = [...byName.keys()];
    throw new CbtmError(
      'E_FORMAT',
      `${file} has tensors a GPT-2 of config.json's shape does not: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}. Is n_layer right?`,
    );
  }
  if (lmHead) {
    const wte = out.get('wte')!;
    if (lmHead.data.length !== wte.length || lmHead.data.some((v, i) => v !== wte[i])) {
      throw new CbtmError(
        'E_FORMAT',
        `${file}: lm_head.weight differs from wte; cbtm's output layer is tied to the token embedding.`,
      );
    }
  }
  return out;
}
