import type { GptConfig } from '../model/gpt-config.js';
import { GPT_LAYER_NORM_EPSILON } from './gpt2-layout.js';

/** ONNX opset of the graph: 17 is the first with `LayerNormalization`. */
const OPSET = 17;

/**
 * Builds the ONNX graph of a cbtm GPT as transformers.js runs a GPT-2 decoder (the layout of
 * Optimum's `text-generation-with-past` export): inputs `input_ids` [batch, seq] int64,
 * `attention_mask` [batch, past + seq] int64, `position_ids` [batch, seq] int64 and, per layer,
 * `past_key_values.<i>.key|value` [batch, heads, past, d/heads] float32; outputs `logits`
 * [batch, seq, vocab] and `present.<i>.key|value` [batch, heads, past + seq, d/heads]. The
 * computation is cbtm's forward pass (model/gpt-forward.ts) written in standard ONNX ops, with
 * the weights as initializers. `onnx-proto` (protobufjs) loads only when this runs.
 *
 * @example
 * ```ts
 * await writeFile('out/onnx/model.onnx', await encodeGpt2Onnx(model.config, model.getWeights()));
 * ```
 */
export async function encodeGpt2Onnx(
  config: GptConfig,
  weights: ReadonlyMap<string, Float32Array>,
): Promise<Uint8Array> {
  const { onnx } = (await import('onnx-proto')).default;
  const { TensorProto } = onnx;
  const FLOAT = TensorProto.DataType.FLOAT;
  const INT64 = TensorProto.DataType.INT64;
  const BOOL = TensorProto.DataType.BOOL;
  const { dModel: d, nHead: H, vocabSize: V, mlpRatio } = config;
  const dh = d / H;
  const m = mlpRatio * d;

  const initializer: InstanceType<typeof TensorProto>[] = [];
  const floats = (name: string, dims: number[], data: Float32Array) => {
    const bytes = new Uint8Array(data.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
    initializer.push(TensorProto.create({ name, dims, dataType: FLOAT, rawData: bytes }));
    return name;
  };
  const int64s = (name: string, values: number[], dims: number[] = [values.length]) => {
    initializer.push(TensorProto.create({ name, dims, dataType: INT64, int64Data: values }));
    return name;
  };
  const weight = (name: string): Float32Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`encodeGpt2Onnx: weight ${name} is missing.`);
    return w;
  };
  /** Columns [from, from + width) of a row-major [rows, cols] matrix. */
  const columns = (w: Float32Array, rows: number, cols: number, from: number, width: number) => {
    const out = new Float32Array(rows * width);
    for (let r = 0; r < rows; r++)
      out.set(w.subarray(r * cols + from, r * cols + from + width), r * width);
    return out;
  };

  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  let counter = 0;
  type Attr = { name: string; i?: number; f?: number; ints?: number[] };
  const op = (opType: string, input: string[], attrs: Attr[] = [], output?: string): string => {
    const out = output ?? `${opType.toLowerCase()}_${counter++}`;
    const attribute = attrs.map((a) =>
      onnx.AttributeProto.create({
        name: a.name,
        ...(a.ints !== undefined
          ? { type: onnx.AttributeProto.AttributeType.INTS, ints: a.ints }
          : a.f !== undefined
            ? { type: onnx.AttributeProto.AttributeType.FLOAT, f: a.f }
            : { type: onnx.AttributeProto.AttributeType.INT, i: a.i }),
      }),
    );
    nodes.push(onnx.NodeProto.create({ opType, input, output: [out], name: out, attribute }));
    return out;
  };
  const io = (name: string, elemType: number, dims: (string | number)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType,
          shape: {
            dim: dims.map((x) => (typeof x === 'string' ? { dimParam: x } : { dimValue: x })),
          },
        },
      },
    });

  // Constants.
  const one = int64s('one', [1], []);
  const zero = int64s('zero', [0], []);
  const axes0 = int64s('axes_0', [0]);
  const axes1 = int64s('axes_1', [1]);
  const axes12 = int64s('axes_1_2', [1, 2]);
  const headsShape = int64s('heads_shape', [0, 0, H, dh]);
  const mergedShape = int64s('merged_shape', [0, 0, d]);
  const scale = floats('attn_scale', [], Float32Array.of(1 / Math.sqrt(dh)));
  const masked = floats('masked_score', [], Float32Array.of(-3.4028234663852886e38));
  const half = floats('half', [], Float32Array.of(0.5));
  const fOne = floats('f_one', [], Float32Array.of(1));
  const geluC = floats('gelu_c', [], Float32Array.of(0.044715));
  const geluK = floats('gelu_k', [], Float32Array.of(Math.sqrt(2 / Math.PI)));

  // Which keys each query may see: key position ≤ query position (past + i), and not padding.
  const seqLen = op('Gather', [op('Shape', ['input_ids']), one], [{ name: 'axis', i: 0 }]);
  const totalLen = op('Gather', [op('Shape', ['attention_mask']), one], [{ name: 'axis', i: 0 }]);
  const pastLen = op('Sub', [totalLen, seqLen]);
  const queryPos = op('Unsqueeze', [op('Range', [pastLen, totalLen, one]), axes1]);
  const keyPos = op('Unsqueeze', [op('Range', [zero, totalLen, one]), axes0]);
  const causal = op('LessOrEqual', [keyPos, queryPos]);
  const notPad = op('Unsqueeze', [
    op('Cast', ['attention_mask'], [{ name: 'to', i: BOOL }]),
    axes12,
  ]);
  const allowed = op('And', [causal, notPad], [], 'attention_allowed');

  const wte = floats('wte', [V, d], weight('wte'));
  const wpe = floats('wpe', [config.contextLength, d], weight('wpe'));
  let x = op('Add', [op('Gather', [wte, 'input_ids']), op('Gather', [wpe, 'position_ids'])]);
  const layerNorm = (input: string, prefix: string) =>
    op(
      'LayerNormalization',
      [
        input,
        floats(`${prefix}.gamma`, [d], weight(`${prefix}.gamma`)),
        floats(`${prefix}.beta`, [d], weight(`${prefix}.beta`)),
      ],
      [
        { name: 'axis', i: -1 },
        { name: 'epsilon', f: GPT_LAYER_NORM_EPSILON },
      ],
    );
  const linear = (input: string, w: string, b: string) => op('Add', [op('MatMul', [input, w]), b]);

  const pastInputs: ReturnType<typeof io>[] = [];
  const presentOutputs: ReturnType<typeof io>[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    const p = `h.${i}`;
    const wqkv = weight(`${p}.attn.wqkv`);
    const bqkv = weight(`${p}.attn.bqkv`);
    const h1 = layerNorm(x, `${p}.ln1`);
    const [q, k, v] = (['q', 'k', 'v'] as const).map((name, j) => {
      const w = floats(`${p}.attn.w${name}`, [d, d], columns(wqkv, d, 3 * d, j * d, d));
      const b = floats(`${p}.attn.b${name}`, [d], bqkv.slice(j * d, (j + 1) * d));
      const split = op('Reshape', [linear(h1, w, b), headsShape]);
      return op('Transpose', [split], [{ name: 'perm', ints: [0, 2, 1, 3] }]);
    });
    const pastKey = `past_key_values.${i}.key`;
    const pastValue = `past_key_values.${i}.value`;
    pastInputs.push(
      io(pastKey, FLOAT, ['batch_size', H, 'past_sequence_length', dh]),
      io(pastValue, FLOAT, ['batch_size', H, 'past_sequence_length', dh]),
    );
    presentOutputs.push(
      io(`present.${i}.key`, FLOAT, ['batch_size', H, 'total_sequence_length', dh]),
      io(`present.${i}.value`, FLOAT, ['batch_size', H, 'total_sequence_length', dh]),
    );
    const keys = op('Concat', [pastKey, k!], [{ name: 'axis', i: 2 }], `present.${i}.key`);
    const values = op('Concat', [pastValue, v!], [{ name: 'axis', i: 2 }], `present.${i}.value`);
    const keysT = op('Transpose', [keys], [{ name: 'perm', ints: [0, 1, 3, 2] }]);
    const scores = op('Mul', [op('MatMul', [q!, keysT]), scale]);
    const weightsAtt = op(
      'Softmax',
      [op('Where', [allowed, scores, masked])],
      [{ name: 'axis', i: -1 }],
    );
    const mixed = op(
      'Transpose',
      [op('MatMul', [weightsAtt, values])],
      [{ name: 'perm', ints: [0, 2, 1, 3] }],
    );
    const merged = op('Reshape', [mixed, mergedShape]);
    const wo = floats(`${p}.attn.wo`, [d, d], weight(`${p}.attn.wo`));
    const bo = floats(`${p}.attn.bo`, [d], weight(`${p}.attn.bo`));
    x = op('Add', [x, linear(merged, wo, bo)]);
    const h2 = layerNorm(x, `${p}.ln2`);
    const w1 = floats(`${p}.mlp.w1`, [d, m], weight(`${p}.mlp.w1`));
    const b1 = floats(`${p}.mlp.b1`, [m], weight(`${p}.mlp.b1`));
    const u = linear(h2, w1, b1);
    // gelu_new: 0.5·u·(1 + tanh(√(2/π)·(u + 0.044715·u³))).
    const cube = op('Mul', [op('Mul', [u, u]), u]);
    const inner = op('Mul', [op('Add', [u, op('Mul', [cube, geluC])]), geluK]);
    const act = op('Mul', [op('Mul', [u, half]), op('Add', [op('Tanh', [inner]), fOne])]);
    const w2 = floats(`${p}.mlp.w2`, [m, d], weight(`${p}.mlp.w2`));
    const b2 = floats(`${p}.mlp.b2`, [d], weight(`${p}.mlp.b2`));
    x = op('Add', [x, linear(act, w2, b2)]);
  }
  const final = layerNorm(x, 'lnf');
  const wteT = op('Transpose', [wte], [{ name: 'perm', ints: [1, 0] }]);
  op('MatMul', [final, wteT], [], 'logits');

  const graph = onnx.GraphProto.create({
    name: 'cbtm-gpt2',
    initializer,
    input: [
      io('input_ids', INT64, ['batch_size', 'sequence_length']),
      io('attention_mask', INT64, ['batch_size', 'total_sequence_length']),
      io('position_ids', INT64, ['batch_size', 'sequence_length']),
      ...pastInputs,
    ],
    output: [io('logits', FLOAT, ['batch_size', 'sequence_length', V]), ...presentOutputs],
    node: nodes,
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: '@cbtm/train',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
