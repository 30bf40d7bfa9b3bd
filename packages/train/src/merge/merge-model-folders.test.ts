import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { resolveGptConfig } from '../model/gpt-config.js';
import { GptModel } from '../model/gpt-model.js';
import { averageWeights } from './average-weights.js';
import {
  MERGE_MARKER_FILE,
  MERGED_TOKENIZER_FILE,
  mergeModelFolders,
} from './merge-model-folders.js';

let root: string;
const shape = { vocabSize: 40, dModel: 8, nHead: 2, nLayer: 1, contextLength: 8 };

/** Every tensor of a saved model, read straight from model.json and the weights file. */
async function rawTensors(dir: string): Promise<Map<string, Float32Array>> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
  };
  const out = new Map<string, Float32Array>();
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(join(dir, p)))));
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      out.set(
        w.name,
        Float32Array.from({ length: n }, (_, i) => bytes.readFloatLE(4 * (offset + i))),
      );
      offset += n;
    }
  }
  return out;
}

async function saveModel(dir: string, seed: number, config = shape): Promise<void> {
  const m = await GptModel.create(config, { seed });
  await m.save(dir);
  m.dispose();
}

beforeAll(async () => {
  await selectBackend('cpu', { log: () => undefined });
  root = await mkdtemp(join(tmpdir(), 'cbtm-merge-'));
  await saveModel(join(root, 'a'), 1);
  await saveModel(join(root, 'b'), 2);
  await saveModel(join(root, 'wide'), 3, { ...shape, dModel: 16 });
  await writeFile(join(root, 'tok.json'), '{"model":"one"}');
  await writeFile(join(root, 'tok-other.json'), '{"model":"two"}');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const src = (name: string, tokenizer = 'tok.json') => ({
  dir: join(root, name),
  tokenizer: join(root, tokenizer),
});

describe('averageWeights', () => {
  it('refuses incomplete models and bad coefficients', () => {
    const config = resolveGptConfig(shape);
    const w = new Map([['wte', Float32Array.of(1, 2, 3)]]);
    const model = { config, weights: w };
    expect(() => averageWeights([model, model], [1, 3])).toThrow(
      /Model 0: weight wte is missing or has 3 values, expected 320 \(shape \[40, 8\]\)/,
    );
    expect(() => averageWeights([model], [-1])).toThrow(/must be finite and ≥ 0/);
    expect(() => averageWeights([model, model], [0, 0])).toThrow(/all 0/);
    expect(() => averageWeights([model, model], [1])).toThrow(/2 models but 1/);
  });
});

describe('mergeModelFolders', () => {
  it('writes exactly Σ c_j W_j for every tensor, readable by GptModel.load, with the tokenizer and a marker', async () => {
    const out = join(root, 'merged');
    const result = await mergeModelFolders({
      sources: [src('a'), src('b')],
      coefficients: [1, 3],
      out,
      describe: { weights: 'test' },
    });
    expect(result.coefficients).toEqual([0.25, 0.75]);
    const [a, b, m] = await Promise.all([
      rawTensors(join(root, 'a')),
      rawTensors(join(root, 'b')),
      rawTensors(out),
    ]);
    expect([...m.keys()]).toEqual([...a.keys()]);
    for (const [name, wa] of a) {
      const wb = b.get(name)!;
      const want = Float32Array.from(wa, (x, i) => 0.25 * x + 0.75 * wb[i]!);
      expect(m.get(name), name).toEqual(want);
    }
    const loaded = await GptModel.load(out);
    expect(loaded.config).toEqual(resolveGptConfig(shape));
    loaded.dispose();
    expect(await readFile(join(out, MERGED_TOKENIZER_FILE), 'utf8')).toBe('{"model":"one"}');
    const marker = JSON.parse(await readFile(join(out, MERGE_MARKER_FILE), 'utf8'));
    expect(marker).toMatchObject({ format: 'cbtm-merge', describe: { weights: 'test' } });
    expect(marker.sources.map((s: { coefficient: number }) => s.coefficient)).toEqual([0.25, 0.75]);

    // Merging again into its own folder replaces it, and leaves no temp folders behind.
    await mergeModelFolders({ sources: [src('a'), src('b')], coefficients: [1, 0], out });
    expect(await rawTensors(out)).toEqual(a);
    expect((await readdir(root)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses models of different shapes or tokenizers, naming the difference', async () => {
    const out = join(root, 'bad');
    await expect(
      mergeModelFolders({ sources: [src('a'), src('wide')], coefficients: [1, 1], out }),
    ).rejects.toThrow(/Model 1 has dModel 16 but model 0 has 8/);
    await expect(
      mergeModelFolders({
        sources: [src('a'), src('b', 'tok-other.json')],
        coefficients: [1, 1],
        out,
      }),
    ).rejects.toThrow(/tok-other\.json differs from .*tok\.json.*different tokenizers/);
    expect(await readdir(root)).not.toContain('bad');
  });

  it('never overwrites a folder it did not create, nor a protected folder or its parents', async () => {
    const run = join(root, 'runs', 'r1');
    await mkdir(join(run, 'experts'), { recursive: true });
    await writeFile(join(run, 'keep.txt'), 'mine');
    const merge = (out: string) =>
      mergeModelFolders({
        sources: [src('a'), src('b')],
        coefficients: [1, 1],
        out,
        protect: [run],
      });
    await expect(merge(run)).rejects.toThrow(/must never write into/);
    await expect(merge(join(root, 'runs'))).rejects.toThrow(
      /is a parent of .*r1, which a merge must never write into/,
    );
    await expect(merge(join(run, 'experts', 'merged'))).rejects.toThrow(
      /is inside .*r1, which a merge must never write into/,
    );
    await expect(merge(root)).rejects.toThrow(/must never write into|overlaps/);
    await expect(merge(join(root, 'a'))).rejects.toThrow(/overlaps the model folder/);
    await expect(merge(join(root, 'a', 'sub'))).rejects.toThrow(/overlaps the model folder/);
    await mkdir(join(root, 'theirs'));
    await writeFile(join(root, 'theirs', 'notes.txt'), 'keep me');
    await expect(merge(join(root, 'theirs'))).rejects.toThrow(
      /was not made by cbtm merge.*left alone/,
    );
    expect(await readFile(join(root, 'theirs', 'notes.txt'), 'utf8')).toBe('keep me');
    expect(await readFile(join(run, 'keep.txt'), 'utf8')).toBe('mine');
    // Beside the run directory is fine.
    await merge(join(root, 'runs', 'r1-merged'));
    expect(await readdir(join(root, 'runs', 'r1-merged'))).toContain(MERGE_MARKER_FILE);
    expect(await readdir(run)).toEqual(['experts', 'keep.txt']);
  });
});
