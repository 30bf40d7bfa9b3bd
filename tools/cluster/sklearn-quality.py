#!/usr/bin/python3
"""scikit-learn reference numbers for the cluster package README.

  /usr/bin/python3 tools/cluster/sklearn-quality.py CORPUS.jsonl.gz [--k 7] [--seeds 5]
      tf-idf (the c-BTM vectorizer) -> TruncatedSVD(100) -> L2 normalize -> KMeans(k),
      NMI against the `domain` labels; KMeans with n_init=10 (scikit-learn 1.2's default)
      and with n_init=1, over several seeds.

  /usr/bin/python3 tools/cluster/sklearn-quality.py --embeddings FILE.f32 --labels FILE.json [--k 7]
      KMeans on given embeddings (float32, row-major; labels JSON: {"d": 100, "labels": [...]}),
      to compare clustering algorithms on identical vectors.

Prints one JSON object on stdout. Use Debian's python3-sklearn (/usr/bin/python3).
"""
import argparse
import gzip
import json
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics import normalized_mutual_info_score
from sklearn.preprocessing import normalize

warnings.filterwarnings('ignore', category=FutureWarning)


def number_normalizer(tokens):
    return ('#NUMBER' if token[0].isdigit() else token for token in tokens)


class NumberNormalizingVectorizer(TfidfVectorizer):
    """The c-BTM reference vectorizer (tokens starting with a digit become #NUMBER)."""

    def build_tokenizer(self):
        tokenize = super().build_tokenizer()
        return lambda doc: list(number_normalizer(tokenize(doc)))


def kmeans_nmi(x, labels, k, seeds, n_init):
    scores, times = [], []
    for seed in range(seeds):
        t = time.time()
        pred = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(x)
        times.append(time.time() - t)
        scores.append(normalized_mutual_info_score(labels, pred))
    return {'n_init': n_init, 'nmi': scores, 'mean': float(np.mean(scores)), 'seconds': float(np.mean(times))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('corpus', nargs='?')
    ap.add_argument('--k', type=int, default=7)
    ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--embeddings')
    ap.add_argument('--labels')
    a = ap.parse_args()
    out = {'sklearn': sklearn.__version__, 'k': a.k}
    if a.embeddings:
        meta = json.load(open(a.labels))
        x = np.fromfile(a.embeddings, dtype=np.float32).reshape(-1, meta['d'])
        labels = meta['labels']
        out['kmeans_on_given_embeddings'] = [kmeans_nmi(x, labels, a.k, a.seeds, n) for n in (10, 1)]
    else:
        with gzip.open(a.corpus, 'rt', encoding='utf-8') as f:
            docs = [json.loads(line) for line in f]
        texts = [d['text'] for d in docs]
        labels = [d['domain'] for d in docs]
        t = time.time()
        vec = NumberNormalizingVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS.union(['#NUMBER'])))
        x = normalize(TruncatedSVD(n_components=100, random_state=0).fit_transform(vec.fit_transform(texts)))
        out['documents'] = len(docs)
        out['embed_seconds'] = time.time() - t
        out['pipeline'] = [kmeans_nmi(x, labels, a.k, a.seeds, n) for n in (10, 1)]
    json.dump(out, sys.stdout)
    print()


if __name__ == '__main__':
    main()
