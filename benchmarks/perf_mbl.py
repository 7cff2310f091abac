"""MBL speed, measured side by side in one process (`PYTHONPATH=. python benchmarks/perf_mbl.py`):

1. parity-resolved ED (two 2^(L-1) blocks) vs a full 2^L `eigh`, at L = 10 and L = 12 (our target: >= 10x at 12);
2. the Jensen-Shannon distance matrix: ours (torch, chunked, H(m) - (H(p)+H(q))/2) vs scipy
   `pdist(metric='jensenshannon')` at 1500 spectra, and ours alone for one resample (6000 x 16);
3. the L = 8 dataset: time for 10 grid points x 100 realizations (20 kept states each), extrapolated to the full
   1200-point x 100-realization grid, with 1 and 2 worker processes;
4. one L = 12 grid realization (40 random kept states, as the L = 12 cards' dataset), one BLAS thread, the variants
   interleaved round by round (the machine is shared: only ratios within this run mean anything): today's path
   (`_point_states_all_vectors`: all 4096 eigenvectors in the full basis, the path before issue 16), `point_states`
   (vectors='exact': same bytes; 'chosen': only the chosen eigenvectors back-transformed; 'band': two-stage
   reduction, eigenvalues only, the chosen eigenvectors by banded inverse iteration, eigh-identical fallback where
   the selection could differ), QuSpin's block ED (Weinberg & Bukov, SciPost Phys. 2, 003 (2017): both Z2 blocks by
   dense eigh, the chosen states projected to the full basis) when installed, and the one-stage floor: eigenvalues
   only by eigvalsh (one-stage tridiagonalization + dsterf), which 'band' undercuts;
5. the same over the grid ("grid_mix_L12"): one realization at each of 6 points from the paramagnet to the deep spin
   glass (where cat doublets below double precision make 'band' fall back), today / 'band' / QuSpin interleaved,
   ratios of the summed times; and the fallback rate of 'band' over BENCH_GRID_SAMPLE random points of the paper's
   60 x 20 grid (guard only: eigenvalues, no vectors).
Medians over BENCH_REPEATS (default 3; L = 12 full eigh: 1).  Writes benchmarks/results/mbl.json.
"""
from __future__ import annotations

import importlib.util
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


def _quspin_realization(L, c, n_keep, k, rng):
    """QuSpin block ED of one realization: H in each spin-inversion block (P = prod X flips every z spin), dense
    eigh, merge and trim as ours, the chosen states projected to the full basis, our rho_A."""
    from quspin.basis import spin_basis_1d
    from quspin.operators import hamiltonian

    J, h = c["J"][0], c["h"][0]
    static = [["zz", [[-J[i], i, i + 1] for i in range(L - 1)]], ["x", [[-h[i], i] for i in range(L)]],
              ["xx", [[-c["lam_h"], i, i + 1] for i in range(L - 1)]],
              ["zz", [[-c["lam_J"], i, i + 2] for i in range(L - 2)]]]
    kw = dict(dtype=np.float64, check_symm=False, check_herm=False, check_pcon=False)
    out = []
    for z in (1, -1):
        basis = spin_basis_1d(L, zblock=z, pauli=1)
        E, V = hamiltonian(static, [], basis=basis, **kw).eigh()
        out.append((E, V, basis))
    E = np.concatenate([out[0][0], out[1][0]])
    half = len(out[0][0])
    order = np.argsort(E, kind="stable")[k:len(E) - k]
    src = order[np.sort(rng.choice(len(order), n_keep, replace=False))]
    psi = np.stack([out[0][2].project_from(out[0][1][:, j], sparse=False) if j < half else
                    out[1][2].project_from(out[1][1][:, j - half], sparse=False) for j in src]).real
    # QuSpin orders states with site 0 as the most significant bit too; rho_A of the middle 4 sites
    return E, sc.rdm_spectrum(psi, L)


def grid_realization(L: int, n_keep: int, n: int) -> dict:
    """Section 4 (see the module docstring)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    seeds = [np.random.SeedSequence([12, 0])]
    args = (L, 0.0, 1.0, 1, seeds, n_keep)
    k = sc.trim_count(2 ** L, 0.1)
    c = sc.sample_couplings(L, 0.0, 1.0, np.random.default_rng(seeds[0]))
    have_quspin = importlib.util.find_spec("quspin") is not None

    def floor():
        Hp, Hm = sc.parity_blocks(L, c["J"], c["h"], c["lam_h"], c["lam_J"])
        np.linalg.eigvalsh(Hp[0]), np.linalg.eigvalsh(Hm[0])

    variants = {"today_all_vectors": lambda: sc._point_states_all_vectors(*args),
                "exact": lambda: sc.point_states(*args, vectors="exact"),
                "chosen": lambda: sc.point_states(*args, vectors="chosen"),
                "band": lambda: sc.point_states(*args, vectors="band"),
                "floor_eigenvalues_only": floor}
    if have_quspin:
        variants["quspin_block_ed"] = lambda: _quspin_realization(L, c, n_keep, k, np.random.default_rng(0))
    runs = {v: [] for v in variants}
    load = [os.getloadavg()]
    with threadpool_limits(1, user_api="blas"):
        threads = [(i["internal_api"], i.get("version"), i["num_threads"]) for i in threadpool_info()]
        ref = sc._point_states_all_vectors(*args)
        same = {v: bool(all(np.array_equal(ref[key], sc.point_states(*args, vectors=v)[key]) for key in ref))
                for v in ("exact", "chosen")}
        b = sc.point_states(*args, vectors="band")  # same kept states; spectra to rounding (float32 storage)
        same["band_same_kept_states"] = bool(all(np.array_equal(ref[key], b[key])
                                                 for key in ("realization", "parity", "energy_index")))
        same["band_max_abs_spectra_diff"] = float(np.abs(ref["spectra"] - b["spectra"]).max())
        if have_quspin:  # same physics: QuSpin's spectrum equals ours
            Eq, _ = _quspin_realization(L, c, n_keep, k, np.random.default_rng(0))
            Hp, Hm = sc.parity_blocks(L, c["J"], c["h"], c["lam_h"], c["lam_J"])
            e_ours = np.sort(np.concatenate([np.linalg.eigvalsh(Hp[0]), np.linalg.eigvalsh(Hm[0])]))
            same["quspin_max_abs_energy_diff"] = float(np.abs(np.sort(Eq) - e_ours).max())
        for _ in range(n):
            for v, fn in variants.items():  # interleaved: each round runs every variant once
                t = time.perf_counter()
                fn()
                runs[v].append(time.perf_counter() - t)
            load.append(os.getloadavg())
    med = {v: statistics.median(ts) for v, ts in runs.items()}
    res = {"L": L, "kept_states": n_keep, "median_s": med, "runs_s": runs,
           "speedup_vs_today": {v: med["today_all_vectors"] / med[v] for v in med},
           "identical_arrays_to_today": same, "blas_threads": threads,
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "loadavg_1_5_15_per_round": load}
    if have_quspin:
        res["speedup_vs_quspin"] = {v: med["quspin_block_ed"] / med[v] for v in med}
    else:
        res["quspin"] = "not importable"
    return res


GRID_MIX = [(-2.5, 0.5), (-1.0, 0.2), (0.0, 1.0), (1.0, 0.2), (2.0, 0.5), (3.0, 0.0)]


def grid_mix(L: int, n_keep: int) -> dict:
    """Section 5 (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    from datamodules.physics import selected_eigh as se

    k = sc.trim_count(2 ** L, 0.1)
    runs = {"today_all_vectors": [], "band": [], "quspin_block_ed": []}
    paths, load = [], [os.getloadavg()]
    real = sc._chosen_states

    def spy(*a, **kw):
        out = real(*a, **kw)
        paths.append(out[3])
        return out

    with threadpool_limits(1, user_api="blas"):
        for j, (delta, lam) in enumerate(GRID_MIX):
            seeds = [np.random.SeedSequence([13, j])]
            args = (L, delta, lam, 1, seeds, n_keep)
            c = sc.sample_couplings(L, delta, lam, np.random.default_rng(seeds[0]))
            variants = {"today_all_vectors": lambda: sc._point_states_all_vectors(*args),
                        "band": lambda: sc.point_states(*args, vectors="band"),
                        "quspin_block_ed": lambda: _quspin_realization(L, c, n_keep, k, np.random.default_rng(0))}
            for v, fn in variants.items():
                sc._chosen_states = spy if v == "band" else real
                t = time.perf_counter()
                fn()
                runs[v].append(time.perf_counter() - t)
            sc._chosen_states = real
            load.append(os.getloadavg())
        # fallback rate over the paper's grid: random points, the guard on band eigenvalues only
        rng = np.random.default_rng(0)
        n = int(os.environ.get("BENCH_GRID_SAMPLE", 24))
        deltas, lams = np.linspace(-3, 3, 60), np.linspace(0, 2, 20)
        falls = []
        for i in range(n):
            delta, lam = float(rng.choice(deltas)), float(rng.choice(lams))
            c = sc.sample_couplings(L, delta, lam, rng)
            Hp, Hm = sc.parity_blocks(L, c["J"], c["h"], c["lam_h"], c["lam_J"])
            E = np.concatenate([se.BandEigh(Hp[0]).w, se.BandEigh(Hm[0]).w])
            pos = np.sort(rng.choice(2 ** L - 2 * k, n_keep, replace=False))
            falls.append((delta, lam, not sc._selection_is_robust(E, 2 ** (L - 1), k, pos)))
    tot = {v: float(sum(ts)) for v, ts in runs.items()}
    return {"L": L, "kept_states": n_keep, "points": GRID_MIX, "runs_s": runs, "total_s": tot,
            "band_paths": paths, "speedup_vs_today": {v: tot["today_all_vectors"] / tot[v] for v in tot},
            "speedup_vs_quspin": {v: tot["quspin_block_ed"] / tot[v] for v in tot},
            "fallback_rate_random_grid_points": float(np.mean([f[2] for f in falls])),
            "fallback_points": [(d, l) for d, l, f in falls if f], "n_random_grid_points": n,
            "loadavg_1_5_15_per_point": load}


def main():
    res = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                       "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}}
    res["grid_realization_L12"] = grid_realization(12, 40, REPEATS)
    g = res["grid_realization_L12"]
    print("L12 grid realization, medians:", {v: round(t, 2) for v, t in g["median_s"].items()},
          "speed-up vs today:", {v: round(x, 2) for v, x in g["speedup_vs_today"].items()}, g["identical_arrays_to_today"])
    if os.environ.get("BENCH_MBL_ONLY_L12"):  # the L = 12 sections only: keep the other entries of the last run
        old = json.loads((Path(__file__).parent / "results" / "mbl.json").read_text())
        res["grid_mix_L12"] = grid_mix(12, 40)
        print("grid mix:", res["grid_mix_L12"]["speedup_vs_today"], res["grid_mix_L12"]["speedup_vs_quspin"],
              "fallback rate", res["grid_mix_L12"]["fallback_rate_random_grid_points"])
        old.update(res)
        (Path(__file__).parent / "results" / "mbl.json").write_text(json.dumps(old, indent=2) + "\n")
        return
    res["grid_mix_L12"] = grid_mix(12, 40)
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
