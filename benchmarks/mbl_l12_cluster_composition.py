"""What HDBSCAN's clusters are at L = 12 (issue 17: the paper's "exactly 2 clusters in > 98 % of resamples", ours 3).

Durr & Chakravarty, PRB 100, 075102 (2019), arXiv:1903.05755, Sec. III / thesis Sec. 1.3.2 (L407-431): one resample =
5 kept eigenstates per point of the 60 x 20 (Delta, lambda) grid, JS distances between the middle-4-spin entanglement
spectra, HDBSCAN with min_cluster_size 10 %.  The paper's two clusters are the PM (left) and SG (right) phases with
the thermal centre as sparse noise (Fig. 1.2, 1.3).  This script reads the cached L = 12 grid of
configs/mbl/clusterer-L12-60x20.yaml (generate it first: zoo data generate --config mbl/clusterer-L12-60x20) and, for
a few resamples and min_samples values, prints each cluster's size, mean Delta, mean lambda, mean entanglement
entropy and its median core distance (distance to the 25th nearest neighbour: small = dense).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mbl_l12_cluster_composition.py --resamples 2
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datamodules.mbl import MBLDataModule  # noqa: E402
from datamodules.physics import spin_chain as sc  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "mbl_l12_cluster_composition.json"


def realization_spread(dm, base: float, trials: int, k: int = 5) -> list[dict]:
    """Would more disorder realizations per grid point make a phase's spectra sparser?  At each supervised training
    point (the cache holds `train_realizations` realizations with all kept states), the mean pairwise JS distance of
    k states drawn from one realization vs k states from k different realizations (our grid has 1 realization per
    point, so a resample's 5 states at a point share one Hamiltonian; the paper's 100 make them almost surely
    distinct)."""
    t = dm.train_point_data()
    rng = np.random.default_rng(0)
    out = []
    for j, (d, lam, phase) in enumerate(dm.train_points):
        m = (t["point"] - dm.n_grid) == j
        X, r = t["spectra"][m].astype(np.float64), t["realization"][m]
        reals = np.unique(r)
        means = {"within": [], "across": []}
        for _ in range(trials):
            one = rng.choice(np.flatnonzero(r == rng.choice(reals)), k, replace=False)
            many = [rng.choice(np.flatnonzero(r == q)) for q in rng.choice(reals, k, replace=False)]
            for kind, idx in (("within", one), ("across", many)):
                D = sc.js_distance_matrix(X[idx], base=base, dtype=torch.float64).numpy()
                means[kind].append(float(D[np.triu_indices(k, 1)].mean()))
        row = {"delta": d, "lambda": lam, "phase": phase, "realizations": int(len(reals)), "states": int(m.sum()),
               "mean_js_within_one_realization": float(np.mean(means["within"])),
               "mean_js_across_realizations": float(np.mean(means["across"]))}
        print(f"{phase} ({d}, {lam}): mean pairwise JS of {k} states, one realization "
              f"{row['mean_js_within_one_realization']:.4f}, {k} realizations {row['mean_js_across_realizations']:.4f}")
        out.append(row)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs/mbl/clusterer-L12-60x20.yaml"))
    ap.add_argument("--resamples", type=int, default=2)
    ap.add_argument("--min-samples", default="5,25,100")
    ap.add_argument("--lambda-max", type=float, default=None,
                    help="keep only grid points with lambda <= this (min_cluster_size stays 10 %% of what is kept). "
                         "2 / e^0.5 = 1.213 emulates the geometric-mean reading of Jbar, hbar (spec D4: the "
                         "arithmetic mean, our data's, scales lambda by e^0.5 = 1.65)")
    ap.add_argument("--spread-trials", type=int, default=200,
                    help="draws of 5 states for the within- vs across-realization spread at the training points "
                         "(0: skip)")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    import hdbscan

    cfg = yaml.safe_load(Path(a.config).read_text())
    dm = MBLDataModule(**{**cfg["data"]["init_args"], "progress": False})
    dm.setup("fit")
    deltas, lambdas = dm.deltas, dm.lambdas
    clus = cfg["model"]["init_args"]  # the clusterer's JS base and min_cluster_size fraction, as it fits them
    resamples = dm.resamples(n=a.resamples, seed=0)
    res = {"config": a.config, "lambda_max": a.lambda_max, "resamples": []}
    for r in range(a.resamples):
        X, point = resamples[r]
        X, point = np.asarray(X, dtype=np.float64), np.asarray(point)
        if a.lambda_max is not None:
            keep = lambdas[point % len(lambdas)] <= a.lambda_max + 1e-12
            X, point = X[keep], point[keep]
        D = sc.js_distance_matrix(X, base=clus["js_base"], dtype=torch.float32).numpy().astype(np.float64)
        core = np.partition(D, 25, axis=1)[:, 25]
        delta, lam = deltas[point // len(lambdas)], lambdas[point % len(lambdas)]
        ent = sc.entanglement_entropy(X)
        mcs = int(round(clus["min_cluster_fraction"] * len(X)))
        for ms in (int(m) for m in a.min_samples.split(",")):
            lab = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms, metric="precomputed").fit_predict(D)
            clusters = [{"label": int(c), "n": int((lab == c).sum()), "mean_delta": float(delta[lab == c].mean()),
                         "mean_lambda": float(lam[lab == c].mean()), "mean_entropy_nats": float(ent[lab == c].mean()),
                         "median_core_distance": float(np.median(core[lab == c]))} for c in sorted(set(lab))]
            res["resamples"].append({"resample": r, "min_samples": ms, "n_clusters": int(lab.max()) + 1,
                                     "clusters": clusters})
            print(f"resample {r}, min_samples {ms}: {lab.max() + 1} clusters (label -1 = noise)")
            for c in clusters:
                print("   " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in c.items()))
    res["max_entropy_nats"] = float(dm.region_size * np.log(2))
    if a.spread_trials:
        res["realization_spread"] = realization_spread(dm, clus["js_base"], a.spread_trials)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
