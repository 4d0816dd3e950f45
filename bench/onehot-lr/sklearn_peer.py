"""The one-hot credit pipeline as a scikit-learn user writes it: standard scaling of the numeric
columns, one-hot of the categorical ones (ColumnTransformer; sparse output, as it chooses at this
density), balanced logistic regression with C = 1. 5-fold CV on the folds Kiln drew (a folds file
written by run.ts: the validation fold of each row), then a final fit on every row.

    python3 sklearn_peer.py credit.csv folds.json [solver]

solver: lbfgs (scikit-learn's default; max_iter raised so it stops on its tolerance, not the cap) or
newton-cholesky. Prints one JSON line: seconds per phase, the ROC AUC per fold and their mean, the
solver's iterations per fit."""
import json
import sys
import time

t0 = time.perf_counter()
import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

t_import = time.perf_counter()
path, folds_path = sys.argv[1], sys.argv[2]
solver = sys.argv[3] if len(sys.argv) > 3 else "lbfgs"
with open(folds_path) as f:
    spec = json.load(f)
df = pd.read_csv(path)
y = df.pop(spec["target"]).to_numpy()
fold = np.asarray(spec["fold"])
t_load = time.perf_counter()


def model():
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), spec["numeric"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), spec["categorical"]),
        ]
    )
    return make_pipeline(pre, LogisticRegression(C=1.0, class_weight="balanced", solver=solver, max_iter=10000))


aucs, iterations = [], []
for k in range(int(fold.max()) + 1):
    train, valid = fold != k, fold == k
    m = model().fit(df[train], y[train])
    aucs.append(roc_auc_score(y[valid], m.predict_proba(df[valid])[:, 1]))
    iterations.append(int(m[-1].n_iter_[0]))
t_cv = time.perf_counter()
final = model().fit(df, y)
t_fit = time.perf_counter()
print(json.dumps({
    "version": sklearn.__version__, "solver": solver,
    "import_s": t_import - t0, "load_s": t_load - t_import, "cv_s": t_cv - t_load, "final_fit_s": t_fit - t_cv,
    "total_s": t_fit - t0, "fold_auc": aucs, "roc_auc_mean": float(np.mean(aucs)),
    "iterations": iterations + [int(final[-1].n_iter_[0])],
}))
