"""Figures of the Ising CNN report (Mills & Tamblyn, PRE 97, 032119 (2018)): data in, figure out."""
from __future__ import annotations

import numpy as np

from .common import plt

__all__ = ["thermo_4x4", "thermo_mc", "level_histograms"]

_OBSERVABLES = (("e", "<E>/N"), ("c", "C/N"), ("m", "<|M|>/N"))


def thermo_4x4(T: np.ndarray, curves: dict, exact: dict):
    """<E>/N, C/N, <|M|>/N vs T: one dotted curve per {label: thermodynamics dict} beside the exact line
    (the paper's Fig. 7)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for label, r in curves.items():
        for ax, (k, _) in zip(axes, _OBSERVABLES):
            ax.plot(T, r[k], "o", ms=3, label=label)
    for ax, (k, lab) in zip(axes, _OBSERVABLES):
        ax.plot(T, exact[k], "k-", lw=1, label="exact (enumeration)")
        ax.set_xlabel("T (J/k_B)")
        ax.set_ylabel(lab)
    axes[0].legend(fontsize=7)
    fig.suptitle("4x4 Ising: exact Boltzmann sums over all 65 536 states with the network as energy operator")
    return fig


def thermo_mc(T: np.ndarray, nn: dict, ref: dict, exact: dict, title: str):
    """Metropolis with network operators (`nn`) and exact operators (`ref`), with error bars, against the exact
    transfer-matrix curves `exact` (its own "T" grid); the paper's Figs. 8-9."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (k, lab) in zip(axes, _OBSERVABLES):
        ax.plot(exact["T"], exact[k], "k-", lw=1, label="exact (transfer matrix)")
        ax.errorbar(T, ref[k], ref[k + "_err"], fmt="s", ms=3, mfc="none", label="Metropolis, exact operators")
        ax.errorbar(T, nn[k], nn[k + "_err"], fmt="o", ms=3, label="Metropolis, NN operators")
        ax.set_xlabel("T (J/k_B)")
        ax.set_ylabel(lab)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    return fig


def level_histograms(pools: list[tuple[int, dict]]):
    """Per lattice side, {sampling: energies (J)} -> the count of each energy level, log scale (the paper's
    targeted vs random training pools, Fig. 2)."""
    fig, axes = plt.subplots(1, len(pools), figsize=(5 * len(pools), 3.6))
    for ax, (L, by_sampling) in zip(np.atleast_1d(axes), pools):
        for (sampling, E), color in zip(by_sampling.items(), ("C1", "C0")):
            lv, c = np.unique(E, return_counts=True)
            ax.bar(lv, c, width=3, alpha=0.6, color=color, label=f"{sampling} ({len(E)})")
        ax.set_yscale("log")
        ax.set_xlabel("E (J)")
        ax.set_title(f"{L}x{L} training pools")
        ax.legend(fontsize=8)
    return fig
