"""Smoke-scale evidence for RUGAN's opt-in global latent (issue 17, RUGAN upscaling row; arXiv:2002.07055).

Does a generator given a per-sample latent plane broadcast over the lattice (`RUGAN(global_latent=...)`) use it to
choose one sign of m for a whole upscaled ordered sample?  A full retrain is 2.6 h of CPU, so this fine-tunes the
published rugan/ising-T-L16 for the same wall-time budget in two arms from the same start and seed:

    local   the published model as is (global_latent = 0)
    global  the published weights plus one global channel whose input weights start at zero (so step 0 samples
            exactly like the published model: the channel has to be learned, not given)

and measures, at L = 64 (upscaled x4) and L = 16, against fresh Metropolis + Wolff samples: <|m|>, <e>, the fraction
of samples with |m| > 0.8, and for the global arm how often sign(m) = sign(w) (0.5 if the channel is ignored).
Training data: fresh hybrid Metropolis + Wolff samples at the published training temperatures (`--n-per-T` each;
the published run used 3000, this is a smoke budget).  One process, the threads torch is given.

    OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/rugan_global_smoke.py --seconds 300 \\
        --out runs/rugan/global-smoke/result.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

import zoo
from datamodules.physics import ising_cluster as W
from zoo.rugan import RUGAN

NAME = "rugan/ising-T-L16"


def with_global_channel(base: RUGAN, n_global: int) -> RUGAN:
    """`base`'s weights in a RUGAN with `n_global` global channels; their input weights zero (same samples as base
    for the same local latent)."""
    args = {k: v for k, v in base.hparams.items() if k != "global_latent"}
    model = RUGAN(**args, global_latent=n_global)
    sd = {k: v.clone() for k, v in base.state_dict().items()}
    w = sd["generator.inp.weight"]  # input channels: local latent, then labels; global ones go between them
    C = base.hparams.latent_channels
    sd["generator.inp.weight"] = torch.cat([w[:, :C], torch.zeros(w.shape[0], n_global, *w.shape[2:]), w[:, C:]], 1)
    model.load_state_dict(sd)
    return model


def training_data(temps, n_per_T: int, seed: str):
    xs, ts = [], []
    for T in temps:
        xs.append(torch.as_tensor(W.thermal_samples(16, T, n_per_T, n_chains=8, n_equil=100, every=4,
                                                    seed=f"{seed}/train/{T}"), dtype=torch.float32))
        ts.append(torch.full((n_per_T,), float(T)))
    return TensorDataset(torch.cat(xs), torch.cat(ts))


def fine_tune(model: RUGAN, data, seconds: float, seed: int, lr: float) -> dict:
    model.hparams.lr, model.hparams.lr_final = lr, None
    pl.seed_everything(seed, verbose=False)
    dl = DataLoader(data, batch_size=32, shuffle=True, drop_last=True)
    trainer = pl.Trainer(max_time={"seconds": seconds}, max_epochs=1000, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    model.train()  # load_pretrained returns eval mode: the critic's dropout (and so the CT term) must be on
    g0, t0 = int(model.generator_steps), time.perf_counter()
    trainer.fit(model, dl)
    steps = int(model.generator_steps) - g0
    return {"generator_steps": steps, "seconds": time.perf_counter() - t0,
            "s_per_generator_step": (time.perf_counter() - t0) / max(steps, 1)}


@torch.no_grad()
def measure(model: RUGAN, L: int, T: float, mc: np.ndarray, n: int, seed: int) -> dict:
    model.eval()
    z = model.latent(n, L, torch.Generator().manual_seed(seed))
    x = torch.where(model(z, torch.full((n,), float(T))) >= 0, 1, -1).to(torch.int8).numpy()
    m = x.reshape(n, -1).mean(1)
    out = {"L": L, "T": T, "n": n,
           "m_gan": float(np.abs(m).mean()), "m_mc": float(W.abs_magnetization(mc).mean()),
           "e_gan": float(W.energy_per_spin(x).mean()), "e_mc": float(W.energy_per_spin(mc).mean()),
           "frac_m_gt_0.8_gan": float((np.abs(m) > 0.8).mean()),
           "frac_m_gt_0.8_mc": float((np.abs(W.abs_magnetization(mc)) > 0.8).mean())}
    out["dm"], out["de"] = out["m_gan"] - out["m_mc"], out["e_gan"] - out["e_mc"]
    if z.shape[1] > model.hparams.latent_channels:
        w = z[:, model.hparams.latent_channels, 0, 0].numpy()
        out["P_sign_m_eq_sign_w"] = float((np.sign(m) == np.sign(w)).mean())
    model.train()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300, help="fine-tuning wall time per arm")
    ap.add_argument("--n-per-T", type=int, default=256)
    ap.add_argument("--n-eval", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-4, help="both networks (paper 1e-4, Supp. A.2)")
    ap.add_argument("--global-channels", type=int, default=1)
    ap.add_argument("--arms", default="local,global", help="which fine-tuning arms to run (comma-separated)")
    ap.add_argument("--ckpt", default=None, help="only measure this training checkpoint (e.g. a global run's "
                    "last.ckpt: P(sign m = sign w) near 0.5 means the global channel is unused), no fine-tuning")
    ap.add_argument("--out", default="runs/rugan/global-smoke/result.json")
    a = ap.parse_args()
    t_start = time.perf_counter()
    base = zoo.load_pretrained(NAME)
    temps = base.hparams.train_temperatures
    data = None if a.ckpt else training_data(temps, a.n_per_T, "global-smoke")
    evals = [(64, 1.5), (64, 1.75), (64, 3.0), (16, 1.5), (16, 3.0)]
    mc = {(L, T): W.thermal_samples(L, T, a.n_eval, n_chains=8, n_equil=100, every=4, seed=f"global-smoke/mc/{L}/{T}")
          for L, T in evals}
    result = {"name": NAME, "args": vars(a), "load_avg": os.getloadavg(), "threads": torch.get_num_threads(),
              "arms": {}}
    if a.ckpt:
        model = RUGAN.load_from_checkpoint(a.ckpt, map_location="cpu", weights_only=True)
        result["arms"][a.ckpt] = {"generator_steps": int(model.generator_steps),
                                  "eval": [measure(model, L, T, mc[L, T], a.n_eval, 1) for L, T in evals]}
    else:
        result["arms"]["published"] = {"eval": [measure(base, L, T, mc[L, T], a.n_eval, 1) for L, T in evals]}
    for arm in [] if a.ckpt else a.arms.split(","):
        model = zoo.load_pretrained(NAME) if arm == "local" else with_global_channel(base, a.global_channels)
        model.card = None
        train = fine_tune(model, data, a.seconds, seed=0, lr=a.lr)
        result["arms"][arm] = {"train": train, "eval": [measure(model, L, T, mc[L, T], a.n_eval, 1) for L, T in evals]}
        if arm == "global":  # how far the global channel's input weights grew from 0 (vs a local channel's)
            w, C = model.generator.inp.weight.detach(), model.hparams.latent_channels
            result["arms"][arm]["global_input_weight_norm"] = float(w[:, C:-1].norm())
            result["arms"][arm]["local_input_weight_norm_per_channel"] = float(w[:, :C].norm() / C ** 0.5)
        print(json.dumps({arm: result["arms"][arm]}, indent=1), flush=True)
    result["total_seconds"] = time.perf_counter() - t_start
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    for arm, r in result["arms"].items():
        for row in r["eval"]:
            print(f"{arm[-24:]:9s} L={row['L']:3d} T={row['T']:.2f}  |m| {row['m_gan']:.3f} (MC {row['m_mc']:.3f})  "
                  f"e {row['e_gan']:.3f} (MC {row['e_mc']:.3f})  frac|m|>0.8 {row['frac_m_gt_0.8_gan']:.2f} "
                  f"(MC {row['frac_m_gt_0.8_mc']:.2f})  P(sign m = sign w) {row.get('P_sign_m_eq_sign_w', '-')}")


if __name__ == "__main__":
    main()
