#!/usr/bin/python3
"""Times scikit-learn's (unbalanced) KMeans on a float32 matrix, the baseline of
`npm run bench -w @cbtm/cluster`.

  /usr/bin/python3 tools/cluster/sklearn-kmeans-bench.py FILE.f32 D K [MAX_ITER] [TOL]

Same settings as the cbtm fit: k-means++ init (greedy, scikit-learn's default), one init
(n_init=1), Lloyd, max_iter 20, tol 1e-3. Prints JSON: seconds (median of `repeats` runs, init
included), iterations, inertia, threads.
"""
import json
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.cluster import KMeans

warnings.filterwarnings('ignore', category=FutureWarning)


def main():
    path, d, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    max_iter = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    tol = float(sys.argv[5]) if len(sys.argv) > 5 else 1e-3
    repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    x = np.fromfile(path, dtype=np.float32).reshape(-1, d)
    times = []
    for r in range(repeats):
        km = KMeans(n_clusters=k, n_init=1, max_iter=max_iter, tol=tol, init='k-means++', algorithm='lloyd', random_state=r)
        t = time.perf_counter()
        km.fit(x)
        times.append(time.perf_counter() - t)
    try:
        from threadpoolctl import threadpool_info
        threads = max(p['num_threads'] for p in threadpool_info())
    except Exception:  # noqa: BLE001
        threads = None
    json.dump({'sklearn': sklearn.__version__, 'seconds': float(np.median(times)), 'iterations': int(km.n_iter_),
               'inertia': float(km.inertia_), 'threads': threads}, sys.stdout)
    print()


if __name__ == '__main__':
    main()
