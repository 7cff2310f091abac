"""Figures of the COOL report (Mills, Ronagh & Tamblyn 2020, arXiv:2003.00011, Figs. 3-5): pure functions, data in,
figure out."""
from __future__ import annotations

import numpy as np

from .common import plt

__all__ = ["wsc_success_figure", "schedules_figure", "acceptance_figure", "n99_figure", "training_figure"]


def wsc_success_figure(beta_inits, rl, sa_best, sa_grid=None):
    """Fig. 3b: success vs beta_init of the agent and of the best linear schedule (and every linear one, faint)."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if sa_grid is not None:
        for k, row in enumerate(np.asarray(sa_grid).T):
            ax.plot(beta_inits, row, color="tab:blue", alpha=0.25, lw=1, label="linear SA (each beta_f)" if k == 0 else None)
    ax.plot(beta_inits, sa_best, "o-", color="tab:blue", label="best linear SA")
    ax.plot(beta_inits, rl, "s-", color="tab:red", label="RL agent")
    ax.set_xlabel("initial inverse temperature beta_i")
    ax.set_ylabel("success probability")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8)
    ax.set_title("WSC from its local minimum")
    return fig


def schedules_figure(groups: dict, n_examples: int = 3, title: str = "beta schedules"):
    """Figs. 3c-d / 4e: per group (label -> (episodes, T + 1) betas), mean +- std shaded and a few single episodes."""
    fig, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3.2), squeeze=False)
    for ax, (label, b) in zip(axes[0], groups.items()):
        b = np.asarray(b)
        t = np.arange(b.shape[1])
        m, s = b.mean(0), b.std(0)
        ax.fill_between(t, m - s, m + s, color="tab:blue", alpha=0.2)
        ax.plot(t, m, "--", color="tab:blue", label="mean")
        for k in range(min(n_examples, len(b))):
            ax.plot(t, b[k], color="tab:red", lw=1, alpha=0.8, label="episodes" if k == 0 else None)
        ax.set_xlabel("step")
        ax.set_ylabel("beta")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def acceptance_figure(groups: dict):
    """Figs. 3e-f / 4b-c: mean Metropolis acceptance ratio per step, label -> (episodes, T)."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, a in groups.items():
        a = np.asarray(a)
        ax.plot(np.arange(1, a.shape[1] + 1), a.mean(0), label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("acceptance ratio")
    ax.legend(fontsize=8)
    return fig


def n99_figure(sizes, rl, sa, rl_ci=None, sa_ci=None, formula: str = "thesis"):
    """Fig. 4d: n99 vs system size for the agent and the best linear schedule, 95 % intervals shaded."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for y, ci, label, c in ((rl, rl_ci, "RL agent", "tab:red"), (sa, sa_ci, "best linear SA", "tab:blue")):
        ax.plot(sizes, y, "o-", color=c, label=label)
        if ci is not None:
            lo, hi = np.asarray(ci, dtype=float).T
            ax.fill_between(sizes, lo, np.where(np.isfinite(hi), hi, np.nan), color=c, alpha=0.2)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("number of spins N")
    ax.set_ylabel(f"n99 ({formula} formula)")
    ax.legend(fontsize=8)
    return fig


def training_figure(history: dict, title: str = ""):
    """Success rate and return of the training episodes against episodes played (the checkpoint's own record)."""
    fig, ax = plt.subplots(1, 2, figsize=(8, 3))
    ax[0].plot(history["episodes"], history["success"], lw=0.8)
    ax[0].set_xlabel("episodes")
    ax[0].set_ylabel("success rate (per update of 8)")
    ax[1].plot(history["episodes"], history["return"], lw=0.8)
    ax[1].set_xlabel("episodes")
    ax[1].set_ylabel("mean return")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
