#!/usr/bin/python3
"""Writes packages/cluster/fixtures/projection-sklearn.json: the first two principal
components of seeded random point clouds, computed with scikit-learn's PCA (full SVD).

The sign of each component is fixed as `projectTo2d` fixes it (its largest-magnitude
coordinate is positive), so the projections compare value by value.

Run with Debian's python3-sklearn:  /usr/bin/python3 tools/cluster/make-projection-fixtures.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.decomposition import PCA

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'cluster', 'fixtures', 'projection-sklearn.json')


def case(name, rows):
    rows = np.asarray(rows, dtype=np.float32)
    n, d = rows.shape
    pca = PCA(n_components=2, svd_solver='full').fit(rows.astype(np.float64))
    comps = pca.components_.copy()
    for c in range(2):
        big = int(np.argmax(np.abs(comps[c])))
        if comps[c][big] < 0:
            comps[c] = -comps[c]
    xy = (rows.astype(np.float64) - pca.mean_) @ comps.T
    return {
        'name': name,
        'n': n,
        'd': d,
        'rows': [float(x) for x in rows.ravel()],
        'explainedVariance': [float(x) for x in pca.explained_variance_],
        'xy': [float(x) for x in xy.ravel()],
    }


def main():
    rng = np.random.default_rng(20261204)
    cases = []
    for t, (n, d) in enumerate([(12, 3), (40, 5), (60, 8), (25, 16)]):
        # Anisotropic, so the top two components are well separated from the rest.
        scales = np.linspace(4.0, 0.5, d) ** 2
        basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
        rows = (rng.normal(size=(n, d)) * scales) @ basis.T + rng.normal(size=d) * 3
        cases.append(case(f'anisotropic {t} (n={n}, d={d})', rows))
    # Unit-norm rows, like the tf-idf → SVD embeddings the report projects.
    rows = rng.normal(size=(30, 6)) * np.array([3.0, 2.0, 1.0, 0.4, 0.2, 0.1])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    cases.append(case('unit-norm rows (n=30, d=6)', rows))
    with open(OUT, 'w') as f:
        f.write('{"sklearn": %s, "cases": [\n' % json.dumps(sklearn.__version__))
        f.write(',\n'.join(json.dumps(c) for c in cases))
        f.write('\n]}\n')


if __name__ == '__main__':
    main()
