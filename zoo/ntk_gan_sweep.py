"""The mode-collapse phase transition of the particle GAN: Durr, Tu, Mroueh & Wang, "A Phase Transition in Model GAN
Dynamics" (in preparation, no arXiv id; Ch. 2 of S. Durr, PhD thesis, UCLA 2022), Secs. 2.4-2.5 (thesis L1270-1363)
and App. 2.7.2.

An ensemble of particle GANs that differ only in r = g2/g1 can run as ONE batched computation: the
critics' parameters carry a leading run dimension and their gradients are written by hand
(batched matmuls, no autograd), so R runs cost about one run's Python overhead.  Critics:

* 'relu' / 'tanh': D(x) = sum_i a_i sigma(w_i . x + b_i), one hidden layer, no output bias (eq. 2.46),
  initialized w ~ N(0, 1), a ~ N(0, 2/width), b ~ N(0, 9) (Sec. 2.4.1; thesis L1311), loss
  L = <D>_data - <D>_gen - (1/width) (|w|^2 + |a|^2 + |b|^2) (Sec. 2.4.1, thesis L1317; i.e. l2 = 2/width).
* 'fourier-pow' / 'fourier-exp': D(x) = sum_k w1_k sin(k.x) + w2_k cos(k.x), gradient scaled by gamma(k)
  (appendix 2.7.2, eqs. 2.49-2.52).

NTK normalization of Sec. 2.4.1: g1 + g2 (N - 1) = N (thesis L1286).  Every run of an ensemble sees the
same data batches and starts from the same critic and cloud (common random numbers: differences
between runs come from r alone), so a run's result does not depend on which other runs share its
ensemble: a cell (r, n_disc) run alone (R = 1) is the same run as inside a batched slice (up to the
floating-point order of the batched matmuls).

`sweep` has two execution modes:

* 'batched': one ensemble over the r values per n_disc slice (best on a GPU: one kernel per op for all runs);
* 'processes': every cell (or a chunk of `chunk` r values of one slice) is its own run, spread over a pool of
  `workers` processes with one thread each, longest cells first.  On CPU this is the fast mode: one thread runs
  R = 1 faster than a batched R = 13 ensemble (benchmarks/results/ntk_gan_sweep_perf.json).

Both report the same cells, can skip cells already done (`done=`, for resuming) and call `on_cell` as each
finishes (the reproduce script rewrites its JSON there).  `rank` / `world_size` run one share of the jobs (for
torchrun: every rank deals the same job list round-robin, so a cell is run by exactly one rank, as the same run
a single process would make).  Order parameter: every run returns the final
MC (`mc`, eq. 2.45 after the last step, what the first published sweep-relu table holds) and `mc_avg`, the
mean of MC over the last `avg_frac` (default 10%) of the particle steps, which is less noisy for clouds
that hop between modes; `phase_diagram`/`fit_boundary` callers choose with order_param='avg' (default) or
'final'.  `fit_boundary` does the per-slice sigmoid fit and the straight-line fit of the half-way points.
"""
from __future__ import annotations

import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import torch

from datamodules.gaussians import mode_collapse_metric, nearest_mode, ring_modes, sample_ring

from .ntk_gan import apply_kernel, fourier_gamma, fourier_wavevectors, ntk_weights

CRITICS = ("relu", "tanh", "fourier-pow", "fourier-exp")
MODES = ("batched", "processes")
ORDER_PARAMS = ("avg", "final")

# Our calibrated plain-SGD rates and step budgets per critic (ours: the thesis does not report the Sec. 2.4.1 /
# App. 2.7.2 rates): chosen with benchmarks/calibrate_ntk_gan_sweep.py at n_disc = 6, seed 0, width
# 2048 (evidence: benchmarks/results/ntk_gan_calibration.json; criterion: r = 0 converges (MC -> ~0) inside the
# step budget).  Steps: the thesis's figure captions (Figs. 2.14, 2.21: 3000 ReLU / Fourier-pow; Figs. 2.16, 2.22:
# 2000 tanh / Fourier-exp) except ReLU, where r = 0 needs 4000 at alpha_G = 3e-5.  l2 stays Sec. 2.4.1's 2/width
# (= 9.8e-4 at width 2048, close to the lambda = 1e-3 we use for the Sec. 2.3 critic; ours for the Fourier critic).
# The Fourier boundaries' slopes depend on alpha_D (issue 17, reports/ntk_gan.md): the exponential one reproduces the
# thesis's 1.86 at alpha_D = 0.1, not at 1e-2; the power-law one is 3.8 at 1e-2, 7.1 at 3e-2 and vertical at 0.1.
CALIBRATED = {
    "relu": {"lr_d": 3e-3, "lr_g": 3e-5, "steps": 4000},
    "tanh": {"lr_d": 3e-3, "lr_g": 6e-5, "steps": 2000},
    "fourier-pow": {"lr_d": 1e-2, "lr_g": 1e-5, "steps": 3000},
    "fourier-exp": {"lr_d": 1e-2, "lr_g": 1e-5, "steps": 2000},
}


def _init_critic(critic: str, R: int, width: int, gen: torch.Generator, dtype, n_k: int = 25) -> dict:
    if critic in ("relu", "tanh"):
        W = torch.randn(width, 2, generator=gen, dtype=dtype)
        b = 3.0 * torch.randn(width, generator=gen, dtype=dtype)
        a = math.sqrt(2.0 / width) * torch.randn(width, generator=gen, dtype=dtype)
        return {"W": W.expand(R, -1, -1).clone(), "b": b.expand(R, -1).clone(), "a": a.expand(R, -1).clone()}
    k = fourier_wavevectors(n_k).to(dtype)
    # the wave vectors are the product grid axis x axis (k index = i * 2 n_k + j): `_axis` lets the critic use
    # separable trig tables, sin(k1 x1 + k2 x2) = sin k1x1 cos k2x2 + cos k1x1 sin k2x2 (ours: for speed)
    return {"ws": torch.zeros(R, len(k), dtype=dtype), "wc": torch.zeros(R, len(k), dtype=dtype), "k": k,
            "gamma": fourier_gamma(k, critic.split("-")[1]).to(dtype)}


def _axis(k: torch.Tensor) -> torch.Tensor:
    """The per-axis values of a product grid of wave vectors k (n^2, 2) with k1 the slow index."""
    n = int(round(math.sqrt(len(k))))
    if n * n != len(k):
        raise ValueError(f"the Fourier critic needs a square product grid of wave vectors; got {len(k)}")
    return k[::n, 0]


def _trig(x: torch.Tensor, axis: torch.Tensor):
    """sin/cos of k x for the n axis values, for both coordinates of x (R, M, 2): four (R, M, n) tensors."""
    p1, p2 = x[..., :1] * axis, x[..., 1:] * axis
    return torch.sin(p1), torch.cos(p1), torch.sin(p2), torch.cos(p2)


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
        # sum_m s_m sin(k.x_m) = [S1^T diag(s) C2 + C1^T diag(s) S2]_(i,j): one (2n x M) (M x 2n) product per run
        # instead of sin/cos of the (M, n^2) phase table
        ax = _axis(p["k"])
        n = len(ax)
        S1, C1, S2, C2 = _trig(x, ax)
        sv = s[None, :, None]
        G = torch.bmm(torch.cat([sv * S1, sv * C1], -1).transpose(1, 2), torch.cat([C2, S2], -1))  # (R, 2n, 2n)
        g_s = (G[:, :n, :n] + G[:, n:, n:]).reshape(R, -1) - l2 * p["ws"]
        g_c = (G[:, n:, :n] - G[:, :n, n:]).reshape(R, -1) - l2 * p["wc"]
        p["ws"].add_(lr * p["gamma"] * g_s)
        p["wc"].add_(lr * p["gamma"] * g_c)


def critic_grad_x(critic: str, p: dict, X: torch.Tensor) -> torch.Tensor:
    """grad_x D at X (R, N, 2) -> (R, N, 2)."""
    if critic in ("relu", "tanh"):
        pre = torch.baddbmm(p["b"].unsqueeze(1), X, p["W"].transpose(1, 2))
        dh = (pre > 0).to(pre.dtype) if critic == "relu" else 1 - torch.tanh(pre) ** 2
        return torch.bmm(dh * p["a"].unsqueeze(1), p["W"])
    ax = _axis(p["k"])
    n, R = len(ax), X.shape[0]
    S1, C1, S2, C2 = _trig(X, ax)
    W = torch.cat([p["ws"].reshape(R, n, n), p["wc"].reshape(R, n, n)], -1)  # (R, n, 2n): [Ws | Wc]
    # d/dx1 sum_ij k1_i [Ws (C1 C2 - S1 S2) - Wc (S1 C2 + C1 S2)]_ij, and d/dx2 with k2_j on the right factor
    cw, sw = torch.bmm(C1, W), torch.bmm(S1, W)  # (R, N, 2n): [C1 Ws | C1 Wc], [S1 Ws | S1 Wc]
    kcw, ksw = torch.bmm(C1 * ax, W), torch.bmm(S1 * ax, W)
    d1 = ((kcw[..., :n] - ksw[..., n:]) * C2 - (ksw[..., :n] + kcw[..., n:]) * S2).sum(-1)
    d2 = ((cw[..., :n] - sw[..., n:]) * (C2 * ax) - (sw[..., :n] + cw[..., n:]) * (S2 * ax)).sum(-1)
    return torch.stack([d1, d2], -1)


def _mc(X: torch.Tensor, modes: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """MC (eq. 2.45) and nearest-mode counts of each cloud in X (R, N, 2), vectorized over the runs."""
    idx, _ = nearest_mode(X, modes)  # (R, N)
    counts = torch.zeros(X.shape[0], len(modes), dtype=torch.int64, device=X.device)
    counts.scatter_add_(1, idx, torch.ones_like(idx))
    return mode_collapse_metric(counts).cpu().numpy(), counts.cpu().numpy()


def run_ensemble(ratios, n_disc: int, steps: int, critic: str = "relu", n_particles: int = 200, width: int = 2048,
                 lr_d: float = 3e-3, lr_g: float = 1e-4, l2: float | None = None, init_std: float = 0.1,
                 n_modes: int = 8, radius: float = 2.0, std: float = 0.02, batch_size: int | None = None,
                 seed: int = 0, record_every: int = 0, dtype=torch.float32, ntk_norm: str = "sum_to_N",
                 avg_frac: float = 0.1, device=None) -> dict:
    """R = len(ratios) particle GANs at r = g2/g1 in `ratios`, n_disc critic steps per particle step,
    `steps` particle steps, run as one batched ensemble (R = 1: a single run).

    Returns final MC `mc` (R,), `mc_avg` (R,) = MC averaged over the last ceil(avg_frac * steps) particle
    steps (every step in that window is measured; avg_frac = 0 gives the final MC), per-mode counts (R, K),
    the final clouds (R, N, 2) and, if record_every, the MC trajectory (n_rec, R).  l2 defaults to 2/width
    (section 2.4's (1/width) sum phi^2).  Random numbers are drawn on the CPU whatever `device`, so a run is
    the same on every device and whatever R.
    """
    if critic not in CRITICS:
        raise ValueError(f"critic must be one of {CRITICS}; got {critic!r}")
    if n_disc < 1 or steps < 1:
        raise ValueError(f"n_disc and steps must be >= 1; got {n_disc}, {steps}")
    if not 0 <= avg_frac <= 1:
        raise ValueError(f"avg_frac must be in [0, 1]; got {avg_frac}")
    ratios = np.atleast_1d(np.asarray(ratios, float))
    R, N = len(ratios), n_particles
    B = batch_size or N
    l2 = 2.0 / width if l2 is None else l2
    device = torch.device(device) if device is not None else torch.device("cpu")
    gw = [ntk_weights(N, float(r), ntk_norm) for r in ratios]
    g1 = torch.tensor([g[0] for g in gw], dtype=dtype, device=device)
    g2 = torch.tensor([g[1] for g in gw], dtype=dtype, device=device)
    gen = torch.Generator().manual_seed(seed)
    p = {k: v.to(device) for k, v in _init_critic(critic, R, width, gen, dtype).items()}
    modes_np = ring_modes(n_modes, radius)
    modes = torch.as_tensor(modes_np, dtype=dtype, device=device)
    X0 = modes[1 % n_modes].cpu() + init_std * torch.randn(N, 2, generator=gen, dtype=dtype)
    X = X0.to(device).expand(R, -1, -1).clone()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2024]))
    lr_vec = torch.full((R,), lr_d, dtype=dtype, device=device)
    rec_steps, rec_mc = [], []
    n_avg = math.ceil(avg_frac * steps)
    mc_sum = np.zeros(R)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        for _ in range(n_disc):
            real = torch.as_tensor(sample_ring(B, rng, n_modes, radius, std), dtype=dtype, device=device)
            critic_step(critic, p, real, X, lr_vec, l2)
        v = apply_kernel(critic_grad_x(critic, p, X), g1, g2)
        X.add_(lr_g * v)
        if not torch.isfinite(X).all():
            bad = ~torch.isfinite(X).reshape(R, -1).all(1)
            X[bad] = float("nan")
        rec = record_every and (step % record_every == 0 or step == steps)
        if rec or step > steps - n_avg:
            m = _mc(torch.nan_to_num(X, nan=1e6), modes)[0]
            if step > steps - n_avg:
                mc_sum += m
            if rec:
                rec_steps.append(step)
                rec_mc.append(m)
    mc, counts = _mc(torch.nan_to_num(X, nan=1e6), modes)
    diverged = ~torch.isfinite(X).reshape(R, -1).all(1).cpu().numpy()
    mc[diverged] = np.nan
    mc_avg = mc_sum / n_avg if n_avg else mc.copy()
    mc_avg[diverged] = np.nan
    return {"ratios": ratios, "n_disc": n_disc, "steps": steps, "mc": mc, "mc_avg": mc_avg, "counts": counts,
            "particles": X.cpu().numpy(), "diverged": diverged, "record_steps": np.array(rec_steps),
            "record_mc": np.array(rec_mc), "wall_s": time.perf_counter() - t0}


# -- sweeps -----------------------------------------------------------------------------------------------------
def cell_key(n_disc, r) -> tuple[int, float]:
    """The key of a sweep cell: (n_disc, r rounded to 12 significant digits, so JSON round trips match)."""
    return int(n_disc), float(f"{float(r):.12g}")


def _cells_of(res: dict) -> list[dict]:
    out = []
    for i, r in enumerate(res["ratios"]):
        out.append({"n_disc": int(res["n_disc"]), "r": float(r), "mc": float(res["mc"][i]),
                    "mc_avg": float(res["mc_avg"][i]), "counts": res["counts"][i].tolist(),
                    "diverged": bool(res["diverged"][i]), "wall_s": res["wall_s"] / len(res["ratios"]),
                    "chunk": len(res["ratios"]), "pid": os.getpid()})
    return out


def _worker_init() -> None:
    torch.set_num_threads(1)


def _worker_run(critic: str, ratios: list, n_disc: int, steps: int, kw: dict) -> list[dict]:
    res = run_ensemble(ratios, n_disc, steps, critic=critic, **kw)
    return _cells_of(res)


def sweep(ratios, n_discs, steps: int, critic: str = "relu", progress: bool = True, mode: str = "batched",
          workers: int = 1, chunk: int = 1, done=None, on_cell=None, start_method: str | None = None,
          rank: int = 0, world_size: int = 1, **kw) -> dict:
    """MC on the grid n_discs x ratios (a call a user can make with their own grid).

    mode 'batched': one ensemble over the r values still to do, per n_disc slice (use on a GPU: device=...).
    mode 'processes': each cell (or chunks of `chunk` r values of one slice) is one run, spread over `workers`
    processes with one thread each (workers = 1 runs them here, one by one), longest first; start_method is the
    pool's multiprocessing start method (default fork where the platform has it, else spawn).
    done: finished cells (dicts with n_disc, r, mc, mc_avg, ...; e.g. from an interrupted sweep's JSON): they
    are not rerun.  on_cell(cell_dict) is called in this process as each cell finishes.
    rank, world_size: run only jobs[rank::world_size] of the longest-first job list (a slice per job in batched
    mode, a chunk in processes mode); every rank must pass the same `done`, so that all deal the same list.
    Returns {'ratios', 'n_discs', 'mc' (n_disc, R) final MC, 'mc_avg' (n_disc, R), 'counts', 'cells',
    'wall_s' (this call), ...}; cells never run (none here) are NaN.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if workers < 1 or chunk < 1:
        raise ValueError(f"workers and chunk must be >= 1; got {workers}, {chunk}")
    if not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size; got rank {rank}, world_size {world_size}")
    if mode == "processes" and str(kw.get("device") or "cpu") != "cpu":
        raise ValueError(f"mode 'processes' runs CPU workers; use mode='batched' for device={kw['device']!r}")
    ratios = np.asarray(ratios, float)
    n_discs = [int(n) for n in n_discs]
    cells = {cell_key(c["n_disc"], c["r"]): c for c in (done or [])}
    todo = {nd: [float(r) for r in ratios if cell_key(nd, r) not in cells] for nd in n_discs}
    t0 = time.perf_counter()
    tag = critic if world_size == 1 else f"{critic} rank {rank}/{world_size}"

    def finished(new: list[dict]) -> None:
        for c in new:
            cells[cell_key(c["n_disc"], c["r"])] = c
            if on_cell is not None:
                on_cell(c)
        if progress:
            print(f"[{tag}] n_disc={new[0]['n_disc']} r={[round(c['r'], 4) for c in new]}: "
                  f"MC={[round(c['mc'], 3) for c in new]} avg={[round(c['mc_avg'], 3) for c in new]} "
                  f"({sum(c['wall_s'] for c in new):.0f}s)", flush=True)

    step = max(len(ratios), 1) if mode == "batched" else chunk  # batched: a job is a whole slice's ensemble
    jobs = [(nd, todo[nd][i:i + step]) for nd in n_discs for i in range(0, len(todo[nd]), step)]
    # longest first (the pool's makespan is shortest; dealt round-robin it also balances the ranks); sort is stable,
    # so every rank builds the same list
    jobs = sorted(jobs, key=lambda j: -j[0] * len(j[1]))[rank::world_size]
    if mode == "batched":
        for nd, rs in jobs:
            finished(_cells_of(run_ensemble(rs, nd, steps, critic=critic, **kw)))
    else:
        if workers == 1:
            for nd, rs in jobs:
                finished(_worker_run(critic, rs, nd, steps, kw))
        else:
            import multiprocessing as mp

            # fork starts a worker in milliseconds (spawn re-imports torch: seconds to a minute on a loaded box);
            # each worker sets one thread before its first op, so no OpenMP pool crosses the fork
            method = start_method or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method),
                                     initializer=_worker_init) as pool:
                futs = [pool.submit(_worker_run, critic, rs, nd, steps, kw) for nd, rs in jobs]
                for f in as_completed(futs):
                    finished(f.result())
    K = kw.get("n_modes", 8)
    mc = np.full((len(n_discs), len(ratios)), np.nan)
    mc_avg = np.full_like(mc, np.nan)
    counts = np.zeros((len(n_discs), len(ratios), K), dtype=np.int64)
    for i, nd in enumerate(n_discs):
        for j, r in enumerate(ratios):
            c = cells.get(cell_key(nd, r))
            if c is not None:
                mc[i, j] = np.nan if c.get("mc") is None else c["mc"]
                mc_avg[i, j] = np.nan if c.get("mc_avg") is None else c["mc_avg"]
                if c.get("counts") is not None:
                    counts[i, j] = c["counts"]
    return {"critic": critic, "ratios": ratios, "n_discs": np.array(n_discs), "steps": steps, "mc": mc,
            "mc_avg": mc_avg, "counts": counts, "cells": [cells[k] for k in sorted(cells)],
            "wall_s": time.perf_counter() - t0, "mode": mode, "workers": workers,
            "settings": {k: v for k, v in kw.items() if k not in ("dtype", "device")}}


def _sigmoid(x, lo, hi, x0, w):
    with np.errstate(over="ignore"):  # exp -> inf far below x0 gives the correct limit lo
        return lo + (hi - lo) / (1 + np.exp(-(x - x0) / w))


HALFWAY = ("center", "level", "fixed")


def fit_boundary(ratios, n_discs, mc, log_r: bool = True, mc_max: float = math.log(8), halfway: str = "center") -> dict:
    """Per n_disc slice, fit MC = lo + (hi - lo) sigmoid((x - x0)/w) with x = log r (log_r) or r; the
    half-way point gives r*(n_disc).  Then fit log n_disc = slope * x* + intercept (a straight line in
    log-log for ReLU, in log-linear for tanh).  Slices without a transition (MC never crosses mc_max/2)
    are skipped.  Returns r_star (per slice, NaN when skipped), slope, intercept, r2.

    "The halfway points of these sigmoids" (Sec. 2.4.1, Figs. 2.15 and 2.17; thesis L1347, L1360) can be read
    three ways, all offered (`halfway`): 'center' (default, what every published card uses) x0, half-way between
    the fitted lo and hi; 'level' where the same fitted sigmoid crosses mc_max/2 (half-way between convergence, 0,
    and total collapse, log 8); 'fixed' x0 of a sigmoid pinned to lo = 0, hi = mc_max (two parameters).  They
    differ where a slice's plateaus are not 0 and log 8 (e.g. a slice that never fully converges)."""
    from scipy.optimize import curve_fit

    if halfway not in HALFWAY:
        raise ValueError(f"halfway must be one of {HALFWAY}; got {halfway!r}")
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
        w0, wmax = 0.1 * np.ptp(xs) + 1e-9, 10 * np.ptp(xs)
        try:
            if halfway == "fixed":
                (c, w), _ = curve_fit(lambda t, c, w: _sigmoid(t, 0.0, mc_max, c, w), xs, ys, p0=(x0, w0),
                                      bounds=([xs.min() - 1, 1e-6], [xs.max() + 1, wmax]), maxfev=20000)
            else:
                (lo, hi, c, w), _ = curve_fit(_sigmoid, xs, ys, p0=(0.0, mc_max, x0, w0),
                                              bounds=([-0.5, 0.0, xs.min() - 1, 1e-6], [mc_max, 2 * mc_max,
                                                                                         xs.max() + 1, wmax]),
                                              maxfev=20000)
                if halfway == "level":
                    # lo + (hi - lo) / (1 + e^-(x - c)/w) = half  <=>  x = c - w ln((hi - lo) / (half - lo) - 1)
                    c = c - w * math.log((hi - lo) / (half - lo) - 1) if lo < half < hi else np.nan
        except (RuntimeError, ValueError):
            c = x0
        if np.isfinite(c) and xs.min() <= c <= xs.max():
            r_star[i] = math.exp(c) if log_r else c
    ok = np.isfinite(r_star)
    out = {"r_star": r_star, "slope": np.nan, "intercept": np.nan, "r2": np.nan, "n_points": int(ok.sum()),
           "axes": "log n_disc vs log r" if log_r else "log n_disc vs r", "halfway": halfway}
    if ok.sum() >= 2:
        xx = np.log(r_star[ok]) if log_r else r_star[ok]
        yy = np.log(n_discs[ok])
        slope, intercept = np.polyfit(xx, yy, 1)
        pred = slope * xx + intercept
        ss = np.sum((yy - yy.mean()) ** 2)
        out.update(slope=float(slope), intercept=float(intercept),
                   r2=float(1 - np.sum((yy - pred) ** 2) / ss) if ss > 0 else np.nan)
    return out


def log_spaced(critic: str) -> bool:
    """r grid and boundary axes: log r for ReLU and Fourier-pow (power laws), linear r for tanh and Fourier-exp
    (exponential boundaries; Sec. 2.4.1, Figs. 2.14-2.17, and App. 2.7.2, Figs. 2.21-2.22)."""
    if critic not in CRITICS:
        raise ValueError(f"critic must be one of {CRITICS}; got {critic!r}")
    return critic in ("relu", "fourier-pow")


def phase_diagram(ratios=None, n_discs=(1, 2, 4, 8, 16), steps: int = 1000, critic: str = "relu",
                  order_param: str = "avg", **kw) -> dict:
    """One call: sweep + boundary fit (log-log for ReLU / Fourier-pow, log-linear for tanh / Fourier-exp).
    order_param 'avg' fits MC averaged over the last avg_frac of the steps (default 10%), 'final' the last
    step's MC.  lr_d / lr_g default to our calibrated rates for the critic (CALIBRATED).  Other keywords go to
    `sweep` (mode, workers, ...) and `run_ensemble`."""
    if order_param not in ORDER_PARAMS:
        raise ValueError(f"order_param must be one of {ORDER_PARAMS}; got {order_param!r}")
    log_r = log_spaced(critic)
    kw.setdefault("lr_d", CALIBRATED[critic]["lr_d"])
    kw.setdefault("lr_g", CALIBRATED[critic]["lr_g"])
    if ratios is None:
        ratios = np.logspace(-2, 0, 13) if log_r else np.linspace(0.01, 1, 13)
    res = sweep(ratios, n_discs, steps, critic=critic, **kw)
    res["order_param"] = order_param
    res["boundary"] = fit_boundary(res["ratios"], res["n_discs"], res["mc_avg" if order_param == "avg" else "mc"],
                                   log_r=log_r)
    return res
