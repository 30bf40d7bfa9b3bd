import { describe, expect, it } from 'vitest';
import { type GptConfig, gptParamSpecs, resolveGptConfig } from '../model/gpt-config.js';
import {
  fromGpt2Tensors,
  gpt2ConfigJson,
  gpt2WeightName,
  gptConfigFromGpt2,
  toGpt2Tensors,
} from './gpt2-layout.js';
import type { SafetensorsTensor } from './safetensors.js';

const config: GptConfig = resolveGptConfig({
  vocabSize: 11,
  nLayer: 2,
  dModel: 8,
  nHead: 2,
  contextLength: 6,
  mlpRatio: 2,
});

function weights(): Map<string, Float32Array> {
  let k = 0;
  return new Map(
    gptParamSpecs(config).map((s) => [
      s.name,
      Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => k++ / 1000),
    ]),
  );
}

describe('GPT-2 config.json', () => {
  it('round-trips a cbtm config', () => {
    const json = gpt2ConfigJson(config, { eosTokenId: 0, padTokenId: 1 });
    expect(json).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_inner: 16,
      n_positions: 6,
      eos_token_id: 0,
      bos_token_id: 0,
      pad_token_id: 1,
    });
    expect(gptConfigFromGpt2(json, 'config.json')).toEqual(config);
    // n_inner null means 4 × n_embd, as in transformers.
    expect(gptConfigFromGpt2({ ...json, n_inner: null }, 'c.json').mlpRatio).toBe(4);
  });

  it('refuses what cbtm would compute differently, naming the file', () => {
    const json = gpt2ConfigJson(config, { eosTokenId: 0, padTokenId: 1 });
    expect(() =>
      gptConfigFromGpt2(
        { ...json, model_type: 'llama', architectures: ['LlamaForCausalLM'] },
        'm/config.json',
      ),
    ).toThrow(
      'm/config.json: model_type is "llama" (architectures ["LlamaForCausalLM"]), not "gpt2"',
    );
    expect(() =>
      gptConfigFromGpt2({ ...json, activation_function: 'gelu' }, 'm/config.json'),
    ).toThrow('m/config.json: activation_function is "gelu"');
    expect(() => gptConfigFromGpt2({ ...json, layer_norm_epsilon: 1e-6 }, 'm/config.json')).toThrow(
      "layer_norm_epsilon is 0.000001; cbtm's LayerNorm uses 1e-5",
    );
    expect(() => gptConfigFromGpt2({ ...json, n_head: 3 }, 'm/config.json')).toThrow(
      'm/config.json: GptConfig.nHead (3) must divide dModel (8).',
    );
    expect(() => gptConfigFromGpt2({ ...json, n_embd: '8' }, 'm/config.json')).toThrow(
      'n_embd must be a positive integer, got "8"',
    );
    expect(() =>
      gptConfigFromGpt2({ ...json, tie_word_embeddings: false }, 'm/config.json'),
    ).toThrow('tie_word_embeddings is false');
  });
});

describe('GPT-2 weight names', () => {
  it('maps every cbtm weight to the GPT2LMHeadModel state dict', () => {
    expect(gpt2WeightName('wte')).toBe('transformer.wte.weight');
    expect(gpt2WeightName('h.1.attn.wqkv')).toBe('transformer.h.1.attn.c_attn.weight');
    expect(gpt2WeightName('h.0.mlp.w2')).toBe('transformer.h.0.mlp.c_proj.weight');
    expect(gpt2WeightName('lnf.beta')).toBe('transformer.ln_f.bias');
    const names = gptParamSpecs(config).map((s) => gpt2WeightName(s.name));
    expect(new Set(names).size).toBe(names.length);
    expect(() => gpt2WeightName('h.0.attn.nope')).toThrow('No GPT-2 name for cbtm weight');
  });

  it('round-trips weights, with or without the transformer. prefix and old buffers', () => {
    const w = weights();
    const tensors = toGpt2Tensors(config, w);
    expect(tensors.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([8, 24]);
    expect(fromGpt2Tensors(config, tensors, 'm.safetensors')).toEqual(w);
    const bare = new Map<string, SafetensorsTensor>(
      [...tensors].map(([k, t]) => [k.replace(/^transformer\./, ''), t]),
    );
    bare.set('h.0.attn.bias', { shape: [1, 1, 6, 6], data: new Float32Array(36) });
    bare.set('lm_head.weight', tensors.get('transformer.wte.weight')!);
    expect(fromGpt2Tensors(config, bare, 'm.safetensors')).toEqual(w);
  });

  it('names the file and tensor that is missing, misshapen, extra or untied', () => {
    const tensors = toGpt2Tensors(config, weights());
    const without = new Map(tensors);
    without.delete('transformer.h.1.mlp.c_fc.bias');
    expect(() => fromGpt2Tensors(config, without, 'm.safetensors')).toThrow(
      "m.safetensors has no tensor transformer.h.1.mlp.c_fc.bias (cbtm's h.1.mlp.b1)",
    );
    const misshapen = new Map(tensors);
    misshapen.set('transformer.wpe.weight', { shape: [8, 8], data: new Float32Array(64) });
    expect(() => fromGpt2Tensors(config, misshapen, 'm.safetensors')).toThrow(
      'm.safetensors: tensor transformer.wpe.weight has shape [8, 8], but config.json says [6, 8].',
    );
    const extra = new Map(tensors);
    extra.set('transformer.h.2.ln_1.weight', { shape: [8], data: new Float32Array(8) });
    expect(() => fromGpt2Tensors(config, extra, 'm.safetensors')).toThrow(
      "m.safetensors has tensors a GPT-2 of config.json's shape does not: transformer.h.2.ln_1.weight",
    );
    const untied = new Map(tensors);
    untied.set('lm_head.weight', { shape: [11, 8], data: new Float32Array(88) });
    expect(() => fromGpt2Tensors(config, untied, 'm.safetensors')).toThrow(
      'm.safetensors: lm_head.weight differs from wte',
    );
  });
});
