"""Schrodinger CNN speed (Mills, Spanner & Tamblyn, PRA 96, 042113 (2017), arXiv:1702.01361;
speed discussion: App. A.3 "Discussion", thesis L1457-1459), ratios measured in one run:

(a) CNN inference vs the finite-difference solver on the same random potentials and grid (64^2 and
    128^2): an untrained `SchrodingerCNN(grid=n)` in eval mode, `predict_energy` at batch 256, against
    `S.solve(V)` (sparse shift-invert eigsh, two lowest states + <T>, as the DataModule labels them),
    both on 1 thread.  The weights do not change the cost of a forward pass.
(b) Solver throughput on a pool of 1 vs 2 processes (same random potentials, 64^2 and 128^2).
(c) Time to generate + solve 50 000 potentials at 128^2 (grid = solve_grid = 128) with 2 processes,
    EXTRAPOLATED linearly from a measured sample of a few hundred random and double-inverted-Gaussian
    potentials built by `SchrodingerDataModule.prepare_data()` into a temporary cache (the real
    pipeline: generator, solver, shard writes with checksums).

Medians of BENCH_REPEATS repeats (default 3).  The machine is shared and loaded: the load average
is recorded, and the 1-vs-2-process ratio in particular depends on how many cores are free.
Run: `PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/perf_schrodinger.py` (about 3-5 min on a loaded
2-core machine).
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/scipy/torch load their thread pools

import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import torch  # noqa: E402

from datamodules.physics import schrodinger as S  # noqa: E402
from datamodules.schrodinger import SchrodingerDataModule  # noqa: E402
from zoo.schrodinger_cnn import SchrodingerCNN  # noqa: E402

HERE = Path(__file__).parent
REPEATS = int(os.environ.get("BENCH_REPEATS", 3))
FAMILY = "random"  # potentials for (a) and (b): the paper's hardest family, and the slowest to solve
SEED0 = 10_000     # seeds SEED0.. (any: the benchmark does not depend on which potentials)

# default sizes (main() takes them as arguments so a smoke test can run a tiny version)
SIZES = {
    "grids": (64, 128),
    "cnn_batch": 256,
    "n_solve": {64: 48, 128: 16},        # (a) potentials solved per repeat (a subset of the CNN's 256)
    "n_pool": {64: 32, 128: 16},         # (b) potentials per pool run
    "gen_grid": 128,
    "gen_families": ("random", "dig"),
    "gen_n": 150,                        # (c) measured potentials per family
    "gen_shard": 25,                     # (c) shard size of the sample (6 shards per family -> both workers busy)
    "gen_target": 50_000,
}


def _median(xs):
    return float(statistics.median(xs))


def _potentials(n: int, count: int, family: str = FAMILY) -> np.ndarray:
    return np.stack([S.generate(family, SEED0 + i, n)[0] for i in range(count)])


def _labels(V: np.ndarray) -> tuple[float, float, float]:
    """What the DataModule stores per solved potential (top level: picklable for the pool)."""
    s = S.solve(V, n_states=2)
    return s.e0, s.e1, s.kinetic


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# --------------------------------------------------------------------------- (a) CNN vs solver
def cnn_vs_solver(n: int, batch: int, n_solve: int, repeats: int) -> dict:
    V = _potentials(n, batch)
    model = SchrodingerCNN(grid=n).eval()
    model.predict_energy(V[:8], batch_size=batch)  # warm-up (allocator, oneDNN kernels)
    cnn = [_time(lambda: model.predict_energy(V, batch_size=batch)) for _ in range(repeats)]
    _labels(V[0])  # warm-up
    sub = V[:n_solve]
    solver = [_time(lambda: [_labels(v) for v in sub]) for _ in range(repeats)]
    cnn_rate = [batch / t for t in cnn]
    sol_rate = [n_solve / t for t in solver]
    return {
        "grid": n, "family": FAMILY,
        "cnn": {"potentials": batch, "batch_size": batch, "runs_s": cnn, "median_potentials_per_s": _median(cnn_rate),
                "what": "SchrodingerCNN(grid).eval().predict_energy(V, batch_size) (untrained weights), 1 thread"},
        "solver": {"potentials": n_solve, "runs_s": solver, "median_potentials_per_s": _median(sol_rate),
                   "what": "S.solve(V, n_states=2) one after another (e0, e1, <T>), 1 thread; the first "
                           f"{n_solve} of the CNN's {batch} potentials"},
        "ratio_cnn_over_solver": _median(cnn_rate) / _median(sol_rate),
    }


# --------------------------------------------------------------------------- (b) solver on 1 vs 2 processes
def solver_pool(n: int, count: int, repeats: int) -> dict:
    V = list(_potentials(n, count))
    out = {"grid": n, "family": FAMILY, "potentials": count}
    for procs in (1, 2):
        with ProcessPoolExecutor(procs) as pool:
            list(pool.map(_labels, V[:procs]))  # start the workers and warm them up before timing
            ts = [_time(lambda: list(pool.map(_labels, V))) for _ in range(repeats)]
        out[f"processes={procs}"] = {"runs_s": ts, "median_potentials_per_s": count / _median(ts)}
    out["ratio_2_over_1"] = out["processes=2"]["median_potentials_per_s"] / out["processes=1"]["median_potentials_per_s"]
    return out


# --------------------------------------------------------------------------- (c) dataset generation
def generation(n: int, families, per_family: int, shard: int, target: int) -> dict:
    out = {"grid": n, "solve_grid": n, "processes": 2, "target_potentials": target, "families": {}}
    for fam in families:
        with tempfile.TemporaryDirectory() as d:
            dm = SchrodingerDataModule(family=fam, label="e0", grid=n, solve_grid=n, analytic_labels="none",
                                       n_train=per_family, n_val=0, n_test=0, shard_size=shard, data_dir=d,
                                       gen_workers=2, progress=False)
            t = _time(dm.prepare_data)
        per = t / per_family
        out["families"][fam] = {"measured_potentials": per_family, "measured_s": t, "s_per_potential": per,
                                "extrapolated_s_for_target": per * target,
                                "extrapolated_h_for_target": per * target / 3600}
    per = [v["s_per_potential"] for v in out["families"].values()]
    mix = statistics.mean(per)
    out["equal_mix"] = {"s_per_potential": mix, "extrapolated_s_for_target": mix * target,
                        "extrapolated_h_for_target": mix * target / 3600}
    measured = sum(v["measured_potentials"] for v in out["families"].values())
    out["note"] = (f"EXTRAPOLATION: {target} potentials were not generated; the time is (measured wall time / "
                   f"measured potentials) x {target}, from {measured} potentials measured in total "
                   f"({per_family} per family, one timing each), built by SchrodingerDataModule.prepare_data() "
                   f"with gen_workers=2 into a temporary cache in shards of {shard} (the configs use 250). "
                   f"Includes the pool start-up and the shard writes; assumes linear scaling.")
    return out


def main(sizes: dict | None = None, repeats: int = REPEATS, out: Path | None = None) -> dict:
    sz = {**SIZES, **(sizes or {})}
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    res = {"benchmark": "Schrodinger CNN: CNN inference vs finite-difference solver, solver on 1 vs 2 processes, "
                        f"dataset generation at {sz['gen_grid']}^2 (extrapolated)",
           "repeats": repeats}
    res["cnn_vs_solver"] = {f"{n}x{n}": cnn_vs_solver(n, sz["cnn_batch"], sz["n_solve"][n], repeats)
                            for n in sz["grids"]}
    for k, v in res["cnn_vs_solver"].items():
        print(f"(a) {k}: CNN {v['cnn']['median_potentials_per_s']:.1f}/s, solver "
              f"{v['solver']['median_potentials_per_s']:.2f}/s, ratio {v['ratio_cnn_over_solver']:.1f}x", flush=True)
    res["solver_processes"] = {f"{n}x{n}": solver_pool(n, sz["n_pool"][n], repeats) for n in sz["grids"]}
    for k, v in res["solver_processes"].items():
        print(f"(b) {k}: 1 proc {v['processes=1']['median_potentials_per_s']:.2f}/s, 2 procs "
              f"{v['processes=2']['median_potentials_per_s']:.2f}/s, ratio {v['ratio_2_over_1']:.2f}x", flush=True)
    res["generation"] = generation(sz["gen_grid"], sz["gen_families"], sz["gen_n"], sz["gen_shard"], sz["gen_target"])
    g = res["generation"]
    print(f"(c) {g['target_potentials']} potentials at {g['grid']}^2, 2 processes (extrapolated): " + ", ".join(
        f"{f} {v['extrapolated_h_for_target']:.2f} h" for f, v in g["families"].items()), flush=True)
    res["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                      "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "loadavg_1_5_15_start": load0,
                      "loadavg_1_5_15_end": os.getloadavg(), "torch": torch.__version__, "scipy": scipy.__version__,
                      "numpy": np.__version__, "benchmark_wall_s": time.perf_counter() - t0,
                      "note": "shared machine (other trainings running): absolute rates are lower than on an idle "
                              "one; the ratios come from the same run"}
    out = out or HERE / "results" / "schrodinger.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
