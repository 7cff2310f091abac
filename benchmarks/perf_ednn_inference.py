"""EDNN inference time vs lattice size, 64^2 ... 2048^2: the tile table against the network paths, in one run.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_ednn_inference.py

`IsingEDNN.predict_energy` of one L x L lattice with the published ednn/ising-f1c1 (or an untrained f = 1, c = 1
EDNN: the cost does not depend on the weights), four ways, all in this process:

- table: today's default, every 3 x 3 tile read from the tabulated network (512 entries) by an integer key built
  in row blocks, the sum as a key histogram times the table in float64 (`EDNN.table_forward`);
- dedup: the previous default (table off): each distinct tile of a 65 536-tile chunk through the network once;
- network_65536 / network_8192: the network on every tile (dedup off), 65 536 or 8192 tiles per network call;
- and, as before, the exact nearest-neighbour energy (`ising.energy`, numpy).

The machine is shared (2 cores, other jobs), so only ratios measured here count: each repeat times every size and
method back to back in a rotated order (the fast methods INNER calls each), medians over all calls, the paired
per-repeat ratio too, with the load average before and after.  The exponent a is the least-squares slope of log(median time) vs log(N = L^2) (goal
<= 1.05: linear in the system size), over all sizes and over L >= 256 (where fixed per-call costs no longer count).
Sameness: for each L the table's energy, the network's (float32 sum) and the float64 sum of the network's own
per-tile outputs (dedup off) are recorded; the table must equal the last to float32 rounding.
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
REPEATS = 5
INNER = 5  # calls per repeat of the fast methods (each recorded): one preemption on the shared cores is one sample
FAST = ("table", "dedup", "exact_numpy")
METHODS = ["table", "dedup", "network_65536", "network_8192"]


def model():
    from zoo import hub
    from zoo.ednn import IsingEDNN

    try:
        return hub.load_pretrained("ednn/ising-f1c1"), "ednn/ising-f1c1"
    except (KeyError, FileNotFoundError):
        torch.manual_seed(0)
        return IsingEDNN(context=1).eval(), "untrained IsingEDNN(focus=1, context=1)"


def configure(m, method: str) -> None:
    m.table_max_entries = 1 << 20 if method == "table" else 0
    m.ednn.dedup = method in ("table", "dedup")
    m.ednn.max_tiles = 1 << 16
    m.ednn.net_tiles = 1 << 13 if method == "network_8192" else 1 << 16  # the dedup path as it was: one call


def exponent(sizes, times) -> float:
    return float(np.polyfit(2 * np.log(np.asarray(sizes, dtype=float)), np.log(times), 1)[0])


def main() -> None:
    torch.set_num_threads(1)
    m, which = model()
    lattices = {L: ising.random_configs(1, L, seed=L) for L in SIZES}
    for meth in METHODS:  # warm-up (and the table built once, as any first call on a large lattice would)
        configure(m, meth)
        m.predict_energy(lattices[256])

    same = []
    for L in SIZES:
        configure(m, "table")
        e_table = float(m.predict_energy(lattices[L]))
        configure(m, "network_65536")
        e_net = float(m.predict_energy(lattices[L]))
        e_ref = float(m.energy_map(lattices[L]).double().sum())  # exact sum of the network's per-tile outputs
        same.append({"L": L, "table": e_table, "network_float32_sum": e_net, "network_tiles_float64_sum": e_ref,
                     "table_equals_float64_sum_in_float32": bool(np.float32(e_table) == np.float32(e_ref)),
                     "network_float32_sum_error_in_ulps": float(abs(e_net - e_ref) / np.spacing(np.float32(e_ref)))})
        print(f"L={L:5d}: table {e_table:.9g}  network (float32 sum) {e_net:.9g}  network tiles (float64 sum) "
              f"{e_ref:.9g}")

    load_before = list(os.getloadavg())
    t = {meth: {L: [] for L in SIZES} for meth in METHODS + ["exact_numpy"]}
    order = METHODS + ["exact_numpy"]
    for rep in range(REPEATS):
        for L in SIZES:
            k = (rep + SIZES.index(L)) % len(order)
            for meth in order[k:] + order[:k]:  # rotated: no method always runs first or last
                if meth != "exact_numpy":
                    configure(m, meth)
                for _ in range(INNER if meth in FAST else 1):
                    t0 = time.perf_counter()
                    if meth == "exact_numpy":
                        ising.energy(lattices[L])
                    else:
                        m.predict_energy(lattices[L])
                    t[meth][L].append(time.perf_counter() - t0)
        print(f"repeat {rep + 1}/{REPEATS} done, load {os.getloadavg()[0]:.2f}", flush=True)
    load_after = list(os.getloadavg())

    med = {meth: np.array([statistics.median(t[meth][L]) for L in SIZES]) for meth in t}
    results = []
    for i, L in enumerate(SIZES):
        row = {"L": L, "median_s": {meth: float(med[meth][i]) for meth in t},
               "spins_per_s_table": float(L * L / med["table"][i]),
               "speedup_table_vs": {}, "raw_s": {meth: t[meth][L] for meth in t}}
        for base in ["dedup", "network_65536", "network_8192"]:
            per_rep = {meth: [statistics.median(t[meth][L][r * n:(r + 1) * n]) for r in range(REPEATS)]
                       for meth, n in ((base, INNER if base in FAST else 1), ("table", INNER))}
            paired = [b / a for a, b in zip(per_rep["table"], per_rep[base])]
            row["speedup_table_vs"][base] = {"ratio_of_medians": float(med[base][i] / med["table"][i]),
                                             "median_paired_ratio": statistics.median(paired)}
        row["speedup_network_8192_vs_65536"] = float(med["network_65536"][i] / med["network_8192"][i])
        results.append(row)
        print(f"L={L:5d}: " + "  ".join(f"{meth} {med[meth][i] * 1e3:.4g} ms" for meth in t)
              + f"  | table vs dedup x{row['speedup_table_vs']['dedup']['ratio_of_medians']:.1f}, vs network "
                f"x{row['speedup_table_vs']['network_65536']['ratio_of_medians']:.0f}; 8192 vs 65536 per call "
                f"x{row['speedup_network_8192_vs_65536']:.2f}")
    big = [i for i, L in enumerate(SIZES) if L >= 256]
    exps = {meth: {"all_sizes": exponent(SIZES, med[meth]),
                   "L_ge_256": exponent([SIZES[i] for i in big], med[meth][big])} for meth in t}
    for meth, e in exps.items():
        print(f"exponent {meth}: {e['all_sizes']:.3f} (all sizes), {e['L_ge_256']:.3f} (L >= 256)")

    i1024 = SIZES.index(1024)
    out = {"benchmark": "EDNN predict_energy time vs lattice size (one lattice, f = 1, c = 1): tile table vs the "
                        "previous default (dedup) vs the network on every tile (65 536 or 8192 tiles per call); "
                        "exponent = slope of log t vs log N",
           "model": which,
           "headline": {"L": 1024, "speedup_table_vs_previous_default_dedup":
                        results[i1024]["speedup_table_vs"]["dedup"],
                        "table_median_s": float(med["table"][i1024]), "dedup_median_s": float(med["dedup"][i1024]),
                        "target": ">= 15x"},
           "exponents": exps,
           "sameness": same,
           "setting": {"repeats": REPEATS, "inner_calls_of_fast_methods": INNER, "fast_methods": list(FAST),
                       "order": "per repeat and size, all methods back to back, rotated; medians over all calls; "
                                "paired ratio = median over repeats of (baseline / table), each the repeat's median",
                       "torch_threads": torch.get_num_threads(),
                       "torch_interop_threads": torch.get_num_interop_threads(),
                       "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                              "OMP_WAIT_POLICY")}},
           "results": results,
           "machine": {"platform": platform.platform(), "python": sys.version.split()[0], "cpu_count": os.cpu_count(),
                       "loadavg_before": load_before, "loadavg_after": load_after, "torch": torch.__version__}}
    path = Path(__file__).parent / "results" / "ednn_inference.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
