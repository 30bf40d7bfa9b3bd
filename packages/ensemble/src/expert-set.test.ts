import { ExactRouter } from '@cbtm/route';
import { describe, expect, it } from 'vitest';
import { ExpertSet, ExpertSubsetRouting } from './expert-set.js';

// Four centroids in 2-D.
const centroids = Float32Array.of(0, 0, 1, 0, 0, 1, 1, 1);
const full = new ExactRouter(centroids, 4, 2);

describe('ExpertSet', () => {
  it('removes and restores experts, keeping their ids, and round-trips through JSON', () => {
    const set = new ExpertSet(4).remove(2, 'removed-experts/2.x', '2026-12-04T17:00:00.000Z');
    expect(set.active()).toEqual([0, 1, 3]);
    expect(set.isRemoved(2)).toBe(true);
    const again = ExpertSet.fromJSON(JSON.parse(JSON.stringify(set)));
    expect(again.active()).toEqual([0, 1, 3]);
    expect(again.removed).toEqual(set.removed);
    expect(set.toJSON()).toMatchObject({ format: 'cbtm-expert-set', version: 1, k: 4 });
    expect(again.restore(2).active()).toEqual([0, 1, 2, 3]);
  });

  it('refuses unknown, twice-removed and last experts with clear errors', () => {
    const set = new ExpertSet(2);
    expect(() => set.remove(5, 'x', 't')).toThrow(/does not exist; this run has experts 0\.\.1/);
    const one = set.remove(0, 'x', 't');
    expect(() => one.remove(0, 'y', 't')).toThrow(/already removed/);
    expect(() => one.remove(1, 'y', 't')).toThrow(/last one left/);
    expect(() => set.restore(1)).toThrow(/was not removed/);
    expect(() => ExpertSet.fromJSON({ format: 'other' }, 'f.json')).toThrow(/f\.json.*format/);
    expect(() =>
      ExpertSet.fromJSON({ format: 'cbtm-expert-set', version: 1, k: 2, removed: [{ expert: 7 }] }),
    ).toThrow(/not one of 0\.\.1/);
  });
});

describe('ExpertSubsetRouting', () => {
  // The reference: a router built from the remaining centroids only (ids 0, 1, 3 → rows 0, 1, 2).
  const kept = [0, 1, 3];
  const rest = new ExactRouter(
    Float32Array.from(kept.flatMap((j) => [centroids[2 * j]!, centroids[2 * j + 1]!])),
    3,
    2,
  );
  const subset = new ExpertSubsetRouting(full, [2]);

  it('routes as a router over the remaining centroids would, with the original ids', () => {
    expect(subset.k).toBe(4);
    expect(subset.active).toEqual(kept);
    for (const vec of [
      [0.1, 0.9],
      [0.2, 0.1],
      [0.9, 0.8],
      [0.05, 0.6],
    ]) {
      for (const topK of [1, 2, 3, undefined]) {
        for (const temperature of [0.1, 1]) {
          const got = subset.route(vec, { topK, temperature });
          const want = rest.route(vec, { topK, temperature });
          expect(got.experts).toEqual(want.experts.map((i) => kept[i]));
          expect(got.experts).not.toContain(2);
          for (let i = 0; i < want.weights.length; i++) {
            expect(got.weights[i]).toBeCloseTo(want.weights[i]!, 6);
            expect(got.distances[i]).toBeCloseTo(want.distances[i]!, 6);
          }
        }
      }
    }
  });

  it('renormalizes: the removed expert’s weight is shared by the rest in proportion', () => {
    // (0, 1) is on centroid 2, the removed one; the others' weights keep their ratios.
    const all = full.route([0, 1], { temperature: 1 });
    const sub = subset.route([0, 1], { temperature: 1 });
    const w = (r: typeof all, j: number) => r.weights[r.experts.indexOf(j)]!;
    const z = w(all, 0) + w(all, 1) + w(all, 3);
    for (const j of kept) expect(w(sub, j)).toBeCloseTo(w(all, j) / z, 6);
    expect(Array.from(sub.weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });
});
