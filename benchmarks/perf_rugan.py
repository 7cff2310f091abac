"""Decorrelated Ising configurations per second: RUGAN sampling vs single-spin Metropolis, same L and T.

Our speed check (ours, not a number of Casert et al., arXiv:2002.07055): L = 64 and 256, at T_c and away from it
(T = 3.0).  Each GAN sample is independent (fresh latent), so its rate is samples/s.  For Metropolis
(checkerboard numba kernel of datamodules/physics/ising.py) the rate is sweeps/s / (2 tau_int), with tau_int the integrated
autocorrelation time of |m| (in sweeps, Sokal's automatic window, c = 6) measured in the same run.
At T_c the Metropolis run is lengthened (doubling, within a time budget per size) until it spans
50 tau_int; tau is measured at L = 16, 32, 64 (and 128), the dynamic exponent z is fitted to those
sizes, and tau at a size the budget cannot reach (L = 256) is extrapolated with the fitted z and
flagged 'extrapolated' (literature: z = 2.17).  Also: generator training throughput
(generator steps/s with n_critic critic steps each) at L = 16.  Medians over repeats; one thread.

    python benchmarks/perf_rugan.py [--quick]   -> benchmarks/results/rugan_perf.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numba
import numpy as np
import torch

from datamodules.physics import ising

torch.set_num_threads(1)
numba.set_num_threads(1)  # one thread for Metropolis too, like the GAN
Z_DYN = 2.17  # dynamic exponent of single-spin Metropolis in 2-D Ising (literature value)


def tau_int(x: np.ndarray, c: float = 6.0) -> tuple[float, bool]:
    """Integrated autocorrelation time of series x (chains, time) with Sokal's window; (tau, reliable)."""
    x = x - x.mean(axis=1, keepdims=True)
    n = x.shape[1]
    f = np.fft.rfft(x, 2 * n, axis=1)
    acf = np.fft.irfft(f * np.conj(f), axis=1)[:, :n].mean(0)
    if acf[0] <= 0:
        return 0.5, True
    rho = acf / acf[0]
    tau = 0.5
    for w in range(1, n):
        tau += rho[w]
        if w >= c * tau:
            return float(tau), bool(n > 50 * tau)
    return float(tau), False


def metropolis_rate(L: int, T: float, n_sweeps: int, n_chains: int = 16) -> dict:
    """One kernel call for the timed run, recording M after every sweep (no per-sweep Python overhead)."""
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    spins = ising.metropolis_sweeps(spins, 1 / T, 10, seed=0)  # compile + short warm-up
    spins = ising.metropolis_sweeps(spins, 1 / T, max(200, n_sweeps // 5), seed=1)  # equilibrate
    betas = np.full(n_chains, 1 / T)
    rng = ising._chain_states(n_chains, ising.seed_sequence("bench", L, n_sweeps))
    E = np.zeros((n_chains, n_sweeps), dtype=np.int64)
    M = np.zeros((n_chains, n_sweeps), dtype=np.int64)
    t0 = time.perf_counter()
    ising._metropolis_kernel(spins, betas, n_sweeps, rng, True, E, M, 1)
    dt = time.perf_counter() - t0
    sweeps_per_s = n_sweeps * n_chains / dt
    tau, ok = tau_int(np.abs(M).astype(np.float64))
    return {"sweeps_per_s": sweeps_per_s, "tau_int_sweeps": tau, "tau_reliable": ok}


def metropolis_tau_adaptive(L: int, T: float, budget_s: float, n_sweeps: int = 500) -> dict:
    """Double the run until it spans 50 tau_int or the next doubling would exceed budget_s."""
    while True:
        t0 = time.perf_counter()
        mc = metropolis_rate(L, T, n_sweeps)
        dt = time.perf_counter() - t0
        mc["n_sweeps"] = n_sweeps
        if mc["tau_reliable"] or 2.2 * dt > budget_s:
            return mc
        n_sweeps *= 2


def fit_z(taus: dict) -> tuple[float, float]:
    """Least-squares log tau = log a + z log L over the given {L: tau}; returns (z, a)."""
    Ls = np.array(sorted(taus), dtype=float)
    z, loga = np.polyfit(np.log(Ls), np.log([taus[L] for L in sorted(taus)]), 1)
    return float(z), float(np.exp(loga))


def gan_rate(model, L: int, T: float, batch: int, repeats: int = 3) -> float:
    model.sample(2, L=L, temperature=T)
    rates = []
    for r in range(repeats):
        t0 = time.perf_counter()
        model.sample(batch, L=L, temperature=T, seed=r, batch_size=batch)
        rates.append(batch / (time.perf_counter() - t0))
    return float(np.median(rates))


def training_rate(model, n_steps: int = 3, batch: int = 32, L: int = 16) -> float:
    from torch.utils.data import DataLoader, TensorDataset

    import pytorch_lightning as pl

    x = torch.as_tensor(np.random.default_rng(0).choice([-1.0, 1.0], size=(batch * model.hparams.n_critic * n_steps,
                                                                          L, L)), dtype=torch.float32)
    T = torch.full((len(x),), 2.0)
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    t0 = time.perf_counter()
    trainer.fit(model, DataLoader(TensorDataset(x, T), batch_size=batch))
    return n_steps / (time.perf_counter() - t0)


def main(quick: bool = False) -> dict:
    import zoo
    from zoo.rugan import RUGAN

    name = "rugan/ising-T-L16"
    model = zoo.load_pretrained(name) if name in zoo.list_pretrained("rugan") else None
    src = name if model is not None else "untrained RUGAN with the config's widths (no published checkpoint)"
    if model is None:
        model = RUGAN(train_temperatures=[1.0, 3.5], latent_channels=16, g_width=32, c_width=16).eval()
    out = {"model": src, "threads": torch.get_num_threads(), "rows": [], "load_average_start": os.getloadavg()[0]}
    # tau_int at T_c vs L: measured where the budget allows 50 tau, the fitted z carries it to larger L
    tc = round(ising.T_C, 4)
    crit = {}
    for L in ((16, 32) if quick else (16, 32, 64, 128)):
        mc = metropolis_tau_adaptive(L, tc, budget_s=5 if quick else 150)
        crit[L] = mc
        print(f"T_c L={L}: tau_int={mc['tau_int_sweeps']:.1f} sweeps over {mc['n_sweeps']} "
              f"(reliable={mc['tau_reliable']})", flush=True)
    reliable = {L: m["tau_int_sweeps"] for L, m in crit.items() if m["tau_reliable"]}
    z, a = fit_z(reliable) if len(reliable) >= 2 else (Z_DYN, None)
    out["tc_tau_vs_L"] = [{"L": L, "tau_int_sweeps": m["tau_int_sweeps"], "n_sweeps": m["n_sweeps"],
                           "reliable": m["tau_reliable"]} for L, m in crit.items()]
    out["tc_dynamic_exponent_fit"] = {"z": z, "sizes": sorted(reliable), "literature_z": Z_DYN,
                                      "how": "least squares of log tau_int(|m|) vs log L over sizes with runs >= 50 tau"
                                      if a is not None else "too few reliable sizes: literature z used"}
    for T in (3.0, tc):
        for L in (64, 256):
            if T == tc and L in crit and crit[L]["tau_reliable"]:
                mc, tau, how = crit[L], crit[L]["tau_int_sweeps"], f"measured over {crit[L]['n_sweeps']} sweeps"
            else:
                n_sweeps = (400 if quick else 2000) if L == 64 else (100 if quick else 400)
                mc = metropolis_rate(L, T, n_sweeps)
                tau, how = mc["tau_int_sweeps"], "measured"
                if not mc["tau_reliable"]:
                    if T == tc and a is not None:
                        tau, how = a * L ** z, f"extrapolated with the fitted z={z:.2f} (sizes {sorted(reliable)})"
                    else:
                        how = "lower bound (run shorter than 50 tau)"
            mc_rate = mc["sweeps_per_s"] / (2 * tau)
            g = gan_rate(model, L, T, batch=64 if L == 64 else 8)
            out["rows"].append({"L": L, "T": T, "metropolis_sweeps_per_s": mc["sweeps_per_s"], "tau_int_sweeps": tau,
                                "tau_how": how, "metropolis_decorrelated_per_s": mc_rate, "rugan_samples_per_s": g,
                                "ratio_rugan_over_metropolis": g / mc_rate})
            print(out["rows"][-1], flush=True)
    model.train()
    out["training_generator_steps_per_s_L16_batch32"] = training_rate(model, n_steps=2 if quick else 4)
    out["training_n_critic"] = int(model.hparams.n_critic)
    out["load_average_end"] = os.getloadavg()[0]  # ratios are same-run; absolute rates depend on the load
    res = Path(__file__).parent / "results" / "rugan_perf.json"
    res.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    main(p.parse_args().quick)
