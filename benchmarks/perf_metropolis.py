"""Spin updates per second per core: our numba Metropolis kernels vs a plain float32 torch checkerboard baseline.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_metropolis.py

Three samplers do one Metropolis proposal per site per sweep on the same (C, L, L) shapes at
T = 2.269, in the same process, interleaved (scalar, vectorized, baseline, scalar, ...), 9 repeats;
the table reports medians and the median of the per-repeat ratios. numba is warmed up first so JIT
compilation is not timed. "scalar" is metropolis_sweeps' default kernel (one chain at a time),
"vectorized" is method="vectorized" (all chains at once per site).
Threads: 1 for all three (numba.set_num_threads(1), torch.set_num_threads(1)): the goal is per core,
and on 2 cores shared with other jobs a second thread mostly measures the neighbours' load.
OMP_WAIT_POLICY defaults to PASSIVE here (set before torch/numba load OpenMP): on a 2-core machine
shared with other jobs, spin-waiting OpenMP workers made the torch baseline 3-10x slower and very
noisy, which would flatter our ratio. Override it from the environment to measure the other way.
Also times exact_thermodynamics (4x4 enumeration) over 100 temperatures (goal <= 1 s).
Results: benchmarks/results/perf_metropolis.json.
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

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from datamodules.physics.ising import exact_thermodynamics, metropolis_sweeps, random_configs  # noqa: E402

T = 2.269
BETA = 1.0 / T
REPEATS = 9
CASES = [  # name, chains, L, sweeps per timed call (scalar, vectorized, baseline)
    ("1024 x 16x16", 1024, 16, 100, 600, 15),
    ("64 x 128x128", 64, 128, 25, 150, 4),
]
GOAL_MUPD_PER_S = 1400.0  # per core
GOAL_RATIO_OVER_TORCH = 40.0


# --------------------------------------------------------------------------- baseline
def torch_masks(L: int) -> list[torch.Tensor]:
    i, j = torch.meshgrid(torch.arange(L), torch.arange(L), indexing="ij")
    even = ((i + j) % 2 == 0)
    return [even, ~even]


def torch_checkerboard_sweeps(s: torch.Tensor, beta: float, n_sweeps: int, masks, gen: torch.Generator) -> torch.Tensor:
    """Straightforward float32 checkerboard Metropolis: s (C, L, L) of +-1.0."""
    for _ in range(n_sweeps):
        for m in masks:
            nb = (torch.roll(s, 1, -1) + torch.roll(s, -1, -1) + torch.roll(s, 1, -2) + torch.roll(s, -1, -2))
            dE = 2.0 * s * nb
            acc = (torch.rand(s.shape, generator=gen) < torch.exp(-beta * dE)) & m
            s = torch.where(acc, -s, s)
    return s


# --------------------------------------------------------------------------- timing helpers
def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "sched_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer_default": numba.config.THREADING_LAYER,
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
    }


def main() -> dict:
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    t_start = time.perf_counter()
    # warm up numba (JIT / cache load) and torch
    w = random_configs(4, 8, seed=0)
    for method in ("scalar", "vectorized"):
        metropolis_sweeps(w, BETA, 2, seed=0, method=method)
    torch_checkerboard_sweeps(torch.ones(4, 8, 8), BETA, 2, torch_masks(8), torch.Generator().manual_seed(0))
    results = {
        "benchmark": "Metropolis spin updates/s per core: datamodules.physics.ising.metropolis_sweeps, default "
                     "(scalar) and method='vectorized' kernels, vs a float32 torch checkerboard baseline; same "
                     "process, interleaved, 1 thread each; plus exact 4x4 thermodynamics over 100 temperatures "
                     "(goal <= 1 s).",
        "summary": {}, "T": T, "repeats": REPEATS, "goal_Mupd_per_s_per_core": GOAL_MUPD_PER_S,
        "goal_ratio_over_torch": GOAL_RATIO_OVER_TORCH, "machine": machine_info(), "cases": {},
    }
    try:
        results["machine"]["numba_threading_layer"] = numba.threading_layer()
    except ValueError:
        pass

    for name, C, L, n_sc, n_vec, n_base in CASES:
        spins = {"scalar": random_configs(C, L, seed=1), "vectorized": random_configs(C, L, seed=1)}
        sweeps = {"scalar": n_sc, "vectorized": n_vec}
        ts = torch.from_numpy(random_configs(C, L, seed=2).astype(np.float32))
        masks = torch_masks(L)
        gen = torch.Generator().manual_seed(0)
        # one untimed call each at the real shape (allocations, caches)
        for m in spins:
            metropolis_sweeps(spins[m], BETA, 1, seed=0, method=m)
        ts = torch_checkerboard_sweeps(ts, BETA, 1, masks, gen)
        rates = {"scalar": [], "vectorized": [], "baseline": []}
        load = []
        for rep in range(REPEATS):
            load.append(os.getloadavg()[0])
            for m in ("scalar", "vectorized"):
                rates[m].append(C * L * L * sweeps[m] / timed(
                    lambda: metropolis_sweeps(spins[m], BETA, sweeps[m], seed=rep, method=m)) / 1e6)
            holder = {}
            rates["baseline"].append(C * L * L * n_base / timed(lambda: holder.setdefault("s", torch_checkerboard_sweeps(
                ts, BETA, n_base, masks, gen))) / 1e6)
            ts = holder["s"]
        # informational only: energy per spin at the end (random start, so 128x128 is still coarsening)
        energies = {m: float(-(x * (np.roll(x, 1, -1) + np.roll(x, 1, -2))).astype(np.float64).sum() / x.size)
                    for m, x in spins.items()}
        energies["baseline"] = float(-(ts * (torch.roll(ts, 1, -1) + torch.roll(ts, 1, -2))).sum() / ts.numel())
        med = {m: statistics.median(v) for m, v in rates.items()}

        def paired(a, b):
            return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

        results["cases"][name] = {
            "chains": C, "L": L, "sweeps_per_call": {"scalar": n_sc, "vectorized": n_vec, "baseline": n_base},
            **{f"{m}_Mupd_per_s": [round(x, 2) for x in v] for m, v in rates.items()},
            **{f"{m}_median_Mupd_per_s": v for m, v in med.items()},
            "ratio_vectorized_over_scalar_paired_median": paired("vectorized", "scalar"),
            "ratio_vectorized_over_baseline_paired_median": paired("vectorized", "baseline"),
            "ratio_scalar_over_baseline_paired_median": paired("scalar", "baseline"),
            "loadavg_1min_per_repeat": [round(x, 2) for x in load],
            "energy_per_spin_at_end_informational": energies,
        }

    temps = np.linspace(1.0, 4.0, 100)
    exact_thermodynamics(temps, L=4)  # warm
    t_exact = [timed(lambda: exact_thermodynamics(temps, L=4)) for _ in range(REPEATS)]
    results["exact_thermodynamics_4x4_100T"] = {
        "seconds": [round(x, 4) for x in t_exact], "median_s": statistics.median(t_exact), "goal_s": 1.0,
        "meets_goal": statistics.median(t_exact) <= 1.0,
    }
    results["total_wall_s"] = time.perf_counter() - t_start
    summary = {}
    for name, r in results["cases"].items():  # one row per kernel, in the layout benchmarks/summarize.py reads
        for m in ("scalar", "vectorized"):
            summary[f"{name}, {m}"] = {
                "ours_median_Mupd_per_s": round(r[f"{m}_median_Mupd_per_s"], 1),
                "baseline_median_Mupd_per_s": round(r["baseline_median_Mupd_per_s"], 1),
                "ratio_median": round(r[f"ratio_{m}_over_baseline_paired_median"], 2)}
    results["summary"] = {
        **summary,
        "exact_thermodynamics_4x4_100T_median_s": round(statistics.median(t_exact), 4),
        "torch_threads": torch.get_num_threads(), "numba_threads": numba.get_num_threads(),
    }
    results["machine"]["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None

    out = Path(__file__).parent / "results" / "perf_metropolis.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")

    print(f"Metropolis at T = {T}, medians of {REPEATS} interleaved runs "
          f"(torch threads {torch.get_num_threads()}, numba threads {numba.get_num_threads()})")
    print(f"{'case':<16}{'scalar':>10}{'vector':>10}{'torch':>10}{'vec/sc':>8}{'vec/torch':>10}{'sc/torch':>9}  load")
    for name, r in results["cases"].items():
        print(f"{name:<16}{r['scalar_median_Mupd_per_s']:>10.1f}{r['vectorized_median_Mupd_per_s']:>10.1f}"
              f"{r['baseline_median_Mupd_per_s']:>10.1f}{r['ratio_vectorized_over_scalar_paired_median']:>7.1f}x"
              f"{r['ratio_vectorized_over_baseline_paired_median']:>9.1f}x"
              f"{r['ratio_scalar_over_baseline_paired_median']:>8.1f}x  {statistics.median(r['loadavg_1min_per_repeat']):.1f}")
    ex = results["exact_thermodynamics_4x4_100T"]
    print(f"exact_thermodynamics 4x4, 100 T: median {ex['median_s']:.3f} s (goal <= 1 s)")
    print(f"total {results['total_wall_s']:.0f} s -> {out}")
    return results


if __name__ == "__main__":
    main()
