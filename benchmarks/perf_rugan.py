"""Decorrelated Ising configurations per second: RUGAN sampling vs single-spin Metropolis, same L and T.

Our speed check (ours, not a number of Casert et al., arXiv:2002.07055): L = 64 and 256, at T_c and away from it
(T = 3.0).  Each GAN sample is independent (fresh latent), so its rate is samples/s.  For Metropolis
(checkerboard numba kernel of datamodules/physics/ising.py) the rate is sweeps/s / (2 tau_int), with tau_int the integrated
autocorrelation time of |m| (in sweeps, Sokal's automatic window, c = 6) measured in the same run.
At T_c the Metropolis run is lengthened (doubling, within a time budget per size) until it spans
50 tau_int; tau is measured at L = 16, 32, 64 (and 128), the dynamic exponent z is fitted to those
sizes, and tau at a size the budget cannot reach (L = 256) is extrapolated with the fitted z and
flagged 'extrapolated' (literature: z = 2.17).  The sampling section (`sampling_L64`) times today's fp32 path (the
pre-bf16 generator code, the baseline), the new fp32 path and sample(precision="bf16") interleaved at L = 64, and
compares <e>, <|m|> of bf16 and fp32 over 1000 samples per temperature with the same seeds.  Also: generator training throughput
(generator steps/s with n_critic critic steps each) at L = 16.  Medians over repeats; one thread.

    python benchmarks/perf_rugan.py [--quick] [--sampling-only]   -> benchmarks/results/rugan_perf.json
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


def reference_sample(model, n: int, L: int, T: float, seed: int) -> torch.Tensor:
    """Today's (pre-bf16) fp32 sampling path, kept as the in-run baseline: the generator as written before the fast
    path (modules' own circular padding, out-of-place activations, materialized up-sampling and residual sums) on
    the same latents as model.sample(seed=seed); bit-identical outputs (tests/zoo/test_rugan.py)."""
    F = torch.nn.functional
    G = model.generator.eval()

    def block(b, x):
        if b.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return b.skip(x) + b.conv2(F.leaky_relu(b.conv1(F.leaky_relu(x, 0.2)), 0.2))

    with torch.no_grad():
        z = model.latent(n, L, torch.Generator().manual_seed(seed))
        y = model.normalize_labels(torch.full((n,), float(T)))
        h = G.inp(torch.cat([z, y[:, :, None, None].expand(-1, -1, *z.shape[-2:])], 1))
        for b in G.blocks:
            h = block(b, h)
        x = torch.tanh(G.out(F.leaky_relu(h, 0.2))).squeeze(1)
    return torch.where(x >= 0, 1, -1).to(torch.int8)


def sampling_section(model, L: int = 64, batch: int = 64, repeats: int = 7, n_stats: int = 1000,
                     temps=(1.5, 2.25, 3.0)) -> dict:
    """samples/s at L of today's fp32 path (baseline), the new fp32 path and precision='bf16', interleaved per
    repeat (medians; ratios to the baseline of the same run), and the bf16-vs-fp32 statistics on n_stats samples
    per temperature with the same latent seeds."""
    ways = {"fp32_baseline": lambda r: reference_sample(model, batch, L, 2.25, r),
            "fp32": lambda r: model.sample(batch, L=L, temperature=2.25, seed=r, batch_size=batch),
            "bf16": lambda r: model.sample(batch, L=L, temperature=2.25, seed=r, batch_size=batch, precision="bf16")}
    for f in ways.values():
        f(0)  # warm-up (oneDNN primitive creation)
    assert torch.equal(ways["fp32_baseline"](0), ways["fp32"](0)), "the fp32 fast path must be bit-identical"
    rates = {k: [] for k in ways}
    load = [os.getloadavg()[0]]
    for r in range(repeats):
        for k, f in ways.items():
            t0 = time.perf_counter()
            f(r)
            rates[k].append(batch / (time.perf_counter() - t0))
        load.append(os.getloadavg()[0])
    med = {k: float(np.median(v)) for k, v in rates.items()}
    out = {"L": L, "batch": batch, "T": 2.25, "repeats": repeats, "threads": torch.get_num_threads(),
           "interop_threads": torch.get_num_interop_threads(), "load_average_during": load,
           "samples_per_s_median": med, "samples_per_s_all": rates,
           "ratio_over_fp32_baseline": {k: v / med["fp32_baseline"] for k, v in med.items()},
           "ratio_per_repeat_bf16_over_baseline": [b / a for a, b in zip(rates["fp32_baseline"], rates["bf16"])]}
    from zoo.rugan import RUGAN

    stats = []
    for T in temps:
        s = {p: model.sample(n_stats, L=L, temperature=T, seed=11, batch_size=100, precision=p).numpy()
             for p in ("fp32", "bf16")}
        em = {p: RUGAN._e_m(x) for p, x in s.items()}
        row = {"T": T, "n": n_stats, "flipped_spin_fraction": float((s["fp32"] != s["bf16"]).mean())}
        for p in s:
            row[f"e_{p}"] = float(em[p][0].mean())
            row[f"abs_m_{p}"] = float(np.abs(em[p][1]).mean())
        row["abs_diff_e"] = abs(row["e_bf16"] - row["e_fp32"])
        row["abs_diff_abs_m"] = abs(row["abs_m_bf16"] - row["abs_m_fp32"])
        row["within_1e-3"] = row["abs_diff_e"] < 1e-3 and row["abs_diff_abs_m"] < 1e-3
        stats.append(row)
        print(row, flush=True)
    out["bf16_vs_fp32_statistics"] = stats
    print(json.dumps({k: out[k] for k in ("samples_per_s_median", "ratio_over_fp32_baseline",
                                          "load_average_during")}), flush=True)
    return out


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


def main(quick: bool = False, sampling_only: bool = False) -> dict:
    import zoo
    from zoo.rugan import RUGAN

    name = "rugan/ising-T-L16"
    model = zoo.load_pretrained(name) if name in zoo.list_pretrained("rugan") else None
    src = name if model is not None else "untrained RUGAN with the config's widths (no published checkpoint)"
    if model is None:
        model = RUGAN(train_temperatures=[1.0, 3.5], latent_channels=16, g_width=32, c_width=16).eval()
    res = Path(__file__).parent / "results" / "rugan_perf.json"
    section = sampling_section(model, repeats=3 if quick else 7, n_stats=100 if quick else 1000)
    if sampling_only:
        # the Metropolis/tau section takes > 10 min: keep the previous run's numbers for it, marked as such
        out = json.loads(res.read_text()) if res.exists() else {}
        out["sampling_L64"] = section
        out["sampling_L64_note"] = ("from `--sampling-only`; the other sections are from an earlier full run "
                                    "(their rugan_samples_per_s is the fp32 path)")
        res.write_text(json.dumps(out, indent=1) + "\n")
        return out
    out = {"model": src, "threads": torch.get_num_threads(), "rows": [], "load_average_start": os.getloadavg()[0],
           "sampling_L64": section}
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
    res.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sampling-only", action="store_true",
                   help="only the L = 64 sampling section (fp32 baseline vs bf16), merged into the existing JSON")
    a = p.parse_args()
    main(a.quick, a.sampling_only)
