"""Figures of the Schrodinger CNN report (Mills, Spanner & Tamblyn, PRA 96, 042113 (2017)): data in, figure out."""
from __future__ import annotations

import numpy as np

from .common import plt

__all__ = ["example_potentials", "label_histograms", "parity_mha"]


def example_potentials(examples: dict, x: np.ndarray):
    """{column title: [(V (n, n) in Ha, e0 in Ha), ...]} on the grid `x` (bohr) -> one column per family, one row per
    example, each potential with its colour bar and e0 in the title."""
    n_rows = max(len(v) for v in examples.values())
    fig, axes = plt.subplots(n_rows, len(examples), figsize=(13, 6.4), squeeze=False)
    for j, (title, rows) in enumerate(examples.items()):
        for i, (V, e0) in enumerate(rows):
            ax = axes[i, j]
            im = ax.imshow(V, origin="lower", extent=(x[0], x[-1], x[0], x[-1]), cmap="viridis")
            fig.colorbar(im, ax=ax, fraction=0.046, label="V (Ha)")
            ax.set_title(f"{title}\ne0 = {1e3 * e0:.1f} mHa", fontsize=8)
            ax.set_xlabel("x (bohr)", fontsize=7)
    fig.suptitle("Example potentials on the 64x64 grid (x = y = linspace(-20, 20, 64) bohr)")
    return fig


def label_histograms(labels: dict):
    """Per family {"e0", "e1", "kinetic": arrays in Ha, "n": count} -> one histogram panel per label."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for ax, key, title in zip(axes, ("e0", "e1", "kinetic"), ("e0", "e1", "<T> of the ground state")):
        for fam, d in labels.items():
            ax.hist(1e3 * d[key], bins=60, histtype="step", density=True, label=f"{fam} ({d['n']})")
        ax.set_xlabel(f"{title} (mHa)")
        ax.set_title(title)
    axes[0].set_ylabel("density (1/mHa)")
    axes[0].legend(fontsize=7)
    fig.suptitle("Label distributions of each family (the paper aims at e0 in about 0-400 mHa)")
    return fig


def parity_mha(name: str, y: np.ndarray, pred: np.ndarray, label: str):
    """True vs predicted energies (Ha in, mHa on the axes) as a 2-D histogram with the error histogram inset."""
    y, pred = 1e3 * y, 1e3 * pred
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    h = ax.hist2d(y, pred, bins=80, range=[[lo, hi], [lo, hi]], cmin=1, cmap="viridis", norm="log")
    fig.colorbar(h[3], ax=ax, label="potentials")
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.5)
    ax.set_xlabel(f"true {label} (mHa)")
    ax.set_ylabel(f"predicted {label} (mHa)")
    err = pred - y
    ins = ax.inset_axes([0.58, 0.08, 0.38, 0.3])
    ins.hist(err, bins=60, range=tuple(np.percentile(err, [1, 99])), color="C1")
    ins.set_title(f"error, median |.| = {np.median(np.abs(err)):.2f} mHa", fontsize=6)
    ins.tick_params(labelsize=5)
    ax.set_title(f"{name} ({len(y)} fresh test potentials)", fontsize=8)
    return fig
