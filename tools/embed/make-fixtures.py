#!/usr/bin/env python3
"""Generate scikit-learn parity fixtures for @cbtm/embed.

Run with Debian's scikit-learn (python3-sklearn, 1.2.x, the version the c-BTM reference pinned):

    /usr/bin/python3 tools/embed/make-fixtures.py [path/to/corpus-v1/valid.jsonl.gz]

Writes packages/embed/fixtures/sklearn-parity.json.gz. The TypeScript tests compare against it.
Everything here is deterministic: fixed document choice, fixed seeds.
"""
import gzip
import json
import os
import re
import sys

import warnings

import numpy as np
import scipy
import sklearn
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_CORPUS = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "corpus-v1", "valid.jsonl.gz"))
OUT = os.path.join(ROOT, "packages", "embed", "fixtures", "sklearn-parity.json.gz")

PER_DOMAIN = 10
NON_ASCII = 10
HELD_OUT = 6
# The SVD fixture needs a spectrum with a gap after n_components, or "the same subspace" is
# ill-posed (randomized and exact SVD then disagree with each other too). Shorter documents,
# more of them per domain, give the domain directions room to stand out: with these settings
# sigma_6 / sigma_7 is about 1.1 and scikit-learn's randomized and arpack subspaces agree.
SVD_PER_DOMAIN = 30
SVD_CHARS = 600
SVD_COMPONENTS = 6


def number_normalizer(tokens):
    return ("#NUMBER" if token[0].isdigit() else token for token in tokens)


class NumberNormalizingVectorizer(TfidfVectorizer):
    """The c-BTM reference vectorizer (tokens starting with a digit become #NUMBER)."""

    def build_tokenizer(self):
        tokenize = super().build_tokenizer()
        return lambda doc: list(number_normalizer(tokenize(doc)))


def cbtm_vectorizer():
    return NumberNormalizingVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS.union(["#NUMBER"])))


# Strings that exercise the corners of Python's Unicode \w, \b, str.lower() and str.isdigit().
TORTURE = [
    "İstanbul ΣΑΣ ΟΔΟΣ. ΑΣ.Β όσος Σ",
    "naïve café Straße ǅemal ﬁle",
    "e\u0301cole re\u0301sume\u0301 cafe\u0301",
    "हिन्दी भाषा नमस्ते",
    "²nd 3rd 12th ½ ① x9 9x ٣٤ ٣abc ⑴ ⒈ ➀ 𝟎𝟏 𝐀𝐁𝐂 Ⅻ 〇〇",
    "🙂ab cd🙂ef snake_case_word __init__ a_b _ __ don't it's",
    "中文字符 日本語のテキスト 한국어",
    "tab\tsep\nnew-line, hyphen-ated; co-operate (paren) [bracket] {brace}",
    "─── │ ┼ box ── drawing ─x─ §§ 10§ ©2023",
    "MiXeD CaSe WORDS Words words",
    "ΣΣ Σa aΣ aΣb a\u0345Σ",
    "x y z aa bb a1 1a",
]


def pick_docs(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    docs.sort(key=lambda d: d["id"])
    chosen, seen = [], set()
    by_domain = {}
    for d in docs:
        by_domain.setdefault(d["domain"], []).append(d)
    for domain in sorted(by_domain):
        for d in by_domain[domain][:PER_DOMAIN]:
            chosen.append(d)
            seen.add(d["id"])
    non_ascii = [d for d in docs if d["id"] not in seen and any(ord(c) > 127 for c in d["text"])]
    for d in non_ascii[:NON_ASCII]:
        chosen.append(d)
        seen.add(d["id"])
    rest = [d for d in docs if d["id"] not in seen]
    held_out = rest[:: max(1, len(rest) // HELD_OUT)][:HELD_OUT]
    return chosen, held_out


def pick_svd_docs(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    docs.sort(key=lambda d: d["id"])
    by_domain = {}
    for d in docs:
        by_domain.setdefault(d["domain"], []).append(d)
    return [
        {"id": d["id"], "text": d["text"][:SVD_CHARS]}
        for domain in sorted(by_domain)
        for d in by_domain[domain][:SVD_PER_DOMAIN]
    ]


def csr_rows(X, rows=None):
    X = X.tocsr()
    X.sort_indices()
    rows = range(X.shape[0]) if rows is None else rows
    out = []
    for i in rows:
        a, b = X.indptr[i], X.indptr[i + 1]
        out.append({"indices": X.indices[a:b].tolist(), "values": X.data[a:b].tolist()})
    return out


def vocab_list(v):
    inv = sorted(v.vocabulary_.items(), key=lambda kv: kv[1])
    assert [i for _, i in inv] == list(range(len(inv)))
    return [t for t, _ in inv]


def run_config(name, vectorizer, options, fit_texts, held_texts, all_rows=False):
    X = vectorizer.fit_transform(fit_texts)
    H = vectorizer.transform(held_texts)
    return {
        "name": name,
        "options": options,
        "vocabulary": vocab_list(vectorizer),
        "idf": vectorizer.idf_.tolist(),
        "rows": csr_rows(X, None if all_rows else range(min(5, X.shape[0]))),
        "heldOut": csr_rows(H),
    }, X


def svd_result(X, algorithm, n_components):
    svd = TruncatedSVD(n_components=n_components, algorithm=algorithm, random_state=0)
    Z = svd.fit_transform(X)
    return {
        "algorithm": algorithm,
        "nIter": svd.n_iter,
        "nComponents": n_components,
        "explainedVarianceRatio": svd.explained_variance_ratio_.tolist(),
        "singularValues": svd.singular_values_.tolist(),
        # Documents in the reduced space, X @ components_.T (n_docs x n_components). Their
        # column span equals the components' span mapped through X, so it pins the subspace.
        "transformed": Z.tolist(),
    }


def main():
    # The reference adds "#NUMBER" to the stop words, which scikit-learn flags as inconsistent
    # with its own preprocessing; that is intended.
    warnings.filterwarnings("ignore", message="Your stop_words may be inconsistent")
    corpus = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CORPUS
    fit_docs, held_docs = pick_docs(corpus)
    fit_texts = [d["text"] for d in fit_docs]
    held_texts = [d["text"] for d in held_docs]

    configs = []
    cbtm, X_cbtm = run_config("cbtm", cbtm_vectorizer(), {"preset": "cbtm"}, fit_texts, held_texts, all_rows=True)
    configs.append(cbtm)
    configs.append(run_config("sklearn-default", TfidfVectorizer(), {}, fit_texts, held_texts)[0])
    configs.append(
        run_config(
            "ngram-limits",
            TfidfVectorizer(
                ngram_range=(1, 2), min_df=2, max_df=0.5, max_features=500,
                sublinear_tf=True, norm="l1", smooth_idf=False, stop_words="english",
            ),
            {"ngramRange": [1, 2], "minDf": 2, "maxDf": {"fraction": 0.5}, "maxFeatures": 500,
             "sublinearTf": True, "norm": "l1", "smoothIdf": False, "stopWords": "english"},
            fit_texts, held_texts,
        )[0]
    )
    configs.append(
        run_config(
            "fractions",
            TfidfVectorizer(min_df=0.05, max_df=0.9, lowercase=False, norm=None, max_features=2000),
            {"minDf": {"fraction": 0.05}, "maxDf": {"fraction": 0.9}, "lowercase": False, "norm": None,
             "maxFeatures": 2000},
            fit_texts, held_texts,
        )[0]
    )
    configs.append(
        run_config(
            "pattern",
            TfidfVectorizer(token_pattern=r"(?u)\b(\w\w)\w*\b", ngram_range=(2, 3), max_features=300,
                            stop_words=["th", "an"]),
            {"tokenPattern": r"(?u)\b(\w\w)\w*\b", "ngramRange": [2, 3], "maxFeatures": 300,
             "stopWords": ["th", "an"]},
            fit_texts, held_texts,
        )[0]
    )

    analyzers = {"cbtm": cbtm_vectorizer().build_analyzer(), "sklearn-default": TfidfVectorizer().build_analyzer()}
    torture = [{"text": t, "tokens": {k: a(t) for k, a in analyzers.items()}} for t in TORTURE]

    # Python `re.findall` for token patterns the TypeScript side translates to JS regexes.
    regex_texts = [
        "Hello, World! It's 2023-10-05; café_au_lait x86_64 ΑΣ.Β naïve e\u0301cole 𝐀𝐁 ²³ ٣٤ a\tb\nc \x1c sep\u00a0nbsp\ufeffbom",
        "foo.bar@example.com #tag (paren) [x] {y} $5.00 50% end\n",
    ]
    regex_patterns = [
        r"(?u)\b\w\w+\b", r"\b\w+\b", r"\w{3,}", r"\d+", r"\D+", r"\s+", r"\S+", r"[\w']+", r"[^\W\d_]+",
        r"(?i)[a-z]+", r"\b\w", r"\B\w+", r"(?P<w>\w)(?P=w)", r"\w+$", r"(?m)\w+$", r"\w{,2}", r"a.c",
        r"(?s)a.c", r"\w+(?=\.)", r"(?<=#)\w+", r"(\w)\w*", r"\$\d+\.\d\d", r"[{}\[\]()]", r"\x41|\u00e9|[\u0370-\u03ff]+",
        r"(?a)\w+", r"\A\w+", r"\w+\Z",
    ]
    regex_cases = [
        {"pattern": p, "text": t, "findall": re.findall(p, t)} for p in regex_patterns for t in regex_texts
    ]

    # numpy's default argsort (introsort, not stable) decides which tied terms max_features keeps.
    rng = np.random.RandomState(0)
    argsort_cases = []
    for size, high in [(5, 3), (17, 4), (40, 5), (300, 7), (2000, 30)]:
        values = -rng.randint(0, high, size=size).astype(np.float64)
        argsort_cases.append({"values": values.tolist(), "order": np.argsort(values).tolist()})

    svd_docs = pick_svd_docs(corpus)
    X_svd = cbtm_vectorizer().fit_transform([d["text"] for d in svd_docs])
    fixture = {
        "generator": "tools/embed/make-fixtures.py",
        "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "python": sys.version.split()[0]},
        "englishStopWords": sorted(ENGLISH_STOP_WORDS),
        "fitDocs": [{"id": d["id"], "text": d["text"]} for d in fit_docs],
        "heldOutDocs": [{"id": d["id"], "text": d["text"]} for d in held_docs],
        "configs": configs,
        "torture": torture,
        "argsort": argsort_cases,
        "regex": regex_cases,
        "svd": {
            "config": "cbtm",
            "docs": svd_docs,
            "randomized": svd_result(X_svd, "randomized", SVD_COMPONENTS),
            "arpack": svd_result(X_svd, "arpack", SVD_COMPONENTS),
            # The 80 tf-idf documents have a flat spectrum: only a converged SVD pins their
            # 10-dimensional subspace, so this one is compared with many power iterations.
            "flatArpack": svd_result(X_cbtm, "arpack", 10),
        },
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    data = json.dumps(fixture, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with gzip.GzipFile(OUT, "wb", mtime=0) as f:
        f.write(data)
    print(f"wrote {OUT}: {len(fit_docs)} fit docs, {len(held_docs)} held-out, "
          f"{len(data)} bytes json, {os.path.getsize(OUT)} bytes gz")
    for c in configs:
        print(f"  {c['name']}: {len(c['vocabulary'])} terms")
    for key in ("randomized", "arpack", "flatArpack"):
        print(f"  svd {key} evr:", np.round(fixture["svd"][key]["explainedVarianceRatio"], 5).tolist())


if __name__ == "__main__":
    main()
