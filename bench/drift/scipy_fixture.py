#!/usr/bin/python3
"""Expected values for Kiln's drift tests, from SciPy on the very numbers the TypeScript tests use.

Run once with Debian's Python (numpy 1.24, scipy 1.10.1); the output is checked in and the tests never
run Python:

    /usr/bin/python3 bench/drift/scipy_fixture.py > test/monitoring/drift/fixtures/scipy.json

Small samples are written out in full (Python's repr of a float reads back to the same double in
JavaScript). Large ones are described by a rule both languages evaluate bit for bit: a Park-Miller
generator (s <- s * 48271 mod 2^31-1, exact in doubles), u = s / (2^31-1), a normal deviate as the sum
of 12 u minus 6 (Irwin-Hall), x = loc + scale * deviate, optionally floored to integers for ties.
Every operation is one IEEE-754 rounding in a fixed order, so both sides see identical samples.

Where Evidently defines a test (chi2, z, wasserstein normed, Jensen-Shannon, PSI) its formula is
written out here in numpy/scipy: Evidently itself is not installed, and these are a few lines each.
"""
import json
import math
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

assert scipy.__version__ == "1.10.1", scipy.__version__

M = 2147483647


def lcg_normal(seed, n, loc=0.0, scale=1.0, integer=False):
    s = seed
    out = []
    for _ in range(n):
        z = 0.0
        for _ in range(12):
            s = (s * 48271) % M
            z += s / M
        x = loc + scale * (z - 6.0)
        out.append(float(math.floor(x)) if integer else x)
    return np.array(out)


def rule(seed, n, loc=0.0, scale=1.0, integer=False):
    return {"rule": "lcg-normal", "seed": seed, "n": n, "loc": loc, "scale": scale, "integer": integer}


def from_rule(r):
    return lcg_normal(r["seed"], r["n"], r["loc"], r["scale"], r["integer"])


rng = np.random.default_rng(20240611)


def small(n, loc=0.0, scale=1.0, ints=None):
    if ints is not None:
        return [float(v) for v in rng.integers(0, ints, n)]
    return [float(v) for v in rng.normal(loc, scale, n)]


def sample(spec):
    return np.array(spec, dtype=float) if isinstance(spec, list) else from_rule(spec)


def num(x):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


# --- numeric tests -----------------------------------------------------------------------------------


def ks(ref, cur):
    r = stats.ks_2samp(ref, cur, method="auto")
    return {"statistic": float(r.statistic), "pValue": float(r.pvalue)}


def wasserstein_norm(ref, cur):
    norm = max(np.std(ref), 0.001)
    return {"statistic": float(stats.wasserstein_distance(ref, cur) / norm)}


def category_counts(values):
    keys, counts = np.unique(np.asarray(values, dtype=object), return_counts=True)
    return dict(zip(keys.tolist(), counts.tolist()))


def binned(ref, cur, kind, edges_from, fill_zeroes):
    """Evidently's get_binned_data; edges_from='both' as Evidently, 'reference' for PSI (open ends)."""
    if kind == "numeric" and len(np.unique(ref)) > 20:
        if edges_from == "both":
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
            cur_in = cur
        else:
            edges = np.histogram_bin_edges(ref, bins="sturges")
            cur_in = np.clip(cur, edges[0], edges[-1])
        ref_p = np.histogram(ref, edges)[0] / len(ref)
        cur_p = np.histogram(cur_in, edges)[0] / len(cur)
    else:
        rc, cc = category_counts(ref), category_counts(cur)
        keys = sorted(set(rc) | set(cc))
        ref_p = np.array([rc.get(k, 0) / len(ref) for k in keys])
        cur_p = np.array([cc.get(k, 0) / len(cur) for k in keys])
    if fill_zeroes:
        for p in (ref_p, cur_p):
            low = min(p[p != 0])
            np.place(p, p == 0, low / 10**6 if low <= 0.0001 else 0.0001)
    return ref_p, cur_p


def jensenshannon(ref, cur, kind):
    ref_p, cur_p = binned(ref, cur, kind, "both", False)
    return {"statistic": float(distance.jensenshannon(ref_p, cur_p, 2))}


def psi(ref, cur, kind):
    ref_p, cur_p = binned(ref, cur, kind, "reference", True)
    return {"statistic": float(np.sum((ref_p - cur_p) * np.log(ref_p / cur_p)))}


def chi2(ref, cur):
    rc, cc = category_counts(ref), category_counts(cur)
    keys = sorted(set(rc) | set(cc))
    k_norm = len(cur) / len(ref)
    f_exp = [rc.get(k, 0) * k_norm for k in keys]
    f_obs = [cc.get(k, 0) for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = stats.chisquare(f_obs, f_exp)
    return {"statistic": num(float(r.statistic)), "pValue": float(r.pvalue)}


def ztest(ref, cur):
    keys = sorted(set(ref) | set(cur))
    if len(set(ref)) == 1 and len(set(cur)) == 1 and ref[0] == cur[0]:
        return {"statistic": 0.0, "pValue": 1.0}
    a = np.array([0 if x == keys[0] else 1 for x in ref])
    b = np.array([0 if x == keys[0] else 1 for x in cur])
    n1, n2 = len(a), len(b)
    p1, p2 = float(sum(a)) / n1, float(sum(b)) / n2
    P = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    return {"statistic": float(z), "pValue": float(2 * (1 - stats.norm.cdf(np.abs(z))))}


def mmd(ref, cur):
    """Unbiased MMD^2, Gaussian kernel, bandwidth = median distance between reference rows."""
    X, Y = np.array(ref), np.array(cur)
    dxx = distance.cdist(X, X)
    sigma = np.median(dxx[np.triu_indices(len(X), 1)])
    k = lambda A, B: np.exp(-distance.cdist(A, B, "sqeuclidean") / (2 * sigma**2))
    kxx, kyy, kxy = k(X, X), k(Y, Y), k(X, Y)
    n, m = len(X), len(Y)
    stat = (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return {"statistic": float(stat - 2 * kxy.mean()), "bandwidth": float(sigma)}


# --- cases ----------------------------------------------------------------------------------------------

numeric_cases = [
    ("small unshifted 20 vs 25", small(20), small(25)),
    ("small shifted 30 vs 30", small(30), small(30, loc=0.8)),
    ("small 5 vs 8", small(5), small(8, loc=0.3)),
    ("small 50 vs 7 scaled", small(50), small(7, scale=2.5)),
    ("single value vs 10", small(1), small(10)),
    ("tied integers 40 vs 50", small(40, ints=6), small(50, ints=6)),
    ("tied integers shifted 45 vs 45", small(45, ints=12), [v + 2 for v in small(45, ints=12)]),
    ("with missing values 30 vs 25", small(27) + [math.nan] * 3, [math.nan] + small(24, loc=0.5)),
    ("constant reference 30 vs 30", [3.0] * 30, small(30, loc=3.0, scale=0.01)),
    ("large exact 2000 vs 3000 shifted", rule(11, 2000), rule(12, 3000, loc=0.1)),
    ("large exact 5000 vs 5000 unshifted", rule(13, 5000), rule(14, 5000)),
    ("large exact tied 3000 vs 2500", rule(15, 3000, 10, 3, True), rule(16, 2500, 10, 3, True)),
    ("large asymptotic 12000 vs 15000 shifted", rule(17, 12000), rule(18, 15000, loc=0.05)),
    ("large asymptotic 10500 vs 10001 unshifted", rule(19, 10500), rule(20, 10001)),
    ("large asymptotic tied 11000 vs 20000", rule(21, 11000, 5, 2, True), rule(22, 20000, 5.2, 2, True)),
    ("asymptotic small side 50 vs 20000", small(50), rule(23, 20000)),
    ("asymptotic small side 60 vs 12000 shifted", small(60, loc=0.4), rule(24, 12000)),
    ("asymptotic small side 30 vs 11000 shifted", small(30, loc=1.5), rule(25, 11000)),
    ("large wide 20000 vs 20000 shifted", rule(26, 20000, 100, 15), rule(27, 20000, 103, 15)),
]

category_pool = ["red", "green", "blue", "amber"]


def cats(n, weights, levels=category_pool):
    return [str(v) for v in rng.choice(levels, n, p=weights)]


categorical_cases = [
    ("three levels unshifted 200 vs 150", cats(200, [0.5, 0.3, 0.2], category_pool[:3]),
     cats(150, [0.5, 0.3, 0.2], category_pool[:3])),
    ("four levels shifted 500 vs 400", cats(500, [0.4, 0.3, 0.2, 0.1]), cats(400, [0.25, 0.25, 0.25, 0.25])),
    ("unseen level in current 300 vs 100", cats(300, [0.6, 0.4], category_pool[:2]),
     cats(100, [0.5, 0.3, 0.2], category_pool[:3])),
    ("level missing from current 300 vs 120", cats(300, [0.4, 0.3, 0.3], category_pool[:3]),
     cats(120, [0.5, 0.5], category_pool[:2])),
    ("binary unshifted 400 vs 300", cats(400, [0.7, 0.3], ["no", "yes"]), cats(300, [0.7, 0.3], ["no", "yes"])),
    ("binary shifted 900 vs 800", cats(900, [0.7, 0.3], ["no", "yes"]), cats(800, [0.6, 0.4], ["no", "yes"])),
    ("binary vs other single level", ["no"] * 50, ["yes"] * 40),
    ("one level in both 20 vs 15", ["red"] * 20, ["red"] * 15),
    ("large categorical 3000 vs 2500", cats(3000, [0.4, 0.3, 0.2, 0.1]), cats(2500, [0.38, 0.3, 0.2, 0.12])),
]


def numeric_case(name, ref_spec, cur_spec):
    # Missing values (NaN, written as null) are dropped before any test, as Kiln drops them.
    ref, cur = sample(ref_spec), sample(cur_spec)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    if isinstance(ref_spec, list):
        ref_spec = [None if math.isnan(v) else v for v in ref_spec]
    if isinstance(cur_spec, list):
        cur_spec = [None if math.isnan(v) else v for v in cur_spec]
    distinct = len(np.unique(ref))
    expected = {"ks": ks(ref, cur), "wasserstein": wasserstein_norm(ref, cur),
                "jensenshannon": jensenshannon(ref, cur, "numeric"), "psi": psi(ref, cur, "numeric")}
    if distinct <= 20 and len(np.unique(np.concatenate([ref, cur]))) >= 2:
        expected["chi2"] = chi2(ref.tolist(), cur.tolist())
    if distinct <= 2 and len(np.unique(np.concatenate([ref, cur]))) == 2:
        expected["z"] = ztest(ref.tolist(), cur.tolist())
    return {"name": name, "kind": "numeric", "reference": ref_spec, "current": cur_spec,
            "referenceDistinct": distinct, "expected": expected}


def categorical_case(name, ref, cur):
    if len(set(ref) | set(cur)) == 1:
        r = stats.chisquare([len(cur)], [len(cur)])
        expected = {"chi2": {"statistic": float(r.statistic), "pValue": str(r.pvalue)}}
        return {"name": name, "kind": "categorical", "reference": ref, "current": cur, "expected": expected}
    expected = {"chi2": chi2(ref, cur), "jensenshannon": jensenshannon(np.array(ref), np.array(cur), "categorical"),
                "psi": psi(np.array(ref), np.array(cur), "categorical")}
    if len(set(ref) | set(cur)) == 2:
        expected["z"] = ztest(ref, cur)
    return {"name": name, "kind": "categorical", "reference": ref, "current": cur, "expected": expected}


def vectors(n, d, shift):
    return [[float(v) for v in row] for row in rng.normal(0, 1, (n, d)) + shift]


vector_cases = [
    ("vectors unshifted 80 vs 60", vectors(80, 4, 0.0), vectors(60, 4, 0.0)),
    ("vectors shifted 80 vs 60", vectors(80, 4, 0.0), vectors(60, 4, 0.7)),
    ("vectors 2-d 40 vs 45 slight shift", vectors(40, 2, 0.0), vectors(45, 2, 0.2)),
]

# The two-sided one-sample Kolmogorov distribution over every branch of SciPy's _kolmogn, and the
# chi-square and normal tails, read directly.
kstwo_points = [(n, x) for n in (1, 3, 10, 50, 140, 141, 500, 6667, 120000)
                for x in (0.001, 0.01, 0.03, 0.05, 0.08, 0.12, 0.2, 0.35, 0.5, 0.7, 0.95)]
kstwo_points += [(n, 0.6 / n) for n in (5, 200, 1000)] + [(n, 1 - 0.5 / n) for n in (5, 200)]
chi2_points = [(x, k) for k in (1, 2, 3, 7, 30, 150) for x in (0.01, 0.5, 1.0, 3.0, 10.0, 40.0, 200.0)]
norm_points = [0.0, 0.1, 0.5, 1.0, 1.96, 3.0, 5.0, 8.0]

def scipy_error(f):
    try:
        f()
    except ValueError as error:
        return str(error)
    raise AssertionError("SciPy accepted an empty sample")


# SciPy refuses an empty sample; Kiln answers "insufficient data" instead.
empty = {"ks": scipy_error(lambda: stats.ks_2samp([], [1.0, 2.0])),
         "wasserstein": scipy_error(lambda: stats.wasserstein_distance([], [1.0, 2.0]))}

fixture = {
    "generator": f"bench/drift/scipy_fixture.py, numpy {np.__version__}, scipy {scipy.__version__}",
    "numeric": [numeric_case(*c) for c in numeric_cases],
    "categorical": [categorical_case(*c) for c in categorical_cases],
    "vector": [dict(name=name, reference=r, current=c, expected={"mmd": mmd(r, c)}) for name, r, c in vector_cases],
    "empty": empty,
    "kstwo": [{"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))} for n, x in kstwo_points],
    "chi2": [{"x": x, "df": k, "sf": float(stats.chi2.sf(x, k))} for x, k in chi2_points],
    "norm": [{"z": z, "sf": float(stats.norm.sf(z))} for z in norm_points],
}
json.dump(fixture, sys.stdout, separators=(",", ":"))
sys.stdout.write("\n")
