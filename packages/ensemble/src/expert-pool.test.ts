import { describe, expect, it } from 'vitest';
import { ExpertPool } from './expert-pool.js';
import { BigramModel } from './test-utils/bigram-model.js';

function makePool(maxLoaded: number) {
  const made: BigramModel[] = [];
  const pool = new ExpertPool(
    5,
    async (j) => {
      const m = BigramModel.random(3, j);
      made.push(m);
      return m;
    },
    { maxLoaded },
  );
  return { pool, made };
}

describe('ExpertPool', () => {
  it('loads lazily and evicts the least recently used beyond the bound', async () => {
    const { pool, made } = makePool(2);
    expect(pool.loads).toBe(0);
    await pool.use(0, () => 0);
    await pool.use(1, () => 0);
    await pool.use(0, () => 0);
    expect(pool.loads).toBe(2);
    await pool.use(2, () => 0); // evicts 1, the least recently used
    expect(pool.loaded()).toEqual([0, 2]);
    await Promise.resolve();
    expect(made.map((m) => m.disposed)).toEqual([false, true, false]);
    await pool.use(1, () => 0); // reload
    expect(pool.loads).toBe(4);
  });

  it('shares one load between concurrent users and never evicts a model in use', async () => {
    const { pool, made } = makePool(1);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const busy = pool.use(3, async (m) => {
      await gate;
      return m.disposed;
    });
    const again = pool.use(3, (m) => m);
    const other = pool.use(4, () => 'done');
    expect(await other).toBe('done');
    expect(await again).toBe(made[0]);
    release();
    expect(await busy).toBe(false);
    expect(pool.loads).toBe(2);
  });

  it('forgets a failed load so it can be retried', async () => {
    let fail = true;
    const pool = new ExpertPool(1, async () => {
      if (fail) throw new Error('disk');
      return BigramModel.random(2, 1);
    });
    await expect(pool.use(0, () => 1)).rejects.toThrow('disk');
    fail = false;
    expect(await pool.use(0, () => 1)).toBe(1);
    await expect(pool.use(1, () => 1)).rejects.toThrow(/does not exist/);
  });
});
