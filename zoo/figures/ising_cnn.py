"""Figures of the Ising CNN report (Mills & Tamblyn, PRE 97, 032119 (2018)): data in, figure out."""
from __future__ import annotations

import numpy as np

from .common import plt

__all__ = ["thermo_4x4", "thermo_mc", "level_histograms", "long_range_mc", "baselines", "kernels"]

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


def long_range_mc(res: dict):
    """<|M|> and the staggered <|M_s|> per site vs T for the screened Coulomb antiferromagnet: exact operator (line
    and one-standard-error band), the network before and after fine-tuning on thermal samples (points), the
    random-spin <|M|> dashed (the paper's Fig. 10, which plots <|M|> only)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    T = np.asarray(res["exact"]["T"])
    for ax, (k, lab) in zip(axes, (("m", "<|M|> per site"), ("ms", "<|M_s|> (staggered) per site"),
                                    ("e", "<E>/N (J)"))):
        ex, err = np.asarray(res["exact"][k]), np.asarray(res["exact"][k + "_err"])
        ax.plot(T, ex, "k-", lw=1, label="exact operator")
        ax.fill_between(T, ex - err, ex + err, color="k", alpha=0.15)
        for key, fmt, label in (("nn", "o", "network"), ("nn_fine_tuned", "s", "network, fine-tuned")):
            ax.errorbar(T, res[key][k], res[key][k + "_err"], fmt=fmt, ms=3, mfc="none" if fmt == "s" else None,
                        label=label)
        if k == "m":
            ax.axhline(res["random_abs_m"], ls="--", color="gray", lw=0.8, label="random spins")
        ax.set_xscale("log")
        ax.set_xlabel("T (J/k_B)")
        ax.set_ylabel(lab)
    axes[0].legend(fontsize=7)
    fig.suptitle("8x8 screened Coulomb (k = 0.5, r_cut = 64): Metropolis with the exact and the learned energy")
    return fig


def baselines(tables: dict):
    """Median |E - E_hat| vs training-set size (left) and vs fit time (right) for KRR and RF, with the CNN as a
    star, one colour per task: {task label: {"krr": rows, "rf": rows, "cnn": {...}}}."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for (label, t), c in zip(tables.items(), ("C0", "C1", "C2")):
        for meth, mk in (("krr", "o-"), ("rf", "s--")):
            rows = t.get(meth) or []
            n = [r["n"] for r in rows]
            e = [r["median_abs_error"] for r in rows]
            a.plot(n, e, mk, color=c, label=f"{label}: {meth.upper()}")
            b.plot([r["fit_s"] for r in rows], e, mk, color=c)
        cnn = t.get("cnn") or {}
        if cnn.get("median_abs_error") is not None:
            a.plot([cnn["n"]], [cnn["median_abs_error"]], "*", ms=12, color=c, label=f"{label}: CNN")
            b.plot([cnn["fit_s"]], [cnn["median_abs_error"]], "*", ms=12, color=c)
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("median |E - E_hat| (J)")
    a.set_xlabel("training configurations")
    b.set_xlabel("fit / training wall time (s, 1 thread)")
    a.legend(fontsize=7)
    fig.suptitle("CNN vs kernel ridge regression and random forests (PRE 97, 032119, Sec. IV)")
    return fig


def kernels(weights: np.ndarray, title: str, optimized: np.ndarray | None = None):
    """First-layer kernels (n, k, k) in a grid, blue positive and red negative as in the paper's Fig. 13; with
    `optimized` (m, H, W), a second row of inputs that maximise chosen channels (Fig. 14)."""
    n = len(weights)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols)) + (1 if optimized is not None else 0)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9 + 0.6), squeeze=False)
    v = float(np.abs(weights).max())
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < n:
            ax.imshow(weights[i], cmap="RdBu", vmin=-v, vmax=v)
        elif optimized is not None and i >= (rows - 1) * cols and i - (rows - 1) * cols < len(optimized):
            o = optimized[i - (rows - 1) * cols]
            ax.imshow(o, cmap="RdBu", vmin=-1, vmax=1)
            ax.set_title("max. input", fontsize=5)
        else:
            ax.axis("off")
    fig.suptitle(title, fontsize=8)
    return fig
