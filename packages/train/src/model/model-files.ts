import { CbtmError, fileSystem } from '@cbtm/core';
import { type GptConfig, gptParamSpecs, resolveGptConfig } from './gpt-config.js';

/**
 * File names of a saved model, TensorFlow.js's own layout.
 *
 * @example
 * ```ts
 * const json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as GptModelJson;
 * ```
 */
export const MODEL_JSON = 'model.json';
/**
 * The one weights shard.
 *
 * @example
 * ```ts
 * const bytes = await readFile(join(dir, WEIGHTS_BIN));
 * ```
 */
export const WEIGHTS_BIN = 'group1-shard1of1.bin';

/**
 * One entry of a TF.js weights manifest.
 *
 * @example
 * ```ts
 * tf.io.decodeWeights(buffer, json.weightsManifest[0].weights as WeightSpec[]);
 * ```
 */
export interface WeightSpec {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: 'float32';
}

/**
 * `model.json` of a cbtm GPT: a TF.js artifact (`modelTopology` + `weightsManifest`) that a
 * browser can fetch with `tf.io.loadWeights(json.weightsManifest, dirUrl)`.
 *
 * @example
 * ```ts
 * const json: GptModelJson = await (await fetch(`${url}/model.json`)).json();
 * const weights = await tf.io.loadWeights(json.weightsManifest, url);
 * ```
 */
export interface GptModelJson {
  readonly format: 'cbtm-gpt';
  readonly version: 1;
  readonly generatedBy: string;
  readonly modelTopology: { readonly class_name: 'CbtmGpt'; readonly config: GptConfig };
  readonly weightsManifest: { readonly paths: string[]; readonly weights: WeightSpec[] }[];
}

/** Writes model.json + the weights shard into `dir`, each atomically. */
export async function writeModelFiles(
  dir: string,
  config: GptConfig,
  weights: ReadonlyMap<string, Float32Array>,
): Promise<void> {
  const specs = gptParamSpecs(config);
  const total = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const data = new Float32Array(total);
  let offset = 0;
  const manifest: WeightSpec[] = [];
  for (const s of specs) {
    const w = weights.get(s.name);
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (!w || w.length !== size)
      throw new CbtmError('E_MODEL', `Weight ${s.name} is missing or has the wrong size.`);
    data.set(w, offset);
    offset += size;
    manifest.push({ name: s.name, shape: [...s.shape], dtype: 'float32' });
  }
  const json: GptModelJson = {
    format: 'cbtm-gpt',
    version: 1,
    generatedBy: '@cbtm/train',
    modelTopology: { class_name: 'CbtmGpt', config },
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: manifest }],
  };
  const fs = fileSystem();
  await fs.writeAtomic(fs.join(dir, WEIGHTS_BIN), new Uint8Array(data.buffer));
  await fs.writeJsonAtomic(fs.join(dir, MODEL_JSON), json);
}

/** Reads model.json + weights from `dir`; the error names the file and what to do. */
export async function readModelFiles(
  dir: string,
): Promise<{ config: GptConfig; weights: Map<string, Float32Array> }> {
  const fs = fileSystem();
  const file = fs.join(dir, MODEL_JSON);
  const json = await fs.readJson<Partial<GptModelJson>>(file);
  if (
    json.format !== 'cbtm-gpt' ||
    json.version !== 1 ||
    !json.modelTopology ||
    !json.weightsManifest
  ) {
    throw new CbtmError(
      'E_FORMAT',
      `${file} is not a cbtm GPT model (format "cbtm-gpt", version 1). Re-train or re-save it.`,
    );
  }
  const config = resolveGptConfig(json.modelTopology.config);
  const weights = new Map<string, Float32Array>();
  for (const group of json.weightsManifest) {
    const buffers = await Promise.all(group.paths.map((p) => fs.readBytes(fs.join(dir, p))));
    const byteLength = buffers.reduce((n, b) => n + b.byteLength, 0);
    const aligned = new Float32Array(byteLength / 4);
    const view = new Uint8Array(aligned.buffer);
    let at = 0;
    for (const b of buffers) {
      view.set(b, at);
      at += b.byteLength;
    }
    let offset = 0;
    for (const spec of group.weights) {
      if (spec.dtype !== 'float32')
        throw new CbtmError(
          'E_FORMAT',
          `${file}: weight ${spec.name} is ${spec.dtype}; only float32 is supported.`,
        );
      const size = spec.shape.reduce((a, b) => a * b, 1);
      if (offset + size > aligned.length)
        throw new CbtmError('E_FORMAT', `${dir}: the weights file is shorter than ${file} says.`);
      weights.set(spec.name, aligned.slice(offset, offset + size));
      offset += size;
    }
  }
  for (const s of gptParamSpecs(config)) {
    const w = weights.get(s.name);
    if (!w || w.length !== s.shape.reduce((a, b) => a * b, 1)) {
      throw new CbtmError(
        'E_FORMAT',
        `${file}: weight ${s.name} is missing or has the wrong shape.`,
      );
    }
  }
  return { config, weights };
}
