"""Why is the trivial-NTK particle GAN's mean nearest-mode distance 0.037 and not the paper's 0.02?

Durr, Tu, Mroueh & Wang, "A Phase Transition in Model GAN Dynamics" (in preparation, no arXiv id; Ch. 2 of S. Durr,
PhD thesis, UCLA 2022), Sec. 2.3.1 (thesis L1202-1224): g1 = N = 2000, g2 = 0; "an average distance of 0.02" (L1212).

    OMP_NUM_THREADS=1 python benchmarks/probe_ntk_gan_trivial.py --steps 400 --every 25

Loads the published `ntk_gan/8gauss-trivial` (particles + critic after 1000 generator steps) and continues Algorithm 2
with the card's own settings (plain SGD, alpha_D, alpha_G, n_disc, lambda, a data batch of N) for --steps more generator
steps, recording the distance split into its parts: the floor a perfect sample of the target itself has (Rayleigh mean
std sqrt(pi/2) = 0.0251 for std 0.02), the per-mode offset of the particle clumps from the mode centres, their spread,
and the stragglers (particles farther than --far from every mode).  The plain SGD optimizer has no state, so continuing
from the published weights is the same dynamics as a longer run (only the data stream differs: fresh samples from
--seed).  --fresh trains from the initial state instead (critic overrides: --width, --depth, --init, --l2); --ckpt
measures (and continues) a zoo fit's checkpoint.  Writes benchmarks/results/ntk_gan_trivial_probe.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from datamodules.gaussians import nearest_mode, sample_ring  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "results", "ntk_gan_trivial_probe.json")


def decompose(x: torch.Tensor, modes: torch.Tensor, far: float) -> dict:
    """Mean nearest-mode distance and its parts for a cloud x (N, 2)."""
    idx, d = nearest_mode(x, modes)
    near = d <= far
    offs, spread = [], []
    for k in range(len(modes)):
        sel = near & (idx == k)
        if sel.sum() > 1:
            dx = x[sel] - modes[k]
            offs.append(float(dx.mean(0).norm()))
            spread.append(float(dx.std(0).norm() / math.sqrt(2)))
    return {"mean_dist": float(d.mean()), "median_dist": float(d.median()), "frac_far": float((~near).float().mean()),
            "far_contribution": float(d[~near].sum() / len(d)), "mean_dist_near": float(d[near].mean()),
            "mean_mode_offset": float(np.mean(offs)), "max_mode_offset": float(np.max(offs)),
            "mean_clump_std": float(np.mean(spread))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", default="ntk_gan/8gauss-trivial")
    ap.add_argument("--steps", type=int, default=400, help="extra generator steps")
    ap.add_argument("--every", type=int, default=25)
    ap.add_argument("--far", type=float, default=0.1, help="straggler threshold (distance to the nearest mode)")
    ap.add_argument("--lr-g", type=float, default=None, help="override alpha_G (default: the card's)")
    ap.add_argument("--l2", type=float, default=None, help="override lambda (default: the card's)")
    ap.add_argument("--fresh", action="store_true",
                    help="train from the card's initial state (its init_args, overridden by --l2/--depth/--width) "
                         "instead of continuing the published weights")
    ap.add_argument("--ckpt", default=None, help="start from this Lightning checkpoint of a zoo fit (read with "
                    "weights_only=True) instead of the published weights; --steps 0 only measures it")
    ap.add_argument("--depth", type=int, default=None)
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--init", default=None, help="critic init: torch_default or thesis24 (Sec. 2.4.1's)")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--tag", default="continue")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    import zoo

    m = zoo.load_pretrained(a.name)
    if a.fresh:
        from zoo.ntk_gan import ParticleGAN

        kw = dict(m.hparams)
        over = (("l2", a.l2), ("disc_depth", a.depth), ("disc_width", a.width), ("disc_init", a.init))
        kw.update({k: v for k, v in over if v is not None})
        m = ParticleGAN(**kw)
        m.configure_models()
    elif a.ckpt:
        from zoo.ntk_gan import ParticleGAN

        ck = torch.load(a.ckpt, map_location="cpu", weights_only=True)
        m = ParticleGAN(**{k: v for k, v in ck["hyper_parameters"].items() if not k.startswith("_")})
        m.configure_models()
        m.load_state_dict(ck["state_dict"])
    if a.l2 is not None and not a.fresh:
        m.hparams.l2 = a.l2
    hp = m.hparams
    lr_g = hp.lr_g if a.lr_g is None else a.lr_g
    modes = m.modes
    opt = torch.optim.SGD(m.discriminator.parameters(), lr=hp.lr_d)
    rng = np.random.default_rng(a.seed)
    floor = 0.02 * math.sqrt(math.pi / 2)
    rows = [{"step": int(m.gen_steps), **decompose(m.particles.detach(), modes, a.far), "wall_s": 0.0}]
    print(rows[-1], flush=True)
    t0 = time.perf_counter()
    for s in range(1, a.steps + 1):
        for _ in range(hp.n_disc):
            real = torch.as_tensor(sample_ring(hp.n_particles, rng, hp.n_modes, hp.radius, 0.02))
            obj = m.critic_objective(real, m.particles.detach())
            opt.zero_grad()
            (-obj).backward()
            opt.step()
        with torch.no_grad():
            v = m.particle_velocity()
            if not torch.isfinite(v).all():
                rows.append({"step": int(m.gen_steps) + s, "diverged": True})
                print(rows[-1], flush=True)
                break
            m.particles.add_(lr_g * v)
        if s % a.every == 0 or s == a.steps:
            rows.append({"step": int(m.gen_steps) + s, **decompose(m.particles.detach(), modes, a.far),
                         "wall_s": time.perf_counter() - t0})
            print(rows[-1], flush=True)
    res = {"name": a.name, "tag": a.tag, "extra_steps": a.steps, "lr_g": lr_g, "lr_d": hp.lr_d, "n_disc": hp.n_disc,
           "l2": hp.l2, "fresh": a.fresh, "ckpt": a.ckpt, "disc_depth": hp.disc_depth, "disc_width": hp.disc_width,
           "disc_init": hp.disc_init, "far": a.far, "seed": a.seed, "target_floor": floor, "rows": rows,
           "load_avg": os.getloadavg()[0]}
    old = json.load(open(OUT)) if os.path.exists(OUT) else []
    old = [r for r in old if r.get("tag") != a.tag] + [res]
    with open(OUT, "w") as f:
        json.dump(old, f, indent=1)
    return res


if __name__ == "__main__":
    main()
