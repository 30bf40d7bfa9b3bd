import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CbtmError, Rng } from '@cbtm/core';
import { describe, expect, it } from 'vitest';
import { ClusterModel } from './cluster-model.js';
import { loadClusterModel, saveClusterModel } from './serialize.js';

function randomModel(k: number, d: number, seed: number): ClusterModel {
  const rng = new Rng(seed);
  return new ClusterModel(
    Float32Array.from({ length: k * d }, () => rng.normal()),
    k,
    d,
  );
}

describe('ClusterModel', () => {
  it('returns the nearest centroids in order with squared distances', () => {
    const model = new ClusterModel(Float32Array.from([0, 0, 1, 1, 5, 5]), 3, 2);
    const { indices, distances } = model.nearest([0.9, 0.8], 2);
    expect(Array.from(indices)).toEqual([1, 0]);
    expect(distances[0]).toBeCloseTo(0.05, 6);
    expect(distances[1]).toBeCloseTo(1.45, 6);
    expect(model.nearest([4, 4], 10).indices.length).toBe(3);
  });

  it('assigns batches like nearest() (wasm kernel in blocks)', () => {
    const model = randomModel(11, 13, 1);
    const rng = new Rng(2);
    const n = 9000; // more than one block
    const points = Float32Array.from({ length: n * 13 }, () => rng.normal());
    const { clusters, distances } = model.assign(points, n);
    for (let i = 0; i < n; i += 37) {
      const near = model.nearest(points.subarray(i * 13, i * 13 + 13), 2);
      // Ties within float32 rounding may go either way; otherwise the same answer.
      if (near.distances[1]! - near.distances[0]! > 1e-4) expect(clusters[i]).toBe(near.indices[0]);
      expect(distances[i]).toBeCloseTo(near.distances[0]!, 3);
    }
  });

  it('measures each point against its given centroid, matching nearest() when it is the nearest', () => {
    const model = new ClusterModel(Float32Array.from([0, 0, 1, 1, 5, 5]), 3, 2);
    const points = Float32Array.from([0.9, 0.8, 4, 6, 0, 1]);
    const d = model.distancesTo(points, 3, [1, 2, 0]);
    expect(d[0]).toBe(model.nearest([0.9, 0.8], 1).distances[0]);
    expect(Array.from(d.subarray(1))).toEqual([2, 1]);
    // Not the nearest: still the distance to the given one.
    expect(model.distancesTo(points, 1, [2])[0]).toBeCloseTo(4.1 ** 2 + 4.2 ** 2, 5);
    expect(() => model.distancesTo(points, 3, [0, 3, 0])).toThrow(/outside/);
    expect(() => model.distancesTo(points, 4, [0, 0, 0, 0])).toThrow(/n × dimension/);
  });

  it('round-trips exactly through JSON and through save/load', async () => {
    const model = randomModel(5, 7, 3);
    const copy = ClusterModel.fromJSON(JSON.parse(JSON.stringify(model)));
    expect(copy.k).toBe(5);
    expect(copy.dimension).toBe(7);
    expect(Array.from(copy.centroids)).toEqual(Array.from(model.centroids));
    const dir = await mkdtemp(join(tmpdir(), 'cbtm-model-'));
    try {
      await saveClusterModel(model, dir);
      const saved = JSON.parse(await readFile(join(dir, 'centroids.json'), 'utf8'));
      expect(saved.format).toBe('cbtm-cluster-model');
      expect(saved.version).toBe(1);
      const loaded = await loadClusterModel(dir);
      expect(Array.from(loaded.centroids)).toEqual(Array.from(model.centroids));
      await writeFile(join(dir, 'centroids.json'), '{"format":"other"}');
      await expect(loadClusterModel(dir)).rejects.toThrow(/Not a cbtm cluster model/);
      await expect(loadClusterModel(join(dir, 'missing'))).rejects.toThrow(CbtmError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed JSON and arguments', () => {
    const good = randomModel(2, 2, 1).toJSON();
    expect(() => ClusterModel.fromJSON(null)).toThrow(/expected an object/);
    expect(() => ClusterModel.fromJSON({ ...good, version: 2 })).toThrow(/version 2/);
    expect(() => ClusterModel.fromJSON({ ...good, centroids: [1, 2] })).toThrow(/k × dimension/);
    expect(() => ClusterModel.fromJSON({ ...good, centroids: [1, 2, 3, null] })).toThrow(/finite/);
    expect(() => new ClusterModel(new Float32Array(3), 2, 2)).toThrow(/k × dimension/);
    expect(() => randomModel(2, 2, 1).nearest([1], 1)).toThrow(/dimension/);
    expect(() => randomModel(2, 2, 1).nearest([1, 2], 0)).toThrow(/topK/);
  });
});
