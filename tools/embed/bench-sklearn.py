#!/usr/bin/env python3
"""scikit-learn baseline for `npm run bench -w @cbtm/embed`.

Times the c-BTM reference vectorizer (NumberNormalizingVectorizer with English stop words plus
#NUMBER) and TruncatedSVD(100) on the documents of a .jsonl.gz file, and prints one JSON line.

    /usr/bin/python3 tools/embed/bench-sklearn.py corpus.jsonl.gz [n_components]
"""
import gzip
import json
import sys
import time
import warnings

import sklearn
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

warnings.filterwarnings("ignore", message="Your stop_words may be inconsistent")


def number_normalizer(tokens):
    return ("#NUMBER" if token[0].isdigit() else token for token in tokens)


class NumberNormalizingVectorizer(TfidfVectorizer):
    def build_tokenizer(self):
        tokenize = super().build_tokenizer()
        return lambda doc: list(number_normalizer(tokenize(doc)))


def vectorizer():
    return NumberNormalizingVectorizer(stop_words=list(ENGLISH_STOP_WORDS.union(["#NUMBER"])))


def best(fn, repeat):
    times = []
    result = None
    for _ in range(repeat):
        # CPU time, as the JS side measures it: robust on a shared machine.
        t = time.process_time()
        result = fn()
        times.append(time.process_time() - t)
    return min(times), result


def main():
    path = sys.argv[1]
    n_components = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with gzip.open(path, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    fit_s, v = best(lambda: vectorizer().fit(texts), repeat)
    transform_s, X = best(lambda: v.transform(texts), repeat)
    fit_transform_s, _ = best(lambda: vectorizer().fit_transform(texts), repeat)
    svd_s, _ = best(lambda: TruncatedSVD(n_components=n_components, random_state=0).fit(X), 1)
    print(json.dumps({
        "sklearn": sklearn.__version__,
        "docs": len(texts),
        "features": len(v.vocabulary_),
        "fit_s": fit_s,
        "transform_s": transform_s,
        "fit_transform_s": fit_transform_s,
        "svd_fit_s": svd_s,
    }))


if __name__ == "__main__":
    main()
