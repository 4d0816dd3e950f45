"""scikit-learn side of bench/intent-train.ts: the whole posos pipeline on Kiln's 5 folds.

  intent_train_sklearn.py FOLDS_JSON OUT_JSON [--calibrated]

FOLDS_JSON is what the Kiln side wrote: the two CSV files (questions: ID,question; labels: ID,intention),
the table's IDs in Kiln's row order with each row's validation fold and label, the TF-IDF options of
Kiln's config (one dict per tfidf step, defaults applied), C and the number of calibration folds.

Per fold, timed: TF-IDF word + char_wb fitted on the fold's training questions (FeatureUnion, as Kiln
concatenates its two sparse blocks), the validation questions transformed, LinearSVC (or
CalibratedClassifierCV(LinearSVC, method='sigmoid', cv=<calibration folds>, ensemble=False)) fitted and
predict() on the validation rows. Not timed: Python start-up, imports,
reading and joining the CSVs, slicing the question lists by fold, and the metrics.
"""
import argparse
import csv
import json
import sys
import time
import warnings

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC


def vectorizer(step):
    """TfidfVectorizer with the options of one Kiln tfidf step, as far as scikit-learn has them."""
    # Kiln (JSON has one number type): 1 = no limit, another integer = a count, (0, 1) = a fraction.
    def df(value, none):
        return none if value == 1 else (int(value) if value >= 2 else float(value))

    word = step["analyzer"] == "word"
    # Kiln's tokens of minTokenLength+ word characters; scikit-learn's default pattern is the 2 case.
    # (char_wb does not tokenize on either side.)
    pattern = {"token_pattern": r"(?u)\b\w{%d,}\b" % step["minTokenLength"]} if word else {}
    return TfidfVectorizer(
        analyzer=step["analyzer"],
        ngram_range=tuple(step["ngramRange"]),
        lowercase=step["lowercase"],
        strip_accents="unicode" if step["stripAccents"] else None,
        min_df=df(step["minDf"], 1),
        max_df=df(step["maxDf"], 1.0),
        max_features=step.get("maxFeatures"),
        sublinear_tf=step["sublinearTf"],
        norm=None if step["norm"] == "none" else step["norm"],
        smooth_idf=True,
        dtype=np.float64,
        **pattern,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folds")
    parser.add_argument("out")
    parser.add_argument("--calibrated", action="store_true")
    args = parser.parse_args()

    spec = json.load(open(args.folds))
    cols = spec["columns"]
    with open(spec["files"]["questions"], newline="", encoding="utf-8") as fh:
        text = {int(row[cols["id"]]): row[cols["text"]] for row in csv.DictReader(fh)}
    with open(spec["files"]["labels"], newline="", encoding="utf-8") as fh:
        label = {int(row[cols["id"]]): row[cols["target"]] for row in csv.DictReader(fh)}
    ids = spec["ids"]
    docs = [text[i] for i in ids]
    y = np.array([spec["classes"].index(label[i]) for i in ids], dtype=np.int64)
    if not np.array_equal(y, np.array(spec["y"])):
        raise SystemExit("labels read here differ from the labels the Kiln side wrote")
    fold = np.array(spec["fold"])
    steps = spec["tfidf"]

    def model():
        svc = LinearSVC(C=spec["C"], loss="squared_hinge", dual=True, tol=1e-4, max_iter=1000, random_state=0)
        if not args.calibrated:
            return svc
        return CalibratedClassifierCV(svc, method="sigmoid", cv=spec["calibrationFolds"], ensemble=False)

    folds = []
    for f in range(spec["folds"]):
        train = np.flatnonzero(fold != f)
        valid = np.flatnonzero(fold == f)
        train_docs = [docs[i] for i in train]
        valid_docs = [docs[i] for i in valid]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            union = make_union(*[vectorizer(step) for step in steps])
            X_train = union.fit_transform(train_docs)
            X_valid = union.transform(valid_docs)
            t1 = time.perf_counter()
            fitted = model().fit(X_train, y[train])
            t2 = time.perf_counter()
            pred = fitted.predict(X_valid)
            t3 = time.perf_counter()
            cpu = time.process_time() - cpu0
        folds.append(
            {
                "fold": f,
                "trainRows": int(train.size),
                "validRows": int(valid.size),
                "seconds": t3 - t0,
                "cpuSeconds": cpu,
                "featuresSeconds": t1 - t0,
                "fitSeconds": t2 - t1,
                "predictSeconds": t3 - t2,
                "vocabulary": [len(v.vocabulary_) for _, v in union.transformer_list],
                "nonzerosPerRow": X_train.nnz / X_train.shape[0],
                "accuracy": accuracy_score(y[valid], pred),
                # Over the labels in y_true and y_pred, as the Kiln side computes it.
                "macroF1": f1_score(y[valid], pred, average="macro"),
                "pred": [int(p) for p in pred],
                "convergenceWarnings": sum(issubclass(w.category, ConvergenceWarning) for w in caught),
            }
        )
        print(
            f"sklearn fold {f + 1}: {t3 - t0:.2f} s (tfidf {t1 - t0:.2f}, fit {t2 - t1:.2f}, predict {t3 - t2:.3f})"
            f"  accuracy {folds[-1]['accuracy']:.4f}  macro-F1 {folds[-1]['macroF1']:.4f}",
            file=sys.stderr,
            flush=True,
        )
    import sklearn

    json.dump(
        {
            "side": "scikit-learn",
            "version": sklearn.__version__,
            "C": spec["C"],
            "calibrated": args.calibrated,
            "folds": folds,
        },
        open(args.out, "w"),
        indent=2,
    )


if __name__ == "__main__":
    main()
