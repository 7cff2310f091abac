"""Long-range energies of 8x8 configurations, three ways, in one run: the CNN vs the explicit image sum vs the folded
coupling-matrix product (Mills & Tamblyn, PRE 97, 032119 (2018), Sec. IV 'Long-range interactions'; thesis L1159).

Run:  OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/perf_long_range.py

The paper reports the network "1600 times faster than the CUDA-enabled 'exact' calculation" on a Tesla K40 (an
explicit image sum).  That is their number on their hardware, not ours.  Here, on the same B random configurations
(screened Coulomb, k = 0.5, r_cut = 64):

- naive: `long_range.energy_naive`, the explicit sum over every (cell spin, image spin) pair of every periodic image
  within r_cut (the paper's method, numpy, vectorised over the batch);
- matrix: `long_range.energy`, the image sum folded once into a 64 x 64 coupling matrix, E = (1/2) s K s^T;
- cnn: `IsingCNNRegressor.predict_energy` of the published ising_cnn/8x8-screened-coulomb (an untrained network of
  the same shape if unpublished: the cost does not depend on the weights).

One thread, interleaved: each repeat times the three back to back in a rotated order; medians over repeats, the
per-repeat paired ratios too, load average before and after.  The coupling matrix is built once before timing (its
one-off cost is recorded apart).  Results: benchmarks/results/long_range_perf.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from datamodules.physics import ising, long_range  # noqa: E402

BATCH = 256
REPEATS = 7


def model():
    from zoo import hub
    from zoo.ising_cnn import IsingCNNRegressor

    try:
        return hub.load_pretrained("ising_cnn/8x8-screened-coulomb"), "ising_cnn/8x8-screened-coulomb"
    except (KeyError, FileNotFoundError):
        torch.manual_seed(0)
        return (IsingCNNRegressor(L=8, hamiltonian="screened_coulomb", padding="circular").eval(),
                "untrained IsingCNNRegressor (same shape)")


def main() -> None:
    torch.set_num_threads(1)
    m, which = model()
    s = ising.random_configs(BATCH, 8, seed=12)
    t0 = time.perf_counter()
    long_range._coupling.cache_clear()
    long_range.coupling_matrix(8)
    build_s = time.perf_counter() - t0
    fns = {"naive": lambda: long_range.energy_naive(s), "matrix": lambda: long_range.energy(s),
           "cnn": lambda: m.predict_energy(s, batch_size=BATCH).numpy()}
    out = {k: f() for k, f in fns.items()}  # warm-up, and the answers compared below
    load_before = os.getloadavg()
    times = {k: [] for k in fns}
    names = list(fns)
    for r in range(REPEATS):
        for k in names[r % 3:] + names[:r % 3]:
            t = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t)
    load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in times.items()}
    paired = lambda a, b: statistics.median(x / y for x, y in zip(times[a], times[b]))  # noqa: E731
    res = {
        "what": f"total screened-Coulomb energy of {BATCH} random 8x8 configurations (k = 0.5, r_cut = 64), 1 thread",
        "model": which, "batch": BATCH, "repeats": REPEATS,
        "median_s": med, "per_config_us": {k: 1e6 * v / BATCH for k, v in med.items()},
        "ratio_naive_over_matrix": med["naive"] / med["matrix"], "ratio_naive_over_cnn": med["naive"] / med["cnn"],
        "ratio_cnn_over_matrix": med["cnn"] / med["matrix"],
        "paired_median_ratio": {"naive/matrix": paired("naive", "matrix"), "naive/cnn": paired("naive", "cnn"),
                                "cnn/matrix": paired("cnn", "matrix")},
        "coupling_matrix_build_s": build_s,
        "max_abs_diff_matrix_vs_naive_J": float(np.abs(out["matrix"] - out["naive"]).max()),
        "median_abs_diff_cnn_vs_exact_J": float(np.median(np.abs(out["cnn"] - out["matrix"]))),
        "load_avg_before": load_before, "load_avg_after": load_after,
        "hardware": f"{platform.machine()} CPU x{os.cpu_count()}", "torch": torch.__version__,
        "note": "paper (thesis L1159): CNN 1600x faster than a CUDA explicit sum on a Tesla K40 - not measured here",
    }
    path = ROOT / "benchmarks" / "results" / "long_range_perf.json"
    path.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
