/**
 * Writes a tiny BERT-like sentence-embedding model that transformers.js can load from a local
 * folder: `config.json`, `tokenizer.json`, `tokenizer_config.json` and `onnx/model.onnx`.
 *
 *   last_hidden_state = tanh((E[input_ids] + T[token_type_ids]) · W + b) ⊙ attention_mask
 *
 * No weights can be downloaded on the build machines, so the transformers.js path is tested on
 * this generated model; the returned weights let a test compute the expected embeddings by hand.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@cbtm/core';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The words of the tiny WordPiece vocabulary (after the four special tokens). */
export const TINY_BERT_WORDS = [
  'the',
  'cat',
  'dog',
  'sat',
  'on',
  'mat',
  'hello',
  'world',
  'a',
  'big',
  'small',
  'red',
  'blue',
  'run',
  '##s',
  '##ing',
  '##ed',
  ',',
  '.',
  '!',
] as const;

/** What {@link writeTinyBertModel} wrote, for computing expected outputs independently. */
export interface TinyBertModel {
  readonly dir: string;
  readonly hidden: number;
  /** Token → id (`[PAD]` 0, `[UNK]` 1, `[CLS]` 2, `[SEP]` 3, then the words). */
  readonly vocab: ReadonlyMap<string, number>;
  /** vocabSize × hidden, row-major. */
  readonly embeddings: Float32Array;
  /** 2 × hidden. */
  readonly tokenTypes: Float32Array;
  /** hidden × hidden, row-major (x · W). */
  readonly dense: Float32Array;
  readonly bias: Float32Array;
}

/** Writes the model into `dir` and returns its weights. */
export async function writeTinyBertModel(
  dir: string,
  options: { seed?: number; hidden?: number } = {},
): Promise<TinyBertModel> {
  const hidden = options.hidden ?? 8;
  const rng = new Rng(options.seed ?? 1);
  const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', ...TINY_BERT_WORDS];
  const vocab = new Map(tokens.map((t, i) => [t, i] as const));
  const rand = (n: number, scale: number) =>
    Float32Array.from({ length: n }, () => rng.normal() * scale);
  const embeddings = rand(tokens.length * hidden, 1);
  const tokenTypes = rand(2 * hidden, 0.1);
  const dense = rand(hidden * hidden, 1 / Math.sqrt(hidden));
  const bias = rand(hidden, 0.1);

  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(
    join(dir, 'onnx', 'model.onnx'),
    encodeModel(tokens.length, hidden, { embeddings, tokenTypes, dense, bias }),
  );
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify(
      {
        architectures: ['BertModel'],
        model_type: 'bert',
        hidden_size: hidden,
        num_attention_heads: 1,
        num_hidden_layers: 1,
        intermediate_size: hidden,
        max_position_embeddings: 64,
        type_vocab_size: 2,
        vocab_size: tokens.length,
        pad_token_id: 0,
      },
      null,
      2,
    ),
  );
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(tokens), null, 2));
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify(
      {
        tokenizer_class: 'BertTokenizer',
        do_lower_case: true,
        model_max_length: 64,
        cls_token: '[CLS]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        unk_token: '[UNK]',
        mask_token: '[UNK]',
      },
      null,
      2,
    ),
  );
  return { dir, hidden, vocab, embeddings, tokenTypes, dense, bias };
}

function tokenizerJson(tokens: readonly string[]) {
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tokens.slice(0, 4).map((t, i) => special(t, i)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
    },
  };
}

function encodeModel(
  vocabSize: number,
  hidden: number,
  w: {
    embeddings: Float32Array;
    tokenTypes: Float32Array;
    dense: Float32Array;
    bias: Float32Array;
  },
): Uint8Array {
  const { TensorProto } = onnx;
  const floatTensor = (name: string, dims: number[], data: Float32Array) =>
    TensorProto.create({
      name,
      dims,
      dataType: TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
  const int64Tensor = (name: string, values: number[]) =>
    TensorProto.create({
      name,
      dims: [values.length],
      dataType: TensorProto.DataType.INT64,
      int64Data: values,
    });
  const io = (name: string, elemType: number, dims: (string | number)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType,
          shape: {
            dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
          },
        },
      },
    });
  const node = (opType: string, input: string[], output: string[], attribute: object[] = []) =>
    onnx.NodeProto.create({ opType, input, output, name: output[0], attribute });
  const INT64 = TensorProto.DataType.INT64;
  const FLOAT = TensorProto.DataType.FLOAT;
  const graph = onnx.GraphProto.create({
    name: 'tiny-bert',
    initializer: [
      floatTensor('word_embeddings', [vocabSize, hidden], w.embeddings),
      floatTensor('token_type_embeddings', [2, hidden], w.tokenTypes),
      floatTensor('dense_weight', [hidden, hidden], w.dense),
      floatTensor('dense_bias', [hidden], w.bias),
      int64Tensor('unsqueeze_axes', [-1]),
    ],
    input: [
      io('input_ids', INT64, ['batch', 'sequence']),
      io('attention_mask', INT64, ['batch', 'sequence']),
      io('token_type_ids', INT64, ['batch', 'sequence']),
    ],
    output: [io('last_hidden_state', FLOAT, ['batch', 'sequence', hidden])],
    node: [
      node('Gather', ['word_embeddings', 'input_ids'], ['words']),
      node('Gather', ['token_type_embeddings', 'token_type_ids'], ['types']),
      node('Add', ['words', 'types'], ['embedded']),
      node('MatMul', ['embedded', 'dense_weight'], ['projected']),
      node('Add', ['projected', 'dense_bias'], ['biased']),
      node('Tanh', ['biased'], ['activated']),
      node(
        'Cast',
        ['attention_mask'],
        ['mask_float'],
        [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }],
      ),
      node('Unsqueeze', ['mask_float', 'unsqueeze_axes'], ['mask_3d']),
      node('Mul', ['activated', 'mask_3d'], ['last_hidden_state']),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'cbtm-tiny-bert',
    opsetImport: [{ domain: '', version: 14 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The expected sentence embedding of `ids` (one sequence, no padding), computed directly from
 * the weights in float64: mean of the hidden states over tokens, then L2 normalization.
 */
export function tinyBertEmbedding(model: TinyBertModel, ids: readonly number[]): Float64Array {
  const h = model.hidden;
  const sum = new Float64Array(h);
  for (const id of ids) {
    const x = new Float64Array(h);
    for (let c = 0; c < h; c++) x[c] = model.embeddings[id * h + c]! + model.tokenTypes[c]!;
    for (let c = 0; c < h; c++) {
      let z = model.bias[c]!;
      for (let r = 0; r < h; r++) z += x[r]! * model.dense[r * h + c]!;
      sum[c]! += Math.tanh(z);
    }
  }
  let norm = 0;
  for (let c = 0; c < h; c++) {
    sum[c]! /= ids.length;
    norm += sum[c]! * sum[c]!;
  }
  norm = Math.sqrt(norm);
  for (let c = 0; c < h; c++) sum[c]! /= norm;
  return sum;
}
