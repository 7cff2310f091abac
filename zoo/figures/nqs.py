"""Figures of the neural-network quantum states (Carleo & Troyer, Science 355, 602 (2017); L. Wang's lecture
hands-on, Sec. 5.5): data in, matplotlib figure out.

The trace is duck-typed on `zoo.nqs.RBMWavefunction.history()`: {'iteration', 'energy', 'error', 'variance',
'acceptance'}.
"""
from __future__ import annotations

import numpy as np

from .common import plt

__all__ = ["energy_trace_figure", "sampler_histogram_figure", "amplitudes_figure"]


def energy_trace_figure(hist: dict, e0: float, title: str = "", e_final: float | None = None):
    """VMC energy vs iteration with its error bars and the exact E0 (left), and the relative error on a log scale
    (right; |E - E0| / |E0| of each sampled estimate, with the exactly enumerated final energy as a marker)."""
    it, E, err = hist["iteration"], hist["energy"], hist["error"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    a.errorbar(it, E, yerr=err, fmt="-", lw=0.8, elinewidth=0.6, ecolor="C0", alpha=0.9, label="VMC estimate")
    a.axhline(e0, c="k", ls="--", lw=0.8, label=f"exact E0 = {e0:.8f}")
    lo = e0 - 0.02 * abs(e0)
    a.set_ylim(lo, max(float(np.max(E[: max(1, len(E) // 50)])), e0 + 0.3 * abs(e0)))
    a.set_xlabel("VMC iteration")
    a.set_ylabel("energy")
    a.legend(fontsize=8)
    rel = np.abs(E - e0) / abs(e0)
    b.semilogy(it, np.maximum(rel, 1e-12), lw=0.8, label="|E_VMC - E0| / |E0| (sampled)")
    b.semilogy(it, np.maximum(err / abs(e0), 1e-12), lw=0.6, alpha=0.7, label="error bar / |E0|")
    if e_final is not None:
        b.semilogy([it[-1]], [max((e_final - e0) / abs(e0), 1e-12)], "r*", ms=10,
                   label="final state, exact enumeration")
    b.set_xlabel("VMC iteration")
    b.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def sampler_histogram_figure(labels: list[str], counts: np.ndarray, p: np.ndarray, p_bug: np.ndarray | None = None,
                             title: str = ""):
    """Empirical frequencies of the Metropolis chains against |psi|^2 (and the record-the-proposal bug)."""
    n = counts.sum()
    x = np.arange(len(p))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    w = 0.28 if p_bug is not None else 0.4
    ax.bar(x - w / 2 if p_bug is None else x - w, counts / n, w, yerr=np.sqrt(counts) / n, label="sampler (current)")
    ax.bar(x + w / 2 if p_bug is None else x, p, w, label="|psi|^2 (exact)")
    if p_bug is not None:
        ax.bar(x + w, p_bug, w, label="records the proposal (bug)")
    ax.set_xticks(x, labels, rotation=45, fontsize=8)
    ax.set_ylabel("probability")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return fig


def amplitudes_figure(psi0: np.ndarray, psi: np.ndarray, title: str = ""):
    """The trained amplitudes against the exact ground state over the sector (unrotated basis, global phase
    removed): one point per configuration."""
    ov = np.vdot(psi0, psi)
    al = psi * np.exp(-1j * np.angle(ov)) if np.iscomplexobj(psi) else psi * np.sign(ov)
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.scatter(psi0, np.real(al), s=3, alpha=0.5)
    m = 1.05 * float(np.abs(psi0).max())
    ax.plot([-m, m], [-m, m], c="k", lw=0.6, ls="--")
    ax.set_xlabel("exact psi0(s)")
    ax.set_ylabel("Re psi(s), trained")
    ax.set_title(title, fontsize=9)
    return fig
