import { describe, expect, it } from 'vitest';
import { AdamW, clipScale } from './adamw.js';
import { learningRateAt } from './lr-schedule.js';

describe('AdamW', () => {
  it('matches a step computed by hand (PyTorch AdamW formula)', () => {
    const w = [new Float32Array([1, -2]), new Float32Array([3])];
    const g = [new Float32Array([0.5, 0.1]), new Float32Array([-1])];
    const opt = new AdamW([2, 1], { weightDecay: 0.1 });
    opt.step(w, g, [true, false], 0.1);
    // t=1: m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε) = ±lr; decay multiplies by 1 − lr·wd.
    expect(w[0]![0]).toBeCloseTo(1 * 0.99 - 0.1, 6);
    expect(w[0]![1]).toBeCloseTo(-2 * 0.99 - 0.1, 6);
    expect(w[1]![0]).toBeCloseTo(3 + 0.1, 6);
    // Second step with the same gradient: m = 0.9·0.05 + 0.1·0.5 = 0.095, v = 0.95·0.0125 + 0.05·0.25.
    opt.step(w, g, [true, false], 0.1);
    const m = 0.095 / (1 - 0.9 ** 2);
    const v = (0.95 * 0.0125 + 0.05 * 0.25) / (1 - 0.95 ** 2);
    expect(w[0]![0]).toBeCloseTo((0.99 - 0.1) * 0.99 - (0.1 * m) / (Math.sqrt(v) + 1e-8), 5);
    expect(opt.t).toBe(2);
  });

  it('restores from its state exactly', () => {
    const a = new AdamW([3]);
    const wa = [new Float32Array([1, 2, 3])];
    a.step(wa, [new Float32Array([0.3, -0.2, 0.1])], [true], 0.01);
    const b = new AdamW([3], {}, a.state());
    const wb = [wa[0]!.slice()];
    const g = [new Float32Array([0.1, 0.1, -0.4])];
    a.step(wa, g, [true], 0.01);
    b.step(wb, g, [true], 0.01);
    expect(Array.from(wb[0]!)).toEqual(Array.from(wa[0]!));
  });

  it('clips to the global norm', () => {
    const { scale, norm } = clipScale([new Float32Array([3]), new Float32Array([4])], 1);
    expect(norm).toBe(5);
    expect(scale).toBeCloseTo(0.2, 6);
    expect(clipScale([new Float32Array([0.3, 0.4])], 1).scale).toBe(1);
  });
});

describe('learningRateAt', () => {
  const s = { lr: 1, minLr: 0.1, warmupSteps: 4, totalSteps: 14, decay: 'cosine' as const };
  it('warms up linearly, then decays by cosine to minLr', () => {
    expect([0, 1, 2, 3].map((i) => learningRateAt(i, s))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRateAt(4, s)).toBeCloseTo(1, 12);
    expect(learningRateAt(9, s)).toBeCloseTo(0.55, 12);
    expect(learningRateAt(14, s)).toBeCloseTo(0.1, 12);
  });
  it('decays linearly', () => {
    expect(learningRateAt(9, { ...s, decay: 'linear' })).toBeCloseTo(0.55, 12);
    expect(learningRateAt(6, { ...s, decay: 'linear' })).toBeCloseTo(1 - 0.9 * 0.2, 12);
  });
});
