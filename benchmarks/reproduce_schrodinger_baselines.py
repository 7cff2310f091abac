"""Kernel ridge regression and random forest baselines for the Schrodinger CNN (Mills, Spanner &
Tamblyn, PRA 96, 042113 (2017), arXiv:1702.01361, App. A, Figs. 6-9).

Protocol (the paper's, PRA 96, 042113, App. A; thesis L1441-1445): fit scikit-learn KRR and RF on growing training sets, record each
fit's wall time, and compare with the CNN given the same training wall time; the paper gives no
numbers, only trends: SHO - KRR better at small N and comparable at large N, RF better than the DNN
at every N; random - KRR better at small N, the DNN much better at large N and KRR barely improves,
RF significantly worse.

Data: the cached datasets of configs/schrodinger_cnn/sho.yaml and random.yaml (same
SchrodingerDataModule init args, so the same cache entry): training sets are the first n potentials
of the 12 000-potential train split (nested), the test set the first 2 000 of its test split.
Features (ours): the 64x64 potentials averaged over 2x2 blocks (32x32 = 1024 features, Ha).
Error: median |e0 - prediction| on the 2 000 test potentials, mHa.

- KRR: sklearn KernelRidge(kernel='precomputed') with an RBF kernel exp(-gamma |x - x'|^2), targets
  centred on the training mean.  gamma = g / median(|x - x'|^2 over the fit subset) and alpha are chosen
  on a validation split of the training data (fit on the first 80 % (at most 3 000), validate on the
  next 20 % (at most 1 000); grid g in {0.03, 0.1, 0.3, 1, 3, 10} x alpha in {1e-10, 1e-8, ..., 1e-2, 0.1, 1}),
  then refit on all n.  Times: search_s (the grid), fit_s (final kernel + solve), total_s = both.
- RF: sklearn RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=0), other settings default
  (max_features=1.0: all 1024 features per split); no tuning.  fit_s = total_s.
- Sizes whose predicted fit time (power-law from the two previous sizes) exceeds MAX_FIT_S are skipped
  and recorded as such.

Everything on 1 thread (OMP_NUM_THREADS=1, threadpoolctl), run niced: `PYTHONPATH=. OMP_NUM_THREADS=1
nice -n 5 python benchmarks/reproduce_schrodinger_baselines.py` -> benchmarks/results/
schrodinger_baselines.json + reports/schrodinger_cnn_baselines.png.  The CNN's training wall time and
test error come from the published cards checkpoints/schrodinger_cnn/{sho,random}.json (null until
published); `--update-cnn` re-reads the cards and rewrites the json and figure without refitting;
`--merge --variants sho --methods rf --sizes 4000 --max-fit-s 3600` adds one fit to the existing json.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT_JSON = ROOT / "benchmarks" / "results" / "schrodinger_baselines.json"
OUT_PNG = ROOT / "reports" / "schrodinger_cnn_baselines.png"
VARIANTS = ("sho", "random")
SIZES = (250, 500, 1000, 2000, 4000, 12000)
N_TEST = 2000
MAX_FIT_S = float(os.environ.get("BASELINE_MAX_FIT_S", 1200))
KRR_G = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
KRR_ALPHA = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1e-1, 1.0)
SEARCH_FIT_MAX, SEARCH_VAL_MAX = 3000, 1000


def _now():
    return time.perf_counter()


def _mae_median(pred, y) -> float:
    return float(np.median(np.abs(pred - y)))


# --------------------------------------------------------------------------- data
def data_args(variant: str) -> dict:
    cfg = yaml.safe_load((ROOT / "configs" / "schrodinger_cnn" / f"{variant}.yaml").read_text())
    return dict(cfg["data"]["init_args"])


def load(variant: str, wait_s: float = 3 * 3600) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """(X_train, y_train, X_test, y_test) in Ha/mHa from the config's cache entry; waits for it
    (never generates: the background jobs own the generation)."""
    from datamodules.schrodinger import SchrodingerDataModule

    args = data_args(variant)
    dm = SchrodingerDataModule(**{**args, "progress": False})
    t0 = _now()
    while not dm.cache.is_complete():
        if _now() - t0 > wait_s:
            raise RuntimeError(f"{dm.cache.dir} is still incomplete after {wait_s:.0f} s")
        print(f"[{variant}] waiting for {dm.cache.dir} ...", flush=True)
        time.sleep(60)
    dm.setup()
    Vtr, ytr = (t.numpy() for t in dm.splits["train"].tensors)
    Vte, yte = (t.numpy() for t in dm.splits["test"].tensors)
    Vte, yte = Vte[:N_TEST], yte[:N_TEST]
    info = {"config": f"configs/schrodinger_cnn/{variant}.yaml", "data_init_args": args,
            "cache_entry": dm.cache.dir.name, "n_train_available": int(len(Vtr)), "n_test": int(len(Vte)),
            "test_set": f"first {len(Vte)} of the config's test split",
            "e0_test_mHa_5_50_95": [float(q) for q in np.percentile(yte * 1e3, [5, 50, 95])]}
    return features(Vtr), ytr.astype(np.float64) * 1e3, features(Vte), yte.astype(np.float64) * 1e3, info


def features(V: np.ndarray) -> np.ndarray:
    """(B, n, n) -> (B, n/2 * n/2): 2x2 block means, flattened, float64."""
    B, n, _ = V.shape
    return V.reshape(B, n // 2, 2, n // 2, 2).mean(axis=(2, 4)).reshape(B, -1).astype(np.float64)


# --------------------------------------------------------------------------- KRR
def _sqdist(A, B=None):
    from sklearn.metrics.pairwise import euclidean_distances

    return euclidean_distances(A, B, squared=True)


def krr(X, y, Xte, yte) -> dict:
    from sklearn.kernel_ridge import KernelRidge

    n = len(X)
    t0 = _now()
    n_fit = min(int(0.8 * n), SEARCH_FIT_MAX)
    n_val = min(n - int(0.8 * n), SEARCH_VAL_MAX)
    Xf, yf = X[:n_fit], y[:n_fit]
    Xv, yv = X[int(0.8 * n):int(0.8 * n) + n_val], y[int(0.8 * n):int(0.8 * n) + n_val]
    Df, Dv = _sqdist(Xf), _sqdist(Xv, Xf)
    scale = float(np.median(Df[np.triu_indices(n_fit, 1)]))
    grid = []
    for g in KRR_G:
        Kf, Kv = np.exp(-g / scale * Df), np.exp(-g / scale * Dv)
        for a in KRR_ALPHA:
            m = KernelRidge(alpha=a, kernel="precomputed").fit(Kf, yf - yf.mean())
            grid.append({"g": g, "alpha": a, "val_median_abs_error_mHa": _mae_median(m.predict(Kv) + yf.mean(), yv)})
    del Df, Dv, Kf, Kv
    best = min(grid, key=lambda r: r["val_median_abs_error_mHa"])
    gamma = best["g"] / scale
    t1 = _now()
    K = _sqdist(X)
    K *= -gamma
    np.exp(K, out=K)
    mean = y.mean()
    model = KernelRidge(alpha=best["alpha"], kernel="precomputed").fit(K, y - mean)
    del K
    t2 = _now()
    Kte = np.exp(-gamma * _sqdist(Xte, X))
    pred = model.predict(Kte) + mean
    t3 = _now()
    return {"n": n, "median_abs_error_mHa": _mae_median(pred, yte), "mean_abs_error_mHa": float(np.mean(np.abs(pred - yte))),
            "search_s": t1 - t0, "fit_s": t2 - t1, "total_s": t2 - t0, "predict_s": t3 - t2,
            "kernel": "rbf", "gamma": gamma, "alpha": best["alpha"], "g": best["g"],
            "search": {"n_fit": n_fit, "n_val": n_val, "median_sq_distance": scale, "grid": grid}}


# --------------------------------------------------------------------------- RF
def rf(X, y, Xte, yte) -> dict:
    from sklearn.ensemble import RandomForestRegressor

    t0 = _now()
    model = RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=0).fit(X, y)
    t1 = _now()
    pred = model.predict(Xte)
    t2 = _now()
    return {"n": len(X), "median_abs_error_mHa": _mae_median(pred, yte),
            "mean_abs_error_mHa": float(np.mean(np.abs(pred - yte))), "fit_s": t1 - t0, "total_s": t1 - t0,
            "predict_s": t2 - t1, "n_estimators": 100, "max_features": 1.0}


METHODS = {"krr": krr, "rf": rf}


def _predicted_time(done: list[dict], n: int) -> float | None:
    """Power-law extrapolation of total_s from the last two fitted sizes."""
    pts = [(r["n"], r["total_s"]) for r in done if "total_s" in r][-2:]
    if len(pts) < 2:
        return None
    (n1, t1), (n2, t2) = pts
    p = max(1.0, math.log(t2 / t1) / math.log(n2 / n1)) if t1 > 0 and t2 > 0 else 2.0
    return t2 * (n / n2) ** p


# --------------------------------------------------------------------------- CNN cards + affordability
def cnn_card(variant: str) -> dict:
    p = ROOT / "checkpoints" / "schrodinger_cnn" / f"{variant}.json"
    if not p.exists():
        return {"card": str(p.relative_to(ROOT)), "wall_time_s": None, "median_abs_error_mHa": None,
                "note": "not yet published when this was written; rerun with --update-cnn"}
    c = json.loads(p.read_text())
    tr = c.get("training", {})
    err = next((m["value"] for m in c.get("metrics", []) if m.get("name") == "median_abs_error"), None)
    return {"card": str(p.relative_to(ROOT)), "wall_time_s": tr.get("wall_time_s"), "epochs": tr.get("epochs"),
            "hardware": tr.get("hardware"), "median_abs_error_mHa": err,
            "n_train": ((c.get("dataset") or {}).get("init_args") or {}).get("n_train")}


def affordability(res: dict) -> None:
    for v in res["variants"].values():
        wall = v["cnn"].get("wall_time_s")
        v["within_cnn_wall_time"] = {}
        for meth in METHODS:
            fits = [r for r in v.get(meth, []) if "total_s" in r]
            if wall is None:
                v["within_cnn_wall_time"][meth] = None
                continue
            ok_tot = [r for r in fits if r["total_s"] <= wall]
            ok_fit = [r for r in fits if r["fit_s"] <= wall]
            best = max(ok_tot, key=lambda r: r["n"]) if ok_tot else None
            # sizes not fitted (time cap): the same power-law prediction that skipped them
            predicted = {r["n"]: _predicted_time([f for f in fits if f["n"] < r["n"]], r["n"])
                         for r in v.get(meth, []) if "total_s" not in r and "predicted" in r.get("skipped", "")}
            v["within_cnn_wall_time"][meth] = {
                "cnn_wall_time_s": wall,
                "largest_n_total": best["n"] if best else None,
                "skipped_sizes_predicted_s": predicted or None,
                "largest_skipped_n_predicted_within": max((n for n, t in predicted.items() if t is not None and t <= wall),
                                                          default=None),
                "largest_n_fit_only": max((r["n"] for r in ok_fit), default=None),
                "median_abs_error_mHa_at_largest_n_total": best["median_abs_error_mHa"] if best else None,
                "all_fitted_sizes_within": len(ok_tot) == len(fits),
                "how": "largest tried n whose total_s (KRR: hyperparameter search + final fit) resp. fit_s alone "
                       "is <= the CNN's training wall time (same machine, also shared with other jobs)"}


# --------------------------------------------------------------------------- figure
def figure(res: dict, path: Path = OUT_PNG) -> Path:
    from zoo.figures.common import plt, save

    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    style = {"krr": ("o-", "KRR (RBF)", "C0"), "rf": ("s-", "random forest (100 trees)", "C1")}
    for j, (variant, v) in enumerate(res["variants"].items()):
        ax_e, ax_t = axes[0, j], axes[1, j]
        for meth, (fmt, lab, col) in style.items():
            fits = [r for r in v.get(meth, []) if "total_s" in r]
            if not fits:
                continue
            n = [r["n"] for r in fits]
            ax_e.plot(n, [r["median_abs_error_mHa"] for r in fits], fmt, color=col, label=lab)
            ax_t.plot(n, [r["total_s"] for r in fits], fmt, color=col, label=f"{lab}: fit" + (" + search" if meth == "krr" else ""))
            ax_t.plot(n, [r["predict_s"] for r in fits], fmt.replace("-", ":"), color=col, alpha=0.6,
                      label=f"{lab}: predict {res['n_test']}")
        c = v["cnn"]
        if c.get("median_abs_error_mHa") is not None:
            ax_e.plot([c.get("n_train") or 12000], [c["median_abs_error_mHa"]], "k*", ms=12,
                      label=f"CNN (card, {c.get('epochs')} epochs)")
        if c.get("wall_time_s") is not None:
            ax_t.axhline(c["wall_time_s"], color="k", ls="--", label="CNN training wall time")
        ax_e.set_title(f"{variant}: median |e0 - pred| on {res['n_test']} test potentials")
        ax_e.set_ylabel("mHa")
        ax_t.set_ylabel("wall time (s, 1 thread, shared machine)")
        ax_t.set_xlabel("training-set size n")
        for ax in (ax_e, ax_t):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)
    fig.suptitle("Schrodinger baselines (Mills et al. 2017 App. A, Figs. 6-9): 64x64 potentials, 2x2-averaged features")
    return save(fig, path)


def _write(res: dict) -> None:
    affordability(res)
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(res, indent=2) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--update-cnn", action="store_true", help="re-read the CNN cards into the existing json + figure")
    ap.add_argument("--merge", action="store_true",
                    help="keep the existing json's fits for sizes/methods not rerun (e.g. add one size)")
    ap.add_argument("--max-fit-s", type=float, default=MAX_FIT_S,
                    help="skip a size whose predicted fit time exceeds this (s; env BASELINE_MAX_FIT_S)")
    a = ap.parse_args()

    if a.update_cnn:
        res = json.loads(OUT_JSON.read_text())
        for variant, v in res["variants"].items():
            v["cnn"] = cnn_card(variant)
        _write(res)
        print(f"wrote {OUT_JSON} and {figure(res)}")
        return

    from threadpoolctl import threadpool_limits

    import scipy
    import sklearn

    threadpool_limits(1)
    old = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
    res = {"benchmark": "KRR and random forest vs training-set size on SHO and random potentials (Mills et al. 2017 "
                        "App. A): median |e0 - pred| on 2000 test potentials and each fit's wall time, vs the CNN's "
                        "training wall time",
           "features": "64x64 potentials (Ha) averaged over 2x2 blocks -> 32x32 = 1024 features",
           "n_test": N_TEST, "sizes": sorted(set(a.sizes) | (set(old.get("sizes", [])) if a.merge else set())),
           "max_fit_s": a.max_fit_s,
           "krr_protocol": (f"RBF kernel, gamma = g / median squared distance, g in {list(KRR_G)}, alpha in "
                            f"{list(KRR_ALPHA)}; chosen by median |error| on a validation split (fit on the first 80% "
                            f"of the n training points, at most {SEARCH_FIT_MAX}; validate on the next 20%, at most "
                            f"{SEARCH_VAL_MAX}), then refit on all n; targets centred"),
           "rf_protocol": "RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=0), defaults otherwise",
           "paper": "no numbers (App. A, Figs. 6-9): trends only - SHO: KRR better at small n, comparable at large n, RF beats "
                    "the DNN at all n; random: KRR better at small n (DNN given only 10 s), DNN much better at large "
                    "n, KRR barely improves, RF significantly worse (thesis L1434-1459)",
           "variants": {k: v for k, v in old.get("variants", {}).items() if k not in a.variants}}
    if a.merge and "max_fit_s" in old and old["max_fit_s"] != a.max_fit_s:
        res["max_fit_s"] = {"earlier runs": old["max_fit_s"], "this run": a.max_fit_s,
                            "sizes": a.sizes, "methods": a.methods, "variants": a.variants}
    for variant in a.variants:
        X, y, Xte, yte, info = load(variant)
        prev = old.get("variants", {}).get(variant, {}) if a.merge else {}
        v = res["variants"][variant] = {**prev, "data": info, "cnn": cnn_card(variant)}
        for meth in a.methods:
            v[meth] = [r for r in prev.get(meth, []) if r["n"] not in a.sizes]

            def add(r, meth=meth):
                v[meth] = sorted(v[meth] + [r], key=lambda q: q["n"])

            for n in sorted(a.sizes):
                if n > len(X):
                    add({"n": n, "skipped": f"only {len(X)} training potentials"})
                    continue
                pred = _predicted_time([r for r in v[meth] if r["n"] < n], n)
                if pred is not None and pred > a.max_fit_s:
                    add({"n": n, "skipped": f"predicted {pred:.0f} s > max_fit_s {a.max_fit_s:.0f} s"})
                    print(f"[{variant}] {meth} n={n}: skipped (predicted {pred:.0f} s)", flush=True)
                    continue
                r = METHODS[meth](X[:n], y[:n], Xte, yte)
                add(r)
                print(f"[{variant}] {meth} n={n}: {r['median_abs_error_mHa']:.2f} mHa, total {r['total_s']:.1f} s, "
                      f"predict {r['predict_s']:.1f} s" + (f" (g={r['g']}, alpha={r['alpha']})" if meth == "krr" else ""),
                      flush=True)
                _write(res)
        _write(res)
    res["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": 1,
                      "loadavg_1_5_15_end": os.getloadavg(), "sklearn": sklearn.__version__,
                      "scipy": scipy.__version__, "numpy": np.__version__,
                      "note": "shared 2-core machine with the CNN trainings running: wall times are inflated, "
                              "like the CNN's own (same machine, same load)"}
    _write(res)
    print(f"wrote {OUT_JSON} and {figure(res)}")


if __name__ == "__main__":
    main()
