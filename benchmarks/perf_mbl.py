"""MBL speed, measured side by side in one process (`PYTHONPATH=. python benchmarks/perf_mbl.py`):

1. parity-resolved ED (two 2^(L-1) blocks) vs a full 2^L `eigh`, at L = 10 and L = 12 (our target: >= 10x at 12);
2. the Jensen-Shannon distance matrix: ours (torch, chunked, H(m) - (H(p)+H(q))/2) vs scipy
   `pdist(metric='jensenshannon')` at 1500 spectra, and ours alone for one resample (6000 x 16);
3. the L = 8 dataset: time for 10 grid points x 100 realizations (20 kept states each), extrapolated to the full
   1200-point x 100-realization grid, with 1 and 2 worker processes.
Medians over BENCH_REPEATS (default 3; L = 12 full eigh: 1).  Writes benchmarks/results/mbl.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from datamodules.physics import spin_chain as sc

REPEATS = int(os.environ.get("BENCH_REPEATS", 3))


def _t(fn, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts


def ed(L: int, n: int) -> dict:
    c = sc.sample_couplings(L, 0.0, 1.0, np.random.default_rng(0))
    args = (L, c["J"], c["h"], c["lam_h"], c["lam_J"])
    res, ts = _t(lambda: sc.eigenstates(*args, resolve_parity=True, trim=0.0), n)
    full, tf = _t(lambda: sc.eigenstates(*args, resolve_parity=False, trim=0.0), n)
    return {"parity_resolved_s": res, "full_s": full, "speedup": full / res, "runs": {"resolved": ts, "full": tf}}


def js(n_points: int, n: int) -> dict:
    import torch
    from scipy.spatial.distance import pdist

    torch.set_num_threads(1)
    X = -np.sort(-np.random.default_rng(0).dirichlet(np.full(16, 0.3), n_points), axis=1)
    ours, t1 = _t(lambda: sc.js_distance_matrix(X), n)
    # scipy's pdist takes no base: natural-log distances, / sqrt(ln 2) -> base 2
    base, t2 = _t(lambda: pdist(X, "jensenshannon") / np.sqrt(np.log(2)), n)
    D = sc.js_distance_matrix(X, dtype=torch.float64).numpy()
    ref = pdist(X, "jensenshannon") / np.sqrt(np.log(2))
    iu = np.triu_indices(n_points, 1)
    return {"ours_torch_f32_s": ours, "scipy_pdist_s": base, "speedup": base / ours,
            "max_abs_diff_f64": float(np.abs(D[iu] - ref).max()), "runs": {"ours": t1, "scipy": t2}}


def dataset(workers: int, n: int) -> float:
    from datamodules.mbl import MBLDataModule

    def build():
        with tempfile.TemporaryDirectory() as d:
            dm = MBLDataModule(L=8, n_delta=10, n_lambda=1, lambda_range=[1.0, 1.0], grid_realizations=100,
                               states_per_realization=20, train_realizations=0, points_per_shard=5, data_dir=d,
                               gen_workers=workers, progress=False)
            dm.prepare_data()
    return _t(build, n)[0]


def main():
    res = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}}
    res["ed_L10"] = ed(10, REPEATS)
    res["ed_L12"] = ed(12, 1)
    res["js_1500_vs_scipy"] = js(1500, REPEATS)  # scipy's pdist at 6000 points is too slow to repeat here
    res["js_6000_ours_s"] = _t(lambda: sc.js_distance_matrix(
        -np.sort(-np.random.default_rng(1).dirichlet(np.full(16, 0.3), 6000), axis=1)), REPEATS)[0]
    d1, d2 = dataset(1, REPEATS), dataset(2, REPEATS)
    res["dataset_L8"] = {"10_points_x_100_realizations_s": {"workers=1": d1, "workers=2": d2},
                         "extrapolated_full_grid_1200x100_s": {"workers=1": d1 * 120, "workers=2": d2 * 120},
                         "speedup_2_over_1": d1 / d2}
    (Path(__file__).parent / "results" / "mbl.json").write_text(json.dumps(res, indent=2) + "\n")
    for k in ("ed_L10", "ed_L12"):
        print(f"{k}: resolved {res[k]['parity_resolved_s']:.2f} s, full {res[k]['full_s']:.2f} s, "
              f"{res[k]['speedup']:.1f}x")
    j = res["js_1500_vs_scipy"]
    print(f"JS 1500: ours {j['ours_torch_f32_s']:.2f} s, scipy {j['scipy_pdist_s']:.2f} s; 6000 ours {res['js_6000_ours_s']:.1f} s")
    print(f"L8 full grid (extrapolated): {res['dataset_L8']['extrapolated_full_grid_1200x100_s']}")


if __name__ == "__main__":
    main()
