import { Rng } from '@cbtm/core';

/** `blobs` well-separated Gaussian blobs of `perBlob` points each in `d` dimensions. */
export function gaussianBlobs(
  blobs: number,
  perBlob: number,
  d: number,
  seed: number,
  spread = 0.05,
): { points: Float32Array; labels: Int32Array; n: number } {
  const rng = new Rng(seed);
  const n = blobs * perBlob;
  const points = new Float32Array(n * d);
  const labels = new Int32Array(n);
  const centers = Array.from({ length: blobs }, () =>
    Array.from({ length: d }, () => rng.float() * 10),
  );
  for (let i = 0; i < n; i++) {
    const b = i % blobs;
    labels[i] = b;
    for (let t = 0; t < d; t++) points[i * d + t] = centers[b]![t]! + spread * rng.normal();
  }
  return { points, labels, n };
}

/** Uniform random points in [0, 1)^d, with every `dupEvery`-th point a copy of an earlier one. */
export function randomPoints(n: number, d: number, seed: number, dupEvery = 0): Float32Array {
  const rng = new Rng(seed);
  const points = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    if (dupEvery > 0 && i > 0 && i % dupEvery === 0) {
      const src = rng.int(0, i - 1);
      points.copyWithin(i * d, src * d, src * d + d);
    } else for (let t = 0; t < d; t++) points[i * d + t] = rng.float();
  }
  return points;
}
