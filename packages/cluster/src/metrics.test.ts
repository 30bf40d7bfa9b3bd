import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  clusterMetrics,
  clusterSizes,
  contingencyTable,
  normalizedMutualInfo,
  purity,
} from './metrics.js';

interface Fixture {
  readonly name: string;
  readonly k: number;
  readonly labels: string[];
  readonly clusters: number[];
  readonly nmi: number;
  readonly purity: number;
}

// Made by tools/cluster/make-metric-fixtures.py with Debian's python3-sklearn.
const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/metrics-sklearn.json', import.meta.url), 'utf8'),
) as { sklearn: string; cases: Fixture[] };

describe('metrics', () => {
  it.each(fixtures.cases.map((c) => [c.name, c] as const))('match scikit-learn: %s', (_, c) => {
    const table = contingencyTable(c.labels, c.clusters, c.k);
    expect(normalizedMutualInfo(table)).toBeCloseTo(c.nmi, 12);
    expect(purity(table)).toBeCloseTo(c.purity, 12);
  });

  it('counts cluster sizes, of all documents or of some rows, empty clusters kept', () => {
    expect(clusterSizes(Int32Array.of(0, 2, 2, 1, 2), 4)).toEqual([1, 1, 3, 0]);
    expect(clusterSizes([0, 2, 2, 1, 2], 4, Int32Array.of(0, 2, 4))).toEqual([1, 0, 2, 0]);
    expect(() => clusterSizes([0, 4], 4)).toThrow(/outside/);
  });

  it('builds the contingency table with sorted labels and empty clusters kept', () => {
    const t = contingencyTable(['b', 'a', 'a', 'b', 'c'], [0, 2, 2, 0, 0], 4);
    expect(t.labels).toEqual(['a', 'b', 'c']);
    expect(t.counts).toEqual([
      [0, 0, 2, 0],
      [2, 0, 0, 0],
      [1, 0, 0, 0],
    ]);
  });

  it('summarizes sizes, balance and label scores', () => {
    const contingency = contingencyTable(['x', 'x', 'y', 'y', 'y'], [0, 0, 1, 1, 2], 3);
    const m = clusterMetrics({
      method: 'nearest-centroid',
      sizes: [2, 2, 1],
      inertia: 1.5,
      contingency,
    });
    expect(m.sizes).toEqual([2, 2, 1]);
    expect(m.documents).toBe(5);
    expect(m.balanceRatio).toBe(2);
    expect(m.labels?.purity).toBe(1);
    expect(m.labels?.field).toBe('domain');
    expect(
      clusterMetrics({ method: 'random', sizes: [3, 0], inertia: null }).balanceRatio,
    ).toBeNull();
    expect(clusterMetrics({ method: 'random', sizes: [3, 0], inertia: null }).labels).toBeNull();
  });

  it('rejects mismatched inputs', () => {
    expect(() => contingencyTable(['a'], [0, 1])).toThrow(/length/);
    expect(() => contingencyTable(['a'], [5], 2)).toThrow(/outside/);
  });
});
