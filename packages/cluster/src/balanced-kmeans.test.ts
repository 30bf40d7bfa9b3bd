import { AbortError, InvalidArgumentError, type ProgressEvent, Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { sizeBounds } from './balanced-assignment.js';
import { BalancedKMeans, fitBalancedKMeans } from './balanced-kmeans.js';
import { contingencyTable, normalizedMutualInfo } from './metrics.js';
import { gaussianBlobs, randomPoints } from './test-utils/data.js';

function expectBalanced(sizes: ArrayLike<number>, n: number, k: number) {
  const lower = Math.floor(n / k);
  const list = Array.from(sizes);
  expect(list.reduce((a, b) => a + b, 0)).toBe(n);
  for (const s of list) expect([lower, lower + 1]).toContain(s);
}

describe('BalancedKMeans', () => {
  it('keeps every cluster at ⌊N/k⌋ or ⌈N/k⌉ for random N and k, duplicates included', async () => {
    const rng = new Rng(42);
    for (let trial = 0; trial < 14; trial++) {
      const k = rng.int(1, 12);
      // N < 2k, N not divisible by k, and plain random sizes.
      const n =
        trial % 3 === 0
          ? rng.int(k, 2 * k - 1)
          : trial % 3 === 1
            ? k * rng.int(1, 20) + rng.int(1, k)
            : rng.int(k, 300);
      const d = rng.int(1, 9);
      const points = randomPoints(n, d, trial, trial % 2 === 0 ? 3 : 0);
      const init = trial % 2 === 0 ? 'kmeans++' : 'random';
      const res = await fitBalancedKMeans(points, n, d, { k, seed: trial, init, maxIter: 8 });
      expectBalanced(res.sizes, n, k);
      const counted = new Array<number>(k).fill(0);
      for (const a of res.assignments) counted[a]! += 1;
      expect(counted).toEqual(Array.from(res.sizes));
    }
  });

  it('keeps sizes within the bounds of balanceSlack for random N, k and slack', async () => {
    const rng = new Rng(17);
    for (let trial = 0; trial < 10; trial++) {
      const k = rng.int(1, 10);
      const n = rng.int(k, 400);
      const d = rng.int(1, 6);
      const balanceSlack = [0.05, 0.1, 0.25, 0.5, 2][trial % 5]!;
      const points = randomPoints(n, d, 100 + trial, trial % 2 === 0 ? 4 : 0);
      const res = await fitBalancedKMeans(points, n, d, { k, seed: trial, balanceSlack });
      const { minSize, maxSize } = sizeBounds(n, k, balanceSlack);
      expect(Array.from(res.sizes).reduce((a, b) => a + b, 0)).toBe(n);
      for (const size of res.sizes) {
        expect(size).toBeGreaterThanOrEqual(minSize);
        expect(size).toBeLessThanOrEqual(maxSize);
      }
    }
  });

  it('lets uneven blobs keep their sizes with a slack, and splits them without', async () => {
    // Two far-apart blobs of 60 and 40 points. Exact balance (50/50) must move 10 points of the
    // big blob into the small one's cluster; a slack of 0.25 allows sizes 37 to 63.
    const blobs = gaussianBlobs(2, 60, 4, 8);
    const keep: number[] = [];
    let small = 0;
    for (let i = 0; i < blobs.n; i++) {
      if (blobs.labels[i] === 1 && small++ >= 40) continue;
      keep.push(i);
    }
    const n = keep.length;
    const points = new Float32Array(n * 4);
    for (const [q, i] of keep.entries()) points.set(blobs.points.subarray(i * 4, i * 4 + 4), q * 4);
    const labels = keep.map((i) => blobs.labels[i]!);
    const exact = await fitBalancedKMeans(points, n, 4, { k: 2, seed: 1 });
    expect(Array.from(exact.sizes)).toEqual([50, 50]);
    const slack = await fitBalancedKMeans(points, n, 4, { k: 2, seed: 1, balanceSlack: 0.25 });
    expect(Array.from(slack.sizes).sort()).toEqual([40, 60]);
    expect(normalizedMutualInfo(contingencyTable(labels, slack.assignments, 2))).toBeCloseTo(1, 12);
    expect(normalizedMutualInfo(contingencyTable(labels, exact.assignments, 2))).toBeLessThan(0.8);
    expect(slack.inertia).toBeLessThan(exact.inertia);
  });

  it('handles all-identical points', async () => {
    const points = new Float32Array(11 * 3).fill(0.5);
    const res = await fitBalancedKMeans(points, 11, 3, { k: 4, seed: 1 });
    expectBalanced(res.sizes, 11, 4);
    expect(res.inertia).toBe(0);
  });

  it('recovers well-separated equal blobs exactly', async () => {
    const { points, labels, n } = gaussianBlobs(5, 40, 6, 3);
    for (const balance of [true, false]) {
      const res = await fitBalancedKMeans(points, n, 6, { k: 5, seed: 2, balance });
      expect(
        normalizedMutualInfo(contingencyTable(Array.from(labels), res.assignments, 5)),
      ).toBeCloseTo(1, 12);
    }
  });

  it('is reproducible: same seed, same clusters', async () => {
    const points = randomPoints(500, 8, 5);
    const a = await fitBalancedKMeans(points, 500, 8, { k: 7, seed: 99 });
    const b = await fitBalancedKMeans(points, 500, 8, { k: 7, seed: 99 });
    expect(Array.from(b.assignments)).toEqual(Array.from(a.assignments));
    expect(Array.from(b.model.centroids)).toEqual(Array.from(a.model.centroids));
    expect(b.inertia).toBe(a.inertia);
  });

  it('keeps the best of nInit runs, the first being the nInit = 1 run', async () => {
    const points = randomPoints(600, 3, 17);
    const one = await fitBalancedKMeans(points, 600, 3, { k: 12, seed: 2 });
    const four = await fitBalancedKMeans(points, 600, 3, { k: 12, seed: 2, nInit: 4 });
    expect(four.inertia).toBeLessThanOrEqual(one.inertia);
    expectBalanced(four.sizes, 600, 12);
    expect(() => new BalancedKMeans({ k: 2, nInit: 0 })).toThrow(/nInit/);
    expect(() => new BalancedKMeans({ k: 2, balanceSlack: -0.1 })).toThrow(/balanceSlack/);
    expect(() => new BalancedKMeans({ k: 2, balanceSlack: Number.NaN })).toThrow(/balanceSlack/);
  });

  it('never increases the objective between iterations, and reports monotone progress', async () => {
    const points = randomPoints(800, 5, 8);
    for (const balance of [true, false]) {
      const events: ProgressEvent[] = [];
      const res = await fitBalancedKMeans(points, 800, 5, {
        k: 9,
        seed: 4,
        balance,
        tol: 0,
        onProgress: (e) => {
          events.push(e);
        },
      });
      expect(events[0]!.status).toBe('start');
      expect(events.at(-1)!.status).toBe('done');
      const steps = events.filter((e) => e.status === 'progress');
      expect(steps.length).toBe(res.iterations);
      for (let i = 1; i < steps.length; i++) {
        expect(steps[i]!.done).toBeGreaterThan(steps[i - 1]!.done);
        expect(steps[i]!.metrics!.inertia!).toBeLessThanOrEqual(
          steps[i - 1]!.metrics!.inertia! * (1 + 1e-6),
        );
      }
      expect(res.inertia).toBeCloseTo(steps.at(-1)!.metrics!.inertia!, 2);
    }
  });

  it('balanced inertia is never below the unbalanced optimum for the same centroids', async () => {
    const points = randomPoints(400, 4, 12);
    const res = await fitBalancedKMeans(points, 400, 4, { k: 6, seed: 3 });
    const greedy = res.model.assign(points, 400);
    const greedyInertia = greedy.distances.reduce((s, v) => s + v, 0);
    expect(res.inertia).toBeGreaterThanOrEqual(greedyInertia - 1e-3);
  });

  it('fits on a seeded sample and assigns the rest to the nearest centroid', async () => {
    const points = randomPoints(1000, 4, 21);
    const res = await fitBalancedKMeans(points, 1000, 4, { k: 8, seed: 5, sampleSize: 203 });
    expect(res.sampleIndices!.length).toBe(203);
    const sampleSizes = new Array<number>(8).fill(0);
    for (const i of res.sampleIndices!) sampleSizes[res.assignments[i]!]! += 1;
    expectBalanced(sampleSizes, 203, 8);
    const inSample = new Set(res.sampleIndices);
    const greedy = res.model.assign(points, 1000);
    for (let i = 0; i < 1000; i++)
      if (!inSample.has(i)) expect(res.assignments[i]).toBe(greedy.clusters[i]);
    const again = await fitBalancedKMeans(points, 1000, 4, { k: 8, seed: 5, sampleSize: 203 });
    expect(Array.from(again.sampleIndices!)).toEqual(Array.from(res.sampleIndices!));
  });

  it('fits in warm-started chunks and balances over every fitted point', async () => {
    const points = randomPoints(530, 3, 2);
    const events: ProgressEvent[] = [];
    const res = await fitBalancedKMeans(points, 530, 3, {
      k: 6,
      seed: 1,
      chunkSize: 200,
      maxIter: 3,
      tol: 0,
      onProgress: (e) => {
        events.push(e);
      },
    });
    expectBalanced(res.sizes, 530, 6);
    // 200, 200, 130 → three chunks of three iterations.
    expect(res.iterations).toBe(9);
    expect(
      new Set(events.filter((e) => e.status === 'progress').map((e) => e.metrics!.chunk)),
    ).toEqual(new Set([0, 1, 2]));
  });

  it('stops on an AbortSignal', async () => {
    const points = randomPoints(300, 4, 1);
    const before = new AbortController();
    before.abort();
    await expect(
      fitBalancedKMeans(points, 300, 4, { k: 3, signal: before.signal }),
    ).rejects.toBeInstanceOf(AbortError);
    const during = new AbortController();
    const run = fitBalancedKMeans(points, 300, 4, {
      k: 3,
      tol: 0,
      maxIter: 50,
      signal: during.signal,
      onProgress: (e) => {
        if (e.status === 'progress' && e.done === 2) during.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
  });

  it('rejects bad input with messages that say what to do', async () => {
    expect(() => new BalancedKMeans({ k: 0 })).toThrow(InvalidArgumentError);
    expect(() => new BalancedKMeans({ k: 4, sampleSize: 2 })).toThrow(/sampleSize/);
    await expect(fitBalancedKMeans(new Float32Array(6), 3, 2, { k: 4 })).rejects.toThrow(
      /Lower k or add data/,
    );
    await expect(
      fitBalancedKMeans(Float32Array.from([0, Number.NaN, 1, 1]), 2, 2, { k: 1 }),
    ).rejects.toThrow(/finite/);
  });
});
