import { describe, expect, it } from 'vitest';
import { clusterMeans } from './cluster-means.js';

describe('clusterMeans', () => {
  it('averages the rows of each cluster (hand-computed), an empty cluster at the origin', () => {
    const points = Float32Array.of(0, 0, 2, 4, 5, 5, 1, -1, 7, 3);
    const means = clusterMeans(points, 5, 2, Int32Array.of(0, 0, 1, 0, 1), 3);
    expect(Array.from(means)).toEqual([1, 1, 6, 4, 0, 0]);
  });

  it('sums in float64, so many small rows do not lose precision', () => {
    const n = 100_001;
    const points = new Float32Array(n).fill(0.1);
    points[0] = 1e6;
    const means = clusterMeans(points, n, 1, new Int32Array(n), 1);
    expect(means[0]).toBe(Math.fround((1e6 + 100_000 * Math.fround(0.1)) / n));
  });

  it('rejects a cluster outside [0, k) and short inputs', () => {
    expect(() => clusterMeans(Float32Array.of(1, 2), 2, 1, [0, 2], 2)).toThrow(/outside/);
    expect(() => clusterMeans(Float32Array.of(1), 2, 1, [0, 0], 1)).toThrow(/n × d/);
  });
});
