"""Figures of the normalizing flows (Wang's Marburg 2018 lecture; NeuralRG, arXiv:1802.02840): data in, figure out.

Duck-typed on arrays: densities on a grid, a history {'step', 'value', 'stderr'} as `zoo.flows` models return it,
energy histograms {'levels', 'exact', 'mcmc', 'direct'} as zoo.evaluation.flows.energy_histograms returns them.
"""
from __future__ import annotations

import numpy as np

from .common import plt

__all__ = ["density_figure", "free_energy_figure", "nll_figure", "energy_histogram_figure", "autocorrelation_figure"]


def density_figure(grid: np.ndarray, panels: dict[str, np.ndarray], extent: float = 5.0):
    """Side-by-side densities p(x) on a square grid (values (G, G), rows = y) over [-extent, extent]^2, e.g.
    {'target': ..., 'NICE': ..., 'RealNVP': ...}; one shared colour scale."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6))
    axes = np.atleast_1d(axes)
    vmax = max(float(np.max(v)) for v in panels.values())
    for ax, (name, v) in zip(axes, panels.items()):
        ax.imshow(v, origin="lower", extent=(-extent, extent, -extent, extent), vmin=0, vmax=vmax, cmap="viridis")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([-4, 0, 4])
        ax.set_yticks([-4, 0, 4])
    return fig


def nll_figure(histories: dict[str, dict], entropy: float, test: dict[str, float] | None = None):
    """Batch NLL vs step per model, the exact entropy as the floor, test NLLs as markers at the end."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, h in histories.items():
        ax.plot(h["step"], h["value"], lw=0.8, label=f"{name} (train batches)")
        if test and name in test:
            ax.scatter([h["step"][-1]], [test[name]], marker="o", zorder=3, label=f"{name} test {test[name]:.3f}")
    ax.axhline(entropy, c="k", ls="--", lw=1, label=f"exact entropy {entropy:.4f}")
    ax.set_ylim(entropy - 0.1, entropy + 1.0)
    ax.set_xlabel("step")
    ax.set_ylabel("NLL (nats)")
    ax.legend(fontsize=7)
    return fig


def free_energy_figure(hist: dict, exact: float, title: str = ""):
    """Variational beta F_q per step (batch mean +- standard error) above the exact beta F = -ln Z, and the gap."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    s, v, e = hist["step"], hist["value"], hist["stderr"]
    a.plot(s, v, lw=0.7, label="variational beta F_q (batch)")
    a.fill_between(s, v - e, v + e, alpha=0.3)
    a.axhline(exact, c="k", ls="--", lw=1, label=f"exact beta F = {exact:.5f}")
    a.set_ylim(exact - 0.2, exact + 3.0)
    a.set_xlabel("step")
    a.set_ylabel("beta F (nats)")
    a.legend(fontsize=8)
    a.set_title(title, fontsize=9)
    gap = v - exact
    b.semilogy(s, np.clip(gap, 1e-4, None), lw=0.7)
    b.set_xlabel("step")
    b.set_ylabel("beta F_q - beta F (nats, log scale)")
    b.set_title(f"below exact at {int((gap < 0).sum())} of {len(gap)} recorded steps", fontsize=9)
    return fig


def energy_histogram_figure(hist: dict, title: str = ""):
    """P(E) exact (enumeration) vs the Metropolized flow sampler vs the flow without correction."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    lv = np.asarray(hist["levels"])
    keep = np.asarray(hist["exact"]) > 1e-6
    w = 1.2
    ax.bar(lv[keep] - w, np.asarray(hist["exact"])[keep], width=w, label="exact (enumeration)")
    ax.bar(lv[keep], np.asarray(hist["mcmc"])[keep], width=w, label="flow + Metropolis (MIS)")
    ax.bar(lv[keep] + w, np.asarray(hist["direct"])[keep], width=w, label="flow, no correction")
    ax.set_yscale("log")
    ax.set_xlabel("E (J)")
    ax.set_ylabel("P(E)")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return fig


def autocorrelation_figure(series: dict[str, np.ndarray], max_lag: int = 40, title: str = ""):
    """Normalized autocorrelation rho(t) of several (chains, steps) series, e.g. E under MIS vs local Metropolis."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for name, y in series.items():
        y = np.atleast_2d(np.asarray(y, dtype=np.float64))
        y = y - y.mean()
        T = y.shape[1]
        f = np.fft.rfft(y, n=2 * T, axis=1)
        acf = np.fft.irfft(f * np.conj(f), axis=1)[:, :T].sum(0)
        ax.plot(np.arange(max_lag), acf[:max_lag] / acf[0], marker=".", label=name)
    ax.axhline(0, c="gray", lw=0.5)
    ax.set_xlabel("lag (MIS steps or Metropolis sweeps)")
    ax.set_ylabel("autocorrelation")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return fig
