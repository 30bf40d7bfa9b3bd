import { describe, expect, it } from 'vitest';
import { labelAgreement } from './label-agreement.js';

describe('labelAgreement', () => {
  it('matches scikit-learn on a mixed example', () => {
    // sklearn: normalized_mutual_info_score(labels, clusters) = 0.48814049285708533;
    // purity = contingency_matrix(labels, clusters).max(axis=0).sum() / n = 0.75.
    const clusters = Int32Array.of(0, 0, 1, 1, 2, 2, 0, 1, 2, 2, 1, 0);
    const labels = ['a', 'a', 'b', 'b', 'c', 'a', 'a', 'b', 'c', 'c', 'c', 'b'];
    const { purity, nmi } = labelAgreement(clusters, labels, 3);
    expect(purity).toBeCloseTo(0.75, 12);
    expect(nmi).toBeCloseTo(0.48814049285708533, 12);
  });

  it('is 1 for a relabeled perfect clustering and handles single classes like sklearn', () => {
    expect(labelAgreement(Int32Array.of(1, 1, 0, 0), ['x', 'x', 'y', 'y'], 2)).toEqual({
      purity: 1,
      nmi: 1,
    });
    expect(labelAgreement(Int32Array.of(0, 0, 0), ['x', 'x', 'x'], 1)).toEqual({
      purity: 1,
      nmi: 1,
    });
    expect(labelAgreement(Int32Array.of(0, 1, 0), ['x', 'x', 'x'], 2).nmi).toBe(0);
  });
});
