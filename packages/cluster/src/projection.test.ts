import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectTo2d } from './projection.js';

interface Fixture {
  readonly name: string;
  readonly n: number;
  readonly d: number;
  readonly rows: number[];
  readonly xy: number[];
}
// Made by tools/cluster/make-projection-fixtures.py with Debian's python3-sklearn.
const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/projection-sklearn.json', import.meta.url), 'utf8'),
) as { cases: Fixture[] };

describe('projectTo2d', () => {
  it.each(fixtures.cases.map((c) => [c.name, c] as const))(
    'matches scikit-learn PCA: %s',
    (_, c) => {
      const xy = projectTo2d(Float32Array.from(c.rows), c.n, c.d);
      expect(xy.length).toBe(c.n * 2);
      const scale = Math.max(...c.xy.map(Math.abs));
      for (let i = 0; i < c.xy.length; i++)
        expect(Math.abs(xy[i]! - c.xy[i]!)).toBeLessThan(1e-6 * scale);
    },
  );

  it('finds the principal axes of an anisotropic cloud (hand-computed)', () => {
    // Points spread ±3 along (1,1,0)/√2 and ±1 along (1,-1,0)/√2, none along z.
    const s = Math.SQRT1_2;
    const pts = [
      [3, 0],
      [-3, 0],
      [0, 1],
      [0, -1],
    ];
    const rows = new Float32Array(
      pts.flatMap(([a, b]) => [a! * s + b! * s, a! * s - b! * s, 0]).map((x) => x + 5),
    );
    const xy = projectTo2d(rows, 4, 3);
    // First component: ±3 for the first two points, 0 for the others; second: 0 and ±1.
    expect(Math.abs(xy[0]!)).toBeCloseTo(3, 5);
    expect(xy[0]! + xy[2]!).toBeCloseTo(0, 5);
    expect(xy[4]!).toBeCloseTo(0, 5);
    expect(Math.abs(xy[5]!)).toBeCloseTo(1, 5);
    expect(xy[1]!).toBeCloseTo(0, 5);
  });

  it('keeps distances along the plane of 2-D data (rotation only)', () => {
    const rows = Float32Array.of(0, 0, 4, 0, 0, 2, 4, 2);
    const xy = projectTo2d(rows, 4, 2);
    const dist = (i: number, j: number) =>
      Math.hypot(xy[2 * i]! - xy[2 * j]!, xy[2 * i + 1]! - xy[2 * j + 1]!);
    expect(dist(0, 1)).toBeCloseTo(4, 5);
    expect(dist(0, 2)).toBeCloseTo(2, 5);
    expect(dist(0, 3)).toBeCloseTo(Math.hypot(4, 2), 5);
  });

  it('handles one dimension and no rows, and rejects short input', () => {
    expect(Array.from(projectTo2d(Float32Array.of(1, 3), 2, 1))).toEqual([-1, 0, 1, 0]);
    expect(projectTo2d(new Float32Array(0), 0, 3).length).toBe(0);
    expect(() => projectTo2d(Float32Array.of(1, 2, 3), 2, 2)).toThrow(/n × d/);
  });
});
