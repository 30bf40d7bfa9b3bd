import { Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { DistanceEngine, wasmSimdSupported } from './squared-distances.js';
import { sleb, uleb } from './wasm-assembler.js';

function naive(x: Float32Array, n: number, d: number, c: Float32Array, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const diff = x[i * d + t]! - c[j * d + t]!;
        s += diff * diff;
      }
      out[i * k + j] = s;
    }
  }
  return out;
}

describe('DistanceEngine', () => {
  it('runs the WebAssembly SIMD kernel on this Node', () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  it.each([
    [1, 1, 1],
    [5, 3, 1],
    [7, 100, 8],
    [9, 17, 33],
    [4101, 10, 129],
    [2, 1, 5],
    [64, 31, 16],
  ])('matches a naive computation (n=%i, d=%i, k=%i), wasm and JS paths', (n, d, k) => {
    const rng = new Rng(n * 1000 + d * 10 + k);
    const x = Float32Array.from({ length: n * d }, () => rng.float() - 0.5);
    const c = Float32Array.from({ length: k * d }, () => rng.float() - 0.5);
    const want = naive(x, n, d, c, k);
    for (const wasm of [true, false]) {
      const engine = new DistanceEngine(x, n, d, { wasm });
      expect(engine.usesWasm).toBe(wasm);
      const { data, stride } = engine.distances(c, k);
      expect(stride).toBeGreaterThanOrEqual(k);
      let worst = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < k; j++)
          worst = Math.max(worst, Math.abs(data[i * stride + j]! - want[i * k + j]!));
      expect(worst).toBeLessThan(1e-4 * Math.max(1, d / 10));
    }
  });

  it('reuses an output buffer and handles n = 0', () => {
    const x = Float32Array.from([0, 0, 3, 4]);
    const engine = new DistanceEngine(x, 2, 2);
    const first = engine.distances(Float32Array.from([0, 0]), 1);
    const again = engine.distances(Float32Array.from([3, 4]), 1, first.data);
    expect(again.data).toBe(first.data);
    expect(again.data[0]).toBeCloseTo(25, 5);
    expect(again.data[again.stride]).toBeCloseTo(0, 5);
    expect(
      new DistanceEngine(new Float32Array(0), 0, 3).distances(new Float32Array(3), 1).data.length,
    ).toBe(0);
  });

  it('rejects inconsistent shapes', () => {
    expect(() => new DistanceEngine(new Float32Array(3), 2, 2)).toThrow(/fewer than n·d/);
    expect(() =>
      new DistanceEngine(new Float32Array(4), 2, 2).distances(new Float32Array(3), 2),
    ).toThrow(/k·d/);
  });
});

describe('LEB128 encoders', () => {
  it('encode like the WebAssembly spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([127]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });
});
