"""scikit-learn side of bench/intent-svm.ts.

  intent_svm_sklearn.py fit DIR [NAME]      5-fold CV (folds from DIR/fold.i32) of LinearSVC and friends
  intent_svm_sklearn.py export POSOS DIR    TF-IDF (word 1-2 + char_wb 2-5) of posos' questions into DIR
"""
import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC


def read(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    X = sp.csr_matrix(
        (
            np.fromfile(os.path.join(d, "data.f64"), dtype="<f8"),
            np.fromfile(os.path.join(d, "indices.i32"), dtype="<i4"),
            np.fromfile(os.path.join(d, "indptr.i32"), dtype="<i4"),
        ),
        shape=(meta["rows"], meta["cols"]),
    )
    y = np.fromfile(os.path.join(d, "y.i32"), dtype="<i4")
    fold = np.fromfile(os.path.join(d, "fold.i32"), dtype="<i4")
    return X, y, fold


def fit(d, only):
    X, y, fold = read(d)
    contenders = {
        "LinearSVC": lambda: LinearSVC(random_state=0),
        "LinearSVC+sigmoid cv=3": lambda: CalibratedClassifierCV(
            LinearSVC(random_state=0), method="sigmoid", cv=3, ensemble=False
        ),
        "LinearSVC balanced": lambda: LinearSVC(class_weight="balanced", random_state=0),
        "LinearSVC bal.+sigmoid": lambda: CalibratedClassifierCV(
            LinearSVC(class_weight="balanced", random_state=0), method="sigmoid", cv=3, ensemble=False
        ),
        "LogisticRegression": lambda: LogisticRegression(C=10, tol=1e-4, max_iter=1000),
    }
    for name, make in contenders.items():
        if only not in ("all", name):
            continue
        pred = np.empty_like(y)
        seconds = 0.0
        cpu = 0.0
        for f in range(5):
            train = np.flatnonzero(fold != f)
            valid = np.flatnonzero(fold == f)
            started = time.perf_counter()
            cpu_started = time.process_time()
            model = make().fit(X[train], y[train])
            seconds += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            pred[valid] = model.predict(X[valid])
        print(
            f"sklearn {name:24s} {seconds:.2f} s (cpu {cpu:.2f} s)  accuracy {accuracy_score(y, pred):.4f}  "
            f"macro-F1 {f1_score(y, pred, average='macro'):.4f}",
            flush=True,
        )


def export(posos, d):
    import csv

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    with open(os.path.join(posos, "input_train.csv"), newline="", encoding="utf-8") as fh:
        text = {row["ID"]: row["question"] for row in csv.DictReader(fh)}
    with open(os.path.join(posos, "output_train.csv"), newline="", encoding="utf-8") as fh:
        label = {row["ID"]: int(row["intention"]) for row in csv.DictReader(fh)}
    ids = sorted(text, key=int)
    union = make_union(
        TfidfVectorizer(ngram_range=(1, 2)),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)),
    )
    X = sp.csr_matrix(union.fit_transform([text[i] for i in ids]), dtype=np.float64)
    X.sort_indices()
    y = np.array([label[i] for i in ids], dtype="<i4")
    os.makedirs(d, exist_ok=True)
    json.dump(
        {"rows": X.shape[0], "cols": X.shape[1], "classes": [str(c) for c in range(y.max() + 1)]},
        open(os.path.join(d, "meta.json"), "w"),
    )
    X.indptr.astype("<i4").tofile(os.path.join(d, "indptr.i32"))
    X.indices.astype("<i4").tofile(os.path.join(d, "indices.i32"))
    X.data.astype("<f8").tofile(os.path.join(d, "data.f64"))
    y.tofile(os.path.join(d, "y.i32"))


if __name__ == "__main__":
    if sys.argv[1] == "fit":
        fit(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "all")
    else:
        export(sys.argv[2], sys.argv[3])
