import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Path } from '@cbtm/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import { readExpertSet, removeExpert, restoreExpert } from './expert-set-file.js';
import { loadRun } from './load-run.js';
import { scorersFor } from './scorers.js';
import { buildTinyRun, type TinyRun } from './test-utils/tiny-run.js';

let root: string;
let run: TinyRun;
const quiet = { log: () => undefined };
const hashes = async () =>
  Promise.all(
    ['experts/0', 'experts/2', 'router', 'experts'].map((p) => sha256Path(join(run.dir, p))),
  );

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cbtm-expert-set-'));
  run = await buildTinyRun(join(root, 'k3'), { k: 3, dense: false, documents: 40 });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('removeExpert and restoreExpert', () => {
  it('moves the expert aside, leaves everything else bit-identical, and routing renormalizes', async () => {
    const [e0, e2, router, expertsBefore] = await hashes();
    const text = run.docs[0]!.text.slice(0, 300);
    const before = await loadRun(run.dir, quiet);
    const full = await before.cbtm.scoreSequence(text);
    await before.dispose();

    const { set, moved } = await removeExpert(run.dir, 1, {
      now: new Date('2026-12-04T17:00:00.000Z'),
    });
    expect(set.active()).toEqual([0, 2]);
    expect(moved.to).toBe(join(run.dir, 'removed-experts', '1.20261204T170000Z'));
    expect(await readdir(join(run.dir, 'experts'))).toEqual(
      expect.arrayContaining(['0', '2', 'expert-set.json']),
    );
    expect(await readdir(join(run.dir, 'experts'))).not.toContain('1');
    const [a0, a2, aRouter, expertsAfter] = await hashes();
    expect([a0, a2, aRouter]).toEqual([e0, e2, router]);
    expect(expertsAfter).not.toBe(expertsBefore);
    expect((await readExpertSet(run.dir))!.active()).toEqual([0, 2]);

    const after = await loadRun(run.dir, quiet);
    const s = await after.cbtm.scoreSequence(text);
    expect(s.expertsRun).toEqual([0, 2]);
    for (let t = 0; t < s.routes.length; t++) {
      const r = s.routes[t]!;
      expect(r.experts).not.toContain(1);
      expect(Array.from(r.weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      // Where the full ensemble gave weights to 0 and 2, their ratio is unchanged.
      const f = full.routes[t]!;
      const w = (x: typeof r, j: number) => x.weights[x.experts.indexOf(j)]!;
      expect(w(r, 0) / w(r, 2)).toBeCloseTo(w(f, 0) / w(f, 2), 3);
    }
    const results = await evaluate(scorersFor(after), run.docs.slice(0, 3), {
      maxTokensPerDocument: 24,
    });
    for (const m of Object.values(results.methods))
      expect(Number.isFinite(m.perplexity)).toBe(true);
    await expect(
      evaluate(scorersFor(after, [{ kind: 'expert', expert: 1 }]), run.docs.slice(0, 1)),
    ).rejects.toThrow(/Expert 1 was removed.*--restore 1/);
    await after.dispose();

    await expect(removeExpert(run.dir, 1)).rejects.toThrow(/already removed/);
    await expect(removeExpert(run.dir, 7)).rejects.toThrow(/does not exist/);

    const restored = await restoreExpert(run.dir, 1);
    expect(restored.set.active()).toEqual([0, 1, 2]);
    // No expert removed any more: the experts folder is exactly as it was.
    expect((await hashes())[3]).toBe(expertsBefore);
    expect(await readExpertSet(run.dir)).toBeNull();
    await expect(restoreExpert(run.dir, 1)).rejects.toThrow(/was not removed/);
  });

  it('refuses to remove the last expert left', async () => {
    await removeExpert(run.dir, 0);
    await removeExpert(run.dir, 1);
    await expect(removeExpert(run.dir, 2)).rejects.toThrow(/last one left/);
    await restoreExpert(run.dir, 0);
    await restoreExpert(run.dir, 1);
    expect(await readExpertSet(run.dir)).toBeNull();
  });
});
