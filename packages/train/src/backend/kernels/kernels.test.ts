import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxRelDiff, onBackend, seeded, values } from '../../test-utils/backends.js';

/**
 * Runs `fn` on wasm and on cpu, returning both results. The cpu backend keeps its own kernels
 * except UnsortedSegmentSum and Transpose, which are checked against explicit arithmetic.
 */
async function both<T>(fn: () => T): Promise<{ wasm: T; cpu: T }> {
  const wasm = await onBackend('wasm', fn);
  const cpu = await onBackend('cpu', fn);
  return { wasm, cpu };
}

const t = (shape: number[], seed: number) =>
  tf.tensor(
    seeded(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );

describe('wasm BatchMatMul (explicit transposes, 2-D products per batch)', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[7, 5], [7, 3], true, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [3, 7], true, true],
    [[4, 5, 7], [4, 7, 3], false, false],
    [[4, 5, 7], [4, 3, 7], false, true],
    [[4, 7, 5], [4, 7, 3], true, false],
    [[2, 3, 5, 7], [7, 6], false, false],
    [[2, 3, 5, 7], [6, 7], false, true],
    [[5, 7], [4, 7, 3], false, false],
    [[1, 5, 7], [4, 7, 3], false, false],
  ];
  it.each(cases)('matches cpu for %j × %j (tA=%s, tB=%s)', async (sa, sb, ta, tb) => {
    const r = await both(() => values(tf.matMul(t(sa, 1), t(sb, 2), ta, tb)));
    expect(r.wasm.length).toBe(r.cpu.length);
    expect(maxRelDiff(r.wasm, r.cpu)).toBeLessThan(1e-5);
  });

  it('gives each batch slice its own right operand (no stale packed weights)', async () => {
    // Same shapes, different data, many slices: a cache keyed by a reused id would repeat slice 0.
    const r = await both(() => {
      const out: number[] = [];
      for (let k = 0; k < 3; k++)
        out.push(...values(tf.matMul(t([6, 4, 5], 10 + k), t([6, 5, 4], 20 + k))));
      return out;
    });
    expect(maxRelDiff(r.wasm, r.cpu)).toBeLessThan(1e-5);
  });

  it('matches cpu gradients', async () => {
    const r = await both(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(a, b, false, true), t([3, 5, 4], 9))),
      );
      return g([t([3, 5, 7], 3), t([3, 4, 7], 4)]).flatMap(values);
    });
    expect(maxRelDiff(r.wasm, r.cpu)).toBeLessThan(1e-5);
  });
});

/** out[i0..] = x[i_perm...] by explicit multi-index arithmetic. */
function bruteTranspose(x: number[], shape: number[], perm: number[]): number[] {
  const outShape = perm.map((p) => shape[p]!);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out: number[] = [];
  const idx = outShape.map(() => 0);
  for (let n = 0; n < x.length; n++) {
    let src = 0;
    idx.forEach((v, ax) => {
      src += v * strides[perm[ax]!]!;
    });
    out.push(Math.fround(x[src]!));
    for (let ax = idx.length - 1; ax >= 0; ax--) {
      idx[ax]! += 1;
      if (idx[ax]! < outShape[ax]!) break;
      idx[ax] = 0;
    }
  }
  return out;
}

describe('JS Transpose (wasm heap and cpu)', () => {
  const cases: [number[], number[]][] = [
    [
      [5, 7],
      [1, 0],
    ],
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [2, 5, 3, 4, 6],
      [2, 0, 3, 1, 4],
    ],
    [
      [2, 4, 5, 6],
      [0, 2, 1, 3],
    ],
    [
      [1, 4, 1, 6],
      [2, 0, 3, 1],
    ],
    [
      [3, 4],
      [0, 1],
    ],
  ];
  it.each(cases)('matches index arithmetic for shape %j perm %j', async (shape, perm) => {
    const r = await both(() => values(tf.transpose(t(shape, 5), perm)));
    expect(r.wasm).toEqual(bruteTranspose(Array.from(seeded(r.wasm.length, 5)), shape, perm));
    expect(r.cpu).toEqual(r.wasm);
  });

  it('transposes int32 tensors', async () => {
    const r = await both(() =>
      values(tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'))),
    );
    expect(r.wasm).toEqual([1, 4, 2, 5, 3, 6]);
    expect(r.cpu).toEqual(r.wasm);
  });
});

describe('wasm Sum and Unpack', () => {
  it.each([
    [[6, 5], [0]],
    [
      [3, 4, 5],
      [0, 1],
    ],
    [[3, 4, 5], [2]],
    [[3, 4, 5], [1]],
    [
      [3, 4, 5],
      [0, 2],
    ],
  ])('Sum of %j over %j matches cpu', async (shape, axes) => {
    const r = await both(() => values(tf.sum(t(shape, 7), axes)));
    expect(maxRelDiff(r.wasm, r.cpu)).toBeLessThan(1e-6);
    const k = await both(() => tf.sum(t(shape, 7), axes, true).shape);
    expect(k.wasm).toEqual(k.cpu);
  });

  it.each([0, 1, 2])('Unpack along axis %i matches cpu', async (axis) => {
    const r = await both(() => tf.unstack(t([3, 4, 5], 8), axis).map(values));
    expect(r.wasm).toEqual(r.cpu);
  });
});

describe('UnsortedSegmentSum (the embedding gradient)', () => {
  it('adds rows into their segments on wasm and cpu', async () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const ids = [2, 0, 2, -1];
    const expected = [3, 4, 0, 0, 1 + 5, 2 + 6];
    const r = await both(() =>
      values(tf.unsortedSegmentSum(tf.tensor2d(x, [4, 2]), tf.tensor1d(ids, 'int32'), 3)),
    );
    expect(r.wasm).toEqual(expected);
    expect(r.cpu).toEqual(expected);
  });

  it('gives gather its gradient on wasm', async () => {
    const r = await both(() => {
      const table = t([5, 3], 11);
      const idx = tf.tensor1d([4, 0, 4, 2], 'int32');
      const g = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.gather(w, idx), t([4, 3], 12))));
      return values(g(table));
    });
    expect(maxRelDiff(r.wasm, r.cpu)).toBeLessThan(1e-6);
  });
});

describe('Identity on wasm', () => {
  it('aliases without changing values', async () => {
    const r = await onBackend('wasm', () => {
      const x = t([4, 4], 13);
      const y = x.clone();
      x.dispose();
      return values(y);
    });
    expect(r).toEqual(Array.from(seeded(16, 13)));
  });
});
