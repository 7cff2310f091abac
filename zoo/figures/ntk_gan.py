"""Figures of the NTK GAN paper (Durr thesis Ch. 2): data in, matplotlib figure out.

The particle figures are duck-typed on arrays: a cloud (N, 2), the target modes (K, 2) and a trajectory
{'step', 'mc', 'mean_dist', 'com'} as `zoo.ntk_gan.ParticleGAN.history()` returns it.
"""
from __future__ import annotations

import math

import numpy as np

from .common import plt

__all__ = ["scatter_figure", "history_figure", "dirac_trajectories_figure", "dirac_sweep_figure",
           "ntk_width_figure", "ntk_pairs_figure", "phase_diagram_figure", "critic_rate_figure", "fprinciple_figure"]


def scatter_figure(particles: np.ndarray, modes: np.ndarray, title: str = "", ax=None, lim: float | None = None):
    """The cloud over the target modes; draws into `ax` when given (returns None then)."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.scatter(particles[:, 0], particles[:, 1], s=2, alpha=0.5, label="particles")
    ax.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", c="r", label="modes")
    lim = lim or 1.25 * float(np.abs(modes).max())
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    return ax.figure if own else None


def history_figure(hist: dict, modes: np.ndarray, title: str = ""):
    """MC, mean nearest-mode distance and the centre of mass of the cloud over the generator steps."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.8))
    a.plot(hist["step"], hist["mc"])
    a.axhline(np.log(len(modes)), ls="--", c="gray", lw=0.8)
    a.set_xlabel("generator step")
    a.set_ylabel("MC = log K + sum P log P")
    b.semilogy(hist["step"], hist["mean_dist"])
    b.set_xlabel("generator step")
    b.set_ylabel("mean nearest-mode distance")
    com = hist["com"]
    sc = c.scatter(com[:, 0], com[:, 1], c=hist["step"], s=4, cmap="viridis")
    c.plot(com[:, 0], com[:, 1], lw=0.3, c="k")
    c.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", c="r")
    lim = 1.25 * float(np.abs(modes).max())
    c.set_xlim(-lim, lim)
    c.set_ylim(-lim, lim)
    c.set_aspect("equal")
    c.set_title("centre of mass of the cloud", fontsize=9)
    fig.colorbar(sc, ax=c, label="generator step")
    fig.suptitle(title)
    return fig


def dirac_trajectories_figure(runs: list[tuple[dict, dict]], t_max: float = 600.0):
    """Figs. 2.3 and 2.7: theta1(t), theta2(t) of double Dirac-GAN runs, one panel per (run, collapse_metric)."""
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.8), squeeze=False)
    for ax, (run, m) in zip(axes[0], runs):
        ax.plot(run["t"], run["theta1"], label="theta1")
        ax.plot(run["t"], run["theta2"], label="theta2")
        ax.set_xlim(0, t_max)
        ax.set_xlabel("t")
        ax.set_title(f"eta = {run['eta']:g}, alpha = {run['alpha']:.3g}: tau_split {m['tau_split']:.0f}, "
                     f"tau_osc {m['tau_osc']:.0f}")
        ax.legend(fontsize=8)
    return fig


def dirac_sweep_figure(etas: np.ndarray, alphas: np.ndarray, log_ratio: np.ndarray):
    """Figs. 2.4 and 2.8: log(tau_split / tau_osc) against eta at alpha = 0, and over (eta, alpha)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    a.semilogx(etas, log_ratio[:, 0], "o-")
    a.set_xlabel("eta (critic rate / generator rate)")
    a.set_ylabel("log(tau_split / tau_osc)")
    a.set_title("Fig. 2.4: alpha = 0")
    im = b.pcolormesh(np.log10(etas), alphas, log_ratio.T, shading="nearest", cmap="magma")
    cs = b.contour(np.log10(etas), alphas, log_ratio.T, levels=[0.5, 1, 1.5, 2, 3], colors="w", linewidths=0.8)
    b.clabel(cs, fontsize=7)
    fig.colorbar(im, ax=b, label="log(tau_split/tau_osc)")
    b.set_xlabel("log10 eta")
    b.set_ylabel("alpha")
    b.set_title("Fig. 2.8")
    return fig


def ntk_width_figure(wc: dict):
    """Fig. 2.5: empirical NTK / width against eq. 2.34, and its relative error against the width
    (`datamodules.physics.ntk.width_convergence`'s output)."""
    widths, Z = wc["widths"], wc["Z"]
    norms = Z.norm(dim=1)
    u = (Z @ Z.T) / (norms[:, None] * norms[None])
    iu = np.triu_indices(len(Z), 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.scatter(u[iu][:3000], wc["empirical"][iu][:3000], s=2, label=f"empirical, width {widths[-1]}")
    a.scatter(u[iu][:3000], wc["theory"][iu][:3000], s=2, label="eq. 2.34")
    a.set_xlabel("cos(angle) of the input pair")
    a.set_ylabel("Gamma / width")
    a.legend(fontsize=8)
    b.loglog(widths, wc["rel_error"], "o-", label="||K_emp - K_th|| / ||K_th||")
    b.loglog(widths, wc["rel_error"][0] * np.sqrt(widths[0] / np.array(widths)), "k--", lw=0.8, label="width^-1/2")
    b.set_xlabel("width")
    b.legend(fontsize=8)
    fig.suptitle("Fig. 2.5: empirical NTK of bias-free ReLU nets (N(0,1) weights) on 2-D N(0, I) inputs vs theory")
    return fig


def ntk_pairs_figure(f: dict, corr: float):
    """Fig. 2.6: histogram of the NTK entries and the output distance against them
    (`datamodules.physics.ntk.fig26_experiment`'s output)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.hist(f["pairs"], bins=80, label="z != z'")
    a.hist(f["diag"], bins=20, label="z = z'")
    a.axvline(f["theory_pi2"], c="k", ls="--", lw=0.8, label="bias-free Gamma(pi/2)")
    a.axvline(f["theory_0"], c="r", ls="--", lw=0.8, label="bias-free Gamma(0)")
    a.set_yscale("log")
    a.set_xlabel("Gamma(z, z')")
    a.legend(fontsize=7)
    b.scatter(f["pairs"], f["dist"], s=1)
    b.set_xlabel("Gamma(z, z')")
    b.set_ylabel("|f(z) - f(z')|")
    fig.suptitle(f"Fig. 2.6: d = 100, width 2048, with biases; corr(Gamma, |f - f'|) = {corr:.3f}")
    return fig


def phase_diagram_figure(ratios: np.ndarray, n_discs: np.ndarray, mc: np.ndarray, boundary: dict, log_r: bool,
                         title: str = ""):
    """Figs. 2.14-2.17, 2.21-2.22: MC over (r, n_disc), the per-slice half-way points and the boundary fit
    (`zoo.ntk_gan_sweep.fit_boundary`'s output)."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    xs = np.log10(ratios) if log_r else ratios
    im = ax.pcolormesh(xs, n_discs, mc, shading="nearest", cmap="viridis", vmin=0, vmax=math.log(8))
    fig.colorbar(im, ax=ax, label="MC")
    rs = np.array([np.nan if v is None else v for v in boundary["r_star"]], float)
    ok = np.isfinite(rs)
    if ok.any():
        ax.plot(np.log10(rs[ok]) if log_r else rs[ok], n_discs[ok], "r.", ms=8, label="half-way points")
        slope = boundary.get("slope")
        if slope is not None and np.isfinite(slope):
            yy = np.linspace(n_discs.min(), n_discs.max(), 50)
            xx = (np.log(yy) - boundary["intercept"]) / slope
            ax.plot(np.log10(np.exp(xx)) if log_r else xx, yy, "r-", lw=1, label=f"fit, slope {slope:.2f}")
        ax.legend(fontsize=7)
    ax.set_yscale("log")
    ax.set_xlabel("log10 g2/g1" if log_r else "g2/g1")
    ax.set_ylabel("n_disc")
    ax.set_title(title, fontsize=9)
    return fig


def critic_rate_figure(series: dict, paper_slope: float | None = None, title: str = ""):
    """The boundary r* of several sweeps against the critic's learning per generator step, n_disc * alpha_D:
    series {label: (n_disc * alpha_D, r*)}.  With `paper_slope` a guide line of that log-log slope (ln n vs ln r,
    so r ~ (n alpha_D)^(1/slope)) through the points' median."""
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    allx, ally = [], []
    for (label, (x, r)), m in zip(series.items(), "osd^v"):
        x, r = np.asarray(x, float), np.asarray(r, float)
        ok = np.isfinite(r)
        ax.plot(x[ok], r[ok], m, label=label)
        allx += list(x[ok])
        ally += list(r[ok])
    if paper_slope and allx:
        x0, y0 = np.exp(np.median(np.log(allx))), np.exp(np.median(np.log(ally)))
        xx = np.geomspace(min(allx), max(allx), 20)
        ax.plot(xx, y0 * (xx / x0) ** (1 / paper_slope), "k--", lw=0.8, label=f"slope {paper_slope:g} (thesis)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n_disc x alpha_D (critic learning per generator step)")
    ax.set_ylabel("r* (half-way point, final MC)")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig


def fprinciple_figure(train: list, clean: list, best: int, proj: dict):
    """Figs. 2.18-2.19: train and clean errors of a fit to a noisy sine; projections of a fit to sin x + sin 3x +
    sin 5x on each sine over the steps."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    a.semilogy(train, label="train MSE (noisy targets)")
    a.semilogy(clean, label="MSE to the clean sine")
    a.axvline(best, c="k", ls="--", lw=0.8, label=f"clean error minimal at step {best}")
    a.set_xlabel("Adam step")
    a.legend(fontsize=8)
    a.set_title("Fig. 2.18: sin x + N(0, 1/9)")
    for k, v in proj.items():
        b.plot(v, label=f"projection on sin {k}x")
    b.axhline(1, c="gray", lw=0.5)
    b.set_xlabel("Adam step")
    b.legend(fontsize=8)
    b.set_title("Fig. 2.19: sin x + sin 3x + sin 5x")
    return fig
