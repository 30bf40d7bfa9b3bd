#!/usr/bin/python3
"""Writes packages/cluster/fixtures/metrics-sklearn.json: NMI (arithmetic normalization,
scikit-learn's default) and purity for seeded random labelings, computed with scikit-learn.

Run with Debian's python3-sklearn:  /usr/bin/python3 tools/cluster/make-metric-fixtures.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'packages', 'cluster', 'fixtures', 'metrics-sklearn.json')


def purity(labels, clusters):
    table = contingency_matrix(labels, clusters)
    return float(table.max(axis=0).sum() / table.sum())


def case(name, labels, clusters, k):
    labels = [str(x) for x in labels]
    clusters = [int(x) for x in clusters]
    return {
        'name': name,
        'k': k,
        'labels': labels,
        'clusters': clusters,
        'nmi': float(normalized_mutual_info_score(labels, clusters)),
        'purity': purity(labels, clusters),
    }


def main():
    rng = np.random.default_rng(20240501)
    domains = ['religion', 'legal', 'manuals', 'dictionary', 'pydocs', 'news', 'fiction']
    cases = [
        case('identical', ['a', 'a', 'b', 'b', 'c'], [2, 2, 0, 0, 1], 3),
        case('single class, single cluster', ['a'] * 5, [0] * 5, 1),
        case('single class, many clusters', ['a'] * 6, [0, 1, 2, 0, 1, 2], 3),
        case('all distinct clusters', ['a', 'a', 'b', 'b'], [0, 1, 2, 3], 4),
        case('empty cluster index', ['x', 'y', 'x', 'y'], [0, 0, 3, 3], 5),
    ]
    for t in range(12):
        n = int(rng.integers(5, 400))
        c = int(rng.integers(2, 8))
        k = int(rng.integers(2, 20))
        labels = [domains[i] for i in rng.integers(0, c, n)]
        if t % 3 == 0:
            clusters = rng.integers(0, k, n)  # independent
        else:
            # Correlated: mostly a function of the label, with noise.
            base = {d: int(rng.integers(0, k)) for d in domains}
            clusters = [base[l] if rng.random() < 0.7 else int(rng.integers(0, k)) for l in labels]
        cases.append(case(f'random {t} (n={n}, classes={c}, k={k})', labels, clusters, k))
    with open(OUT, 'w') as f:
        f.write('{"sklearn": %s, "cases": [\n' % json.dumps(sklearn.__version__))
        f.write(',\n'.join(json.dumps(c) for c in cases))
        f.write('\n]}\n')
    print(f'wrote {len(cases)} cases to {os.path.normpath(OUT)}')


if __name__ == '__main__':
    main()
