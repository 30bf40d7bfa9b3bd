import type * as tf from '@tensorflow/tfjs-core';
import { type BackendName, selectBackend } from '../backend/select-backend.js';

const quiet = { log: () => {} };

/** Runs `fn` with `backend` active and returns what it returns (plain data, not tensors). */
export async function onBackend<T>(backend: BackendName, fn: () => T | Promise<T>): Promise<T> {
  await selectBackend(backend, quiet);
  return fn();
}

/** Values of a tensor as a plain array, read and disposed. */
export function values(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

/** A seeded pseudo-random array in [-1, 1) (no backend needed). */
export function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 0x100000000) * 2 - 1;
  }
  return out;
}

/** Largest |a − b| relative to max(1, |b|). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++)
    m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return a.length === b.length ? m : Number.POSITIVE_INFINITY;
}
