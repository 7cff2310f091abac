"""The mode-collapse phase transition of the particle GAN (Durr thesis sections 2.4-2.5, L1270-1363, app. 2.7.2).

An ensemble of particle GANs that differ only in r = g2/g1 is run as ONE batched computation: the
critics' parameters carry a leading run dimension and their gradients are written by hand
(batched matmuls, no autograd), so R runs cost about one run's Python overhead.  Critics:

* 'relu' / 'tanh': D(x) = sum_i a_i sigma(w_i . x + b_i), one hidden layer, no output bias (eq. 2.46),
  initialized w ~ N(0, 1), a ~ N(0, 2/width), b ~ N(0, 9) (L1311), loss
  L = <D>_data - <D>_gen - (1/width) (|w|^2 + |a|^2 + |b|^2) (L1317; i.e. l2 = 2/width).
* 'fourier-pow' / 'fourier-exp': D(x) = sum_k w1_k sin(k.x) + w2_k cos(k.x), gradient scaled by gamma(k)
  (appendix 2.7.2, eqs. 2.49-2.52).

NTK normalization of section 2.4: g1 + g2 (N - 1) = N (L1286).  Every run of an ensemble sees the
same data batches and starts from the same critic and cloud (common random numbers: differences
between runs come from r alone).  `sweep` loops over n_disc (each slice one ensemble over r) and
`fit_boundary` does the per-slice sigmoid fit and the straight-line fit of the half-way points.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from datamodules.gaussians import mode_collapse_metric, nearest_mode, ring_modes, sample_ring

from .ntk_gan import apply_kernel, fourier_gamma, fourier_wavevectors, ntk_weights

CRITICS = ("relu", "tanh", "fourier-pow", "fourier-exp")


def _init_critic(critic: str, R: int, width: int, gen: torch.Generator, dtype, n_k: int = 25) -> dict:
    if critic in ("relu", "tanh"):
        W = torch.randn(width, 2, generator=gen, dtype=dtype)
        b = 3.0 * torch.randn(width, generator=gen, dtype=dtype)
        a = math.sqrt(2.0 / width) * torch.randn(width, generator=gen, dtype=dtype)
        return {"W": W.expand(R, -1, -1).clone(), "b": b.expand(R, -1).clone(), "a": a.expand(R, -1).clone()}
    k = fourier_wavevectors(n_k).to(dtype)
    return {"ws": torch.zeros(R, len(k), dtype=dtype), "wc": torch.zeros(R, len(k), dtype=dtype), "k": k,
            "gamma": fourier_gamma(k, critic.split("-")[1]).to(dtype)}


def critic_value(critic: str, p: dict, x: torch.Tensor) -> torch.Tensor:
    """D(x) for x (R, M, 2) -> (R, M) (reference / figures)."""
    if critic in ("relu", "tanh"):
        pre = torch.baddbmm(p["b"].unsqueeze(1), x, p["W"].transpose(1, 2))
        h = pre.clamp_min(0) if critic == "relu" else torch.tanh(pre)
        return (h * p["a"].unsqueeze(1)).sum(-1)
    ph = x @ p["k"].T
    return (torch.sin(ph) * p["ws"].unsqueeze(1)).sum(-1) + (torch.cos(ph) * p["wc"].unsqueeze(1)).sum(-1)


def critic_step(critic: str, p: dict, real: torch.Tensor, fake: torch.Tensor, lr: torch.Tensor, l2: float) -> None:
    """One SGD ascent step of L = <D>_real - <D>_fake - (l2/2)|phi|^2 for every run, in place.

    real (B, 2) is shared by the runs, fake (R, N, 2); lr (R,) may differ per run.
    """
    R, N = fake.shape[:2]
    B = real.shape[0]
    x = torch.cat([real.unsqueeze(0).expand(R, -1, -1), fake], dim=1)  # (R, B+N, 2)
    s = torch.cat([real.new_full((B,), 1.0 / B), real.new_full((N,), -1.0 / N)])
    lr = lr.reshape(R, *([1] * 1))
    if critic in ("relu", "tanh"):
        W, b, a = p["W"], p["b"], p["a"]
        pre = torch.baddbmm(b.unsqueeze(1), x, W.transpose(1, 2))  # (R, M, H)
        # Every gradient is a weighted sum over the M points of sigma(pre) or sigma'(pre) (times 1, x1, x2), so
        # one (R, 4, M) x (R, M, H) product gives them all and the (R, M, H) tensor is touched ~3 times, not ~10.
        sx = torch.cat([s.expand(R, 1, -1), (s[None, :, None] * x).transpose(1, 2)], dim=1)  # (R, 3, M)
        if critic == "relu":
            dh = (pre > 0).to(pre.dtype)
            S = torch.bmm(sx, dh)  # (R, 3, H): s.dh, (s x1).dh, (s x2).dh
            # relu(pre) = pre * dh and pre = w.x + b, so s.h = b (s.dh) + w1 (s x1).dh + w2 (s x2).dh
            sh = b * S[:, 0] + W[..., 0] * S[:, 1] + W[..., 1] * S[:, 2]
        else:
            h = torch.tanh(pre)
            S = torch.bmm(sx, torch.addcmul(torch.ones_like(h), h, h, value=-1.0))
            sh = torch.matmul(s, h)
        g_a = sh - l2 * a
        g_b = a * S[:, 0] - l2 * b
        g_W = a.unsqueeze(-1) * S[:, 1:].transpose(1, 2) - l2 * W
        a.add_(lr * g_a)
        b.add_(lr * g_b)
        W.add_(lr.unsqueeze(-1) * g_W)
    else:
        ph = x @ p["k"].T  # (R, M, K)
        g_s = torch.matmul(s, torch.sin(ph)) - l2 * p["ws"]
        g_c = torch.matmul(s, torch.cos(ph)) - l2 * p["wc"]
        p["ws"].add_(lr * p["gamma"] * g_s)
        p["wc"].add_(lr * p["gamma"] * g_c)


def critic_grad_x(critic: str, p: dict, X: torch.Tensor) -> torch.Tensor:
    """grad_x D at X (R, N, 2) -> (R, N, 2)."""
    if critic in ("relu", "tanh"):
        pre = torch.baddbmm(p["b"].unsqueeze(1), X, p["W"].transpose(1, 2))
        dh = (pre > 0).to(pre.dtype) if critic == "relu" else 1 - torch.tanh(pre) ** 2
        return torch.bmm(dh * p["a"].unsqueeze(1), p["W"])
    ph = X @ p["k"].T
    coef = torch.cos(ph) * p["ws"].unsqueeze(1) - torch.sin(ph) * p["wc"].unsqueeze(1)
    return coef @ p["k"]


def _mc(X: torch.Tensor, modes: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    mcs, counts = [], []
    for x in X:
        idx, _ = nearest_mode(x, modes)
        c = torch.bincount(idx, minlength=len(modes))
        counts.append(c.numpy())
        mcs.append(float(mode_collapse_metric(c)))
    return np.array(mcs), np.array(counts)


def run_ensemble(ratios, n_disc: int, steps: int, critic: str = "relu", n_particles: int = 200, width: int = 2048,
                 lr_d: float = 3e-3, lr_g: float = 1e-4, l2: float | None = None, init_std: float = 0.1,
                 n_modes: int = 8, radius: float = 2.0, std: float = 0.02, batch_size: int | None = None,
                 seed: int = 0, record_every: int = 0, dtype=torch.float32, ntk_norm: str = "sum_to_N") -> dict:
    """R = len(ratios) particle GANs at r = g2/g1 in `ratios`, n_disc critic steps per particle step,
    `steps` particle steps, run as one batched ensemble.

    Returns final MC (R,), per-mode counts (R, K), the final clouds (R, N, 2) and, if record_every,
    the MC trajectory (n_rec, R).  l2 defaults to 2/width (section 2.4's (1/width) sum phi^2).
    """
    if critic not in CRITICS:
        raise ValueError(f"critic must be one of {CRITICS}; got {critic!r}")
    if n_disc < 1 or steps < 1:
        raise ValueError(f"n_disc and steps must be >= 1; got {n_disc}, {steps}")
    ratios = np.atleast_1d(np.asarray(ratios, float))
    R, N = len(ratios), n_particles
    B = batch_size or N
    l2 = 2.0 / width if l2 is None else l2
    gw = [ntk_weights(N, float(r), ntk_norm) for r in ratios]
    g1 = torch.tensor([g[0] for g in gw], dtype=dtype)
    g2 = torch.tensor([g[1] for g in gw], dtype=dtype)
    gen = torch.Generator().manual_seed(seed)
    p = _init_critic(critic, R, width, gen, dtype)
    modes_np = ring_modes(n_modes, radius)
    modes = torch.as_tensor(modes_np, dtype=dtype)
    X = (modes[1 % n_modes] + init_std * torch.randn(N, 2, generator=gen, dtype=dtype)).expand(R, -1, -1).clone()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2024]))
    lr_vec = torch.full((R,), lr_d, dtype=dtype)
    rec_steps, rec_mc = [], []
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        for _ in range(n_disc):
            real = torch.as_tensor(sample_ring(B, rng, n_modes, radius, std), dtype=dtype)
            critic_step(critic, p, real, X, lr_vec, l2)
        v = apply_kernel(critic_grad_x(critic, p, X), g1, g2)
        X.add_(lr_g * v)
        if not torch.isfinite(X).all():
            bad = ~torch.isfinite(X).reshape(R, -1).all(1)
            X[bad] = float("nan")
        if record_every and (step % record_every == 0 or step == steps):
            rec_steps.append(step)
            rec_mc.append(_mc(torch.nan_to_num(X, nan=1e6), modes)[0])
    mc, counts = _mc(torch.nan_to_num(X, nan=1e6), modes)
    diverged = ~torch.isfinite(X).reshape(R, -1).all(1).numpy()
    mc[diverged] = np.nan
    return {"ratios": ratios, "n_disc": n_disc, "steps": steps, "mc": mc, "counts": counts, "particles": X.numpy(),
            "diverged": diverged, "record_steps": np.array(rec_steps), "record_mc": np.array(rec_mc),
            "wall_s": time.perf_counter() - t0}


def sweep(ratios, n_discs, steps: int, critic: str = "relu", progress: bool = True, **kw) -> dict:
    """MC on the grid n_discs x ratios: one batched ensemble over `ratios` per n_disc (a call a user can
    make with their own grid).  Returns {'ratios', 'n_discs', 'mc' (n_disc, R), 'counts', 'wall_s', ...}."""
    ratios = np.asarray(ratios, float)
    n_discs = [int(n) for n in n_discs]
    mc = np.full((len(n_discs), len(ratios)), np.nan)
    counts = np.zeros((len(n_discs), len(ratios), kw.get("n_modes", 8)), dtype=np.int64)
    walls = []
    for i, nd in enumerate(n_discs):
        r = run_ensemble(ratios, nd, steps, critic=critic, **kw)
        mc[i], counts[i] = r["mc"], r["counts"]
        walls.append(r["wall_s"])
        if progress:
            print(f"[{critic}] n_disc={nd}: {r['wall_s']:.0f}s  MC={np.round(r['mc'], 2).tolist()}", flush=True)
    return {"critic": critic, "ratios": ratios, "n_discs": np.array(n_discs), "steps": steps, "mc": mc,
            "counts": counts, "wall_s": np.array(walls), "settings": {k: v for k, v in kw.items() if k != "dtype"}}


def _sigmoid(x, lo, hi, x0, w):
    return lo + (hi - lo) / (1 + np.exp(-(x - x0) / w))


def fit_boundary(ratios, n_discs, mc, log_r: bool = True, mc_max: float = math.log(8)) -> dict:
    """Per n_disc slice, fit MC = lo + (hi - lo) sigmoid((x - x0)/w) with x = log r (log_r) or r; the
    half-way point x0 gives r*(n_disc).  Then fit log n_disc = slope * x0 + intercept (a straight line in
    log-log for ReLU, in log-linear for tanh).  Slices without a transition (MC never crosses mc_max/2)
    are skipped.  Returns r_star (per slice, NaN when skipped), slope, intercept, r2."""
    from scipy.optimize import curve_fit

    ratios, n_discs, mc = np.asarray(ratios, float), np.asarray(n_discs, float), np.asarray(mc, float)
    x = np.log(ratios) if log_r else ratios
    half = mc_max / 2
    r_star = np.full(len(n_discs), np.nan)
    for i, row in enumerate(mc):
        ok = np.isfinite(row)
        if ok.sum() < 4 or not (np.nanmin(row) < half < np.nanmax(row)):
            continue
        xs, ys = x[ok], row[ok]
        j = int(np.argmax(ys > half))
        x0 = xs[j] if j > 0 else xs[0]
        try:
            (lo, hi, c, w), _ = curve_fit(_sigmoid, xs, ys, p0=(0.0, mc_max, x0, 0.1 * np.ptp(xs) + 1e-9),
                                          bounds=([-0.5, 0.0, xs.min() - 1, 1e-6], [mc_max, 2 * mc_max,
                                                                                     xs.max() + 1, 10 * np.ptp(xs)]),
                                          maxfev=20000)
        except (RuntimeError, ValueError):
            c = x0
        if xs.min() <= c <= xs.max():
            r_star[i] = math.exp(c) if log_r else c
    ok = np.isfinite(r_star)
    out = {"r_star": r_star, "slope": np.nan, "intercept": np.nan, "r2": np.nan, "n_points": int(ok.sum()),
           "axes": "log n_disc vs log r" if log_r else "log n_disc vs r"}
    if ok.sum() >= 2:
        xx = np.log(r_star[ok]) if log_r else r_star[ok]
        yy = np.log(n_discs[ok])
        slope, intercept = np.polyfit(xx, yy, 1)
        pred = slope * xx + intercept
        ss = np.sum((yy - yy.mean()) ** 2)
        out.update(slope=float(slope), intercept=float(intercept),
                   r2=float(1 - np.sum((yy - pred) ** 2) / ss) if ss > 0 else np.nan)
    return out


def phase_diagram(ratios=None, n_discs=(1, 2, 4, 8, 16), steps: int = 1000, critic: str = "relu", **kw) -> dict:
    """One call: sweep + boundary fit (log-log for ReLU / Fourier-pow, log-linear for tanh / Fourier-exp)."""
    log_r = critic in ("relu", "fourier-pow")
    if ratios is None:
        ratios = np.logspace(-2, 0, 13) if log_r else np.linspace(0.01, 1, 13)
    res = sweep(ratios, n_discs, steps, critic=critic, **kw)
    res["boundary"] = fit_boundary(res["ratios"], res["n_discs"], res["mc"], log_r=log_r)
    return res
