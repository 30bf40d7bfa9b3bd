import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { onBackend } from '../test-utils/backends.js';
import { lossAndGradients } from '../training/train-step.js';
import { gptFlopsPerToken, gptParamCount, resolveGptConfig } from './gpt-config.js';
import { GptModel } from './gpt-model.js';
import { MODEL_JSON, WEIGHTS_BIN } from './model-files.js';

const tiny = { vocabSize: 13, nLayer: 1, dModel: 8, nHead: 2, contextLength: 6, mlpRatio: 2 };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'cbtm-gpt-'));
  dirs.push(d);
  return d;
};

describe('GptConfig', () => {
  it('counts the reference model at about 0.94M weights, 5.92 MFLOP per token', () => {
    const c = resolveGptConfig({ vocabSize: 4096 });
    // wte 4096·128 + wpe 128·128 + 2 blocks × 198,272 + final LayerNorm 256.
    expect(gptParamCount(c)).toBe(524_288 + 16_384 + 2 * 198_272 + 256);
    expect(gptFlopsPerToken(c)).toBe(6 * (937_472 - 16_384) + 12 * 2 * 128 * 128);
  });

  it('rejects a head count that does not divide the width', () => {
    expect(() => resolveGptConfig({ vocabSize: 10, dModel: 10, nHead: 3 })).toThrow(/nHead/);
  });
});

describe('GptModel', () => {
  it('saves TF.js files that tf.io decodes to the same weights, and loads them back', async () => {
    await onBackend('cpu', async () => {
      const dir = await tempDir();
      const model = await GptModel.create(tiny, { seed: 3 });
      await model.save(dir);
      const json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8'));
      expect(json.format).toBe('cbtm-gpt');
      expect(json.weightsManifest[0].paths).toEqual([WEIGHTS_BIN]);
      // What a browser does: decode the shard with the manifest's specs.
      const bin = await readFile(join(dir, WEIGHTS_BIN));
      const buffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
      const decoded = tf.io.decodeWeights(buffer, json.weightsManifest[0].weights);
      const original = model.getWeights();
      expect(Object.keys(decoded).sort()).toEqual([...original.keys()].sort());
      for (const [name, w] of original)
        expect(Array.from(decoded[name]!.dataSync())).toEqual(Array.from(w));
      const loaded = await GptModel.load(dir);
      expect(loaded.config).toEqual(model.config);
      const ids = new Int32Array([1, 2, 3, 4]);
      expect(Array.from(await loaded.logProbs(ids))).toEqual(Array.from(await model.logProbs(ids)));
      model.dispose();
      loaded.dispose();
    });
  });

  it('logProbs: rows are log-distributions, and a sliding window beyond the context', async () => {
    await onBackend('cpu', async () => {
      const model = await GptModel.create(tiny, { seed: 4 });
      const V = tiny.vocabSize;
      const ids = new Int32Array([1, 5, 2, 7, 3, 9, 4, 11, 6, 8, 10, 12, 0]);
      const lp = await model.logProbs(ids);
      expect(lp.length).toBe(ids.length * V);
      for (let t = 0; t < ids.length; t++) {
        let s = 0;
        for (let v = 0; v < V; v++) s += Math.exp(lp[t * V + v]!);
        expect(s).toBeCloseTo(1, 5);
      }
      // Context 6, stride 3: windows start at 0, 3, 6, 7. Position t is scored by the last
      // window that newly covers it; compare with scoring that window alone.
      const plan = [
        { start: 0, from: 0, to: 6 },
        { start: 3, from: 6, to: 9 },
        { start: 6, from: 9, to: 12 },
        { start: 7, from: 12, to: 13 },
      ];
      for (const w of plan) {
        const alone = await model.logProbs(ids.slice(w.start, w.start + 6));
        for (let t = w.from; t < w.to; t++) {
          const a = lp.subarray(t * V, (t + 1) * V);
          const b = alone.subarray((t - w.start) * V, (t - w.start + 1) * V);
          for (let v = 0; v < V; v++) expect(a[v]).toBeCloseTo(b[v]!, 5);
        }
      }
      // Causality: a prefix scores the same as the full sequence's first rows.
      const prefix = await model.logProbs(ids.slice(0, 4));
      for (let i = 0; i < prefix.length; i++) expect(prefix[i]).toBeCloseTo(lp[i]!, 5);
      model.dispose();
    });
  });

  it.each(['cpu', 'wasm'] as const)(
    'passes a finite-difference gradient check on %s',
    async (backend) => {
      await onBackend(backend, async () => {
        const model = await GptModel.create(tiny, { seed: 5 });
        // Larger weights than the 0.02 init so every part of the network has a visible gradient.
        const scaled = new Map(
          [...model.getWeights()].map(([k, w]) => [
            k,
            k.endsWith('gamma') ? w : w.map((x) => x * 10),
          ]),
        );
        model.setWeights(scaled);
        const inputs = new Int32Array([1, 4, 2, 9, 3, 12, 5, 0, 7, 7, 8, 2]);
        const targets = new Int32Array([4, 2, 9, 3, 12, 5, 0, 7, 7, 8, 2, 1]);
        const { grads } = lossAndGradients(model, inputs, targets, 2);
        const specs = model.paramSpecs();
        const lossAt = (name: string, w: Float32Array) => {
          model.setWeights(new Map([[name, w]]));
          return lossAndGradients(model, inputs, targets, 2).loss;
        };
        const eps = 1e-2;
        let checked = 0;
        specs.forEach((s, p) => {
          const g = grads[p]!;
          // The three largest-magnitude coordinates of every weight.
          const idx = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 3);
          const base = scaled.get(s.name)!;
          for (const i of idx) {
            const plus = base.slice();
            plus[i] = plus[i]! + eps;
            const minus = base.slice();
            minus[i] = minus[i]! - eps;
            const fd = (lossAt(s.name, plus) - lossAt(s.name, minus)) / (2 * eps);
            model.setWeights(new Map([[s.name, base]]));
            expect(Math.abs(fd - g[i]!), `${s.name}[${i}] fd=${fd} analytic=${g[i]}`).toBeLessThan(
              2e-2 * Math.abs(g[i]!) + 2e-4,
            );
            checked += 1;
          }
        });
        expect(checked).toBe(specs.length * 3);
        model.dispose();
      });
    },
  );
});
