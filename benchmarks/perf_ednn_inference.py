"""EDNN inference time vs lattice size, 64^2 ... 2048^2, with the fitted scaling exponent ().

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_ednn_inference.py

`predict_energy` of one L x L lattice with the published ednn/ising-f1c1 (or an untrained f = 1, c = 1 EDNN: the
cost does not depend on the weights), plain per-tile network evaluation (dedup off, so the cost is the network's),
chunked over 65 536 tiles per call.  Each size is timed REPEATS times, interleaved over sizes; medians.  The
exponent a is the least-squares slope of log(time) vs log(N = L^2) (goal <= 1.05: linear in the system size).
As the in-process baseline, the exact nearest-neighbour energy (`ising.energy`, numpy) is timed the same way.
Results: benchmarks/results/ednn_inference.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from datamodules.physics import ising  # noqa: E402

SIZES = [64, 128, 256, 512, 1024, 2048]
REPEATS = 3


def model():
    from zoo import hub
    from zoo.ednn import IsingEDNN

    try:
        return hub.load_pretrained("ednn/ising-f1c1"), "ednn/ising-f1c1"
    except (KeyError, FileNotFoundError):
        torch.manual_seed(0)
        return IsingEDNN(context=1).eval(), "untrained IsingEDNN(focus=1, context=1)"


def main() -> None:
    torch.set_num_threads(1)
    m, which = model()
    m.ednn.dedup = False
    lattices = {L: ising.random_configs(1, L, seed=L) for L in SIZES}
    m.predict_energy(lattices[64])  # warm-up
    t_nn = {L: [] for L in SIZES}
    t_ex = {L: [] for L in SIZES}
    for _ in range(REPEATS):
        for L in SIZES:
            t0 = time.perf_counter()
            m.predict_energy(lattices[L])
            t_nn[L].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ising.energy(lattices[L])
            t_ex[L].append(time.perf_counter() - t0)
    med = np.array([statistics.median(t_nn[L]) for L in SIZES])
    N = np.array(SIZES, dtype=float) ** 2
    a = float(np.polyfit(np.log(N), np.log(med), 1)[0])
    results = [{"L": L, "median_s": float(med[i]), "spins_per_s": float(N[i] / med[i]),
                "exact_numpy_median_s": statistics.median(t_ex[L]), "raw_s": t_nn[L]} for i, L in enumerate(SIZES)]
    for r in results:
        print(f"L={r['L']:5d}: {r['median_s']:.4g} s  {r['spins_per_s']:.3g} spins/s  (exact numpy {r['exact_numpy_median_s']:.3g} s)")
    print(f"exponent a = {a:.3f}")
    out = {"benchmark": "EDNN predict_energy time vs lattice size (one lattice, f = 1, c = 1, per-tile network, "
                        "chunks of 65 536 tiles); exponent = slope of log t vs log N",
           "model": which, "exponent": a, "setting": f"{which}, torch threads 1, dedup off, {REPEATS} repeats",
           "results": results,
           "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
                       "loadavg_at_start": list(os.getloadavg()), "torch": torch.__version__}}
    path = Path(__file__).parent / "results" / "ednn_inference.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
