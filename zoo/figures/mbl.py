"""Figures of the MBL paper (Durr & Chakravarty, PRB 100, 075102 (2019), arXiv:1903.05755 [DC19]; thesis ch. 1):
RGB phase maps, C maps, slices, the HDBSCAN cluster-count histogram, the Z2 parity demo and the SBRG appendix
figures.  Colours as in DC19 Figs. 1.2-1.5: red PM, blue SG, green thermal (or HDBSCAN noise).
"""
from __future__ import annotations

import numpy as np

from datamodules.physics import spin_chain as sc

from .common import plt

__all__ = ["phase_maps_figure", "confusion_maps_figure", "slices_figure", "hist_figure", "parity_figure",
           "sbrg_vs_ed_figure", "term_strength_figure"]

PHASE_COLORS = ("C3", "C0", "C2")  # PM red, SG blue, thermal / noise green


def _rgb(p: np.ndarray) -> np.ndarray:
    """(n_delta, n_lambda, 3) (PM, SG, third) -> image (n_lambda, n_delta, 3) RGB with PM red, SG blue, third green."""
    return np.clip(np.stack([p[..., 0], p[..., 2], p[..., 1]], -1).transpose(1, 0, 2), 0, 1)


def _extent(deltas, lambdas):
    dd = (deltas[1] - deltas[0]) / 2 if len(deltas) > 1 else 0.05
    dl = (lambdas[1] - lambdas[0]) / 2 if len(lambdas) > 1 else 0.05
    return [deltas[0] - dd, deltas[-1] + dd, lambdas[0] - dl, lambdas[-1] + dl]


def phase_maps_figure(maps: dict, deltas, lambdas, title: str):
    """{name: (n_delta, n_lambda, 3) map} side by side as RGB images (DC19 Figs. 1.2-1.5)."""
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps), 3.6), squeeze=False)
    for ax, (name, p) in zip(axes[0], maps.items()):
        ax.imshow(_rgb(p), origin="lower", aspect="auto", extent=_extent(deltas, lambdas), interpolation="nearest")
        ax.set_xlabel("Delta = mean log J - mean log h")
        ax.set_ylabel("lambda")
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def confusion_maps_figure(maps: dict, deltas, lambdas, title: str):
    """C = 1 - sqrt2 d_min of each map (DC19 Figs. 1.6-1.7)."""
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps), 3.6), squeeze=False)
    for ax, (name, p) in zip(axes[0], maps.items()):
        im = ax.imshow(sc.confusion(p).T, origin="lower", aspect="auto", extent=_extent(deltas, lambdas),
                       vmin=0, vmax=1, cmap="magma", interpolation="nearest")
        ax.set_xlabel("Delta")
        ax.set_ylabel("lambda")
        ax.set_title(f"C = 1 - sqrt2 d_min: {name}", fontsize=9)
        fig.colorbar(im, ax=ax)
    fig.suptitle(title, fontsize=10)
    return fig


def slices_figure(maps: dict, deltas, lambdas):
    """Phase probabilities and C along lambda = 0, 1, 2 and Delta = 0 (DC19 Figs. 1.8-1.12)."""
    lam_cuts = [0.0, 1.0, 2.0]
    fig, axes = plt.subplots(2, 4, figsize=(17, 6.5))
    styles = ["-", "--", ":"]
    for k, lc in enumerate(lam_cuts):
        j = int(np.argmin(np.abs(lambdas - lc)))
        for s, (name, p) in enumerate(maps.items()):
            for c, ph in enumerate(("PM", "SG", "thermal/noise")):
                axes[0, k].plot(deltas, p[:, j, c], styles[s % 3], color=PHASE_COLORS[c], label=f"{name}: {ph}")
            axes[1, k].plot(deltas, sc.confusion(p[:, j]), styles[s % 3], color="k", label=name)
        axes[0, k].set_title(f"lambda = {lambdas[j]:.2f}")
        axes[1, k].set_title(f"C at lambda = {lambdas[j]:.2f}")
        for a in axes[:, k]:
            a.set_xlabel("Delta")
    i0 = int(np.argmin(np.abs(deltas)))
    for s, (name, p) in enumerate(maps.items()):
        for c, ph in enumerate(("PM", "SG", "thermal/noise")):
            axes[0, 3].plot(lambdas, p[i0, :, c], styles[s % 3], color=PHASE_COLORS[c], label=f"{name}: {ph}")
        axes[1, 3].plot(lambdas, sc.confusion(p[i0]), styles[s % 3], color="k", label=name)
    axes[0, 3].set_title(f"Delta = {deltas[i0]:.2f}")
    axes[1, 3].set_title(f"C at Delta = {deltas[i0]:.2f}")
    for a in axes[:, 3]:
        a.set_xlabel("lambda")
    axes[0, 0].set_ylabel("phase probability")
    axes[1, 0].set_ylabel("C")
    axes[0, 3].legend(fontsize=6)
    axes[1, 3].legend(fontsize=7)
    fig.tight_layout()
    return fig


def hist_figure(hist: np.ndarray):
    """How many resamples HDBSCAN split into k clusters."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ks = np.arange(len(hist))
    ax.bar(ks, hist)
    ax.set_xlabel("clusters found by HDBSCAN")
    ax.set_ylabel("resamples")
    ax.set_xticks(ks)
    ax.set_title(f"{int(hist.sum())} resamples: 2 clusters in {hist[2] / max(hist.sum(), 1):.0%}", fontsize=9)
    return fig


def parity_figure(demos: list[dict], classified: dict | None = None):
    """The Z2 parity demo at lambda = 0 (`zoo.reports.mbl.parity_demo` dicts), parity-resolved vs full eigh; with
    `classified` = {"L", "deltas", "resolved": (n_delta, 3), "full": (n_delta, 3)} mean classifier probabilities, a
    last panel of the classifier's view of both."""
    n = len(demos) + (classified is not None)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 3.6), squeeze=False)
    for ax, d in zip(axes[0], demos):
        for key, st in (("resolved", "-"), ("full", "--")):
            ax.plot(d["deltas"], d[key]["S"], st + "o", ms=3, color="C0", label=f"mean S_A ({key})")
            ax.plot(d["deltas"], d[key]["broken"], st, color="C3", label=f"|<P>| < 0.9 ({key})")
            ax.plot(d["deltas"], d[key]["pm_like"], st, color="C2", label=f"rho_A max > 0.9 ({key})")
        ax.set_xlabel("Delta (lambda = 0)")
        ax.set_title(f"L = {d['L']}: parity-resolved (solid) vs full eigh (dashed)", fontsize=9)
        ax.legend(fontsize=6)
    if classified is not None:
        ax = axes[0, -1]
        for key, st in (("resolved", "-"), ("full", "--")):
            for c, ph in enumerate(("PM", "SG", "thermal")):
                ax.plot(classified["deltas"], classified[key][:, c], st, color=PHASE_COLORS[c], label=f"{ph} ({key})")
        ax.set_xlabel("Delta (lambda = 0)")
        ax.set_title(f"classifier-L{classified['L']} on the lambda = 0 slice", fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def sbrg_vs_ed_figure(d: dict):
    """DC19 Fig. 1.13 (thesis Sec. 1.6.1.2): sorted SBRG vs ED spectrum of one realization, from a
    `datamodules.physics.sbrg.sbrg_vs_ed` dict."""
    n = np.arange(len(d["E_ed"]))
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    ax[0].plot(n, d["E_ed"], "k-", lw=2, label="exact diagonalization")
    ax[0].plot(n, d["E_sbrg"], "r.", ms=3, label="SBRG (H_eff)")
    ax[0].set_xlabel("level index")
    ax[0].set_ylabel("energy")
    ax[0].legend(fontsize=8)
    ax[0].set_title(f"L={d['L']}, Gamma={d['Gamma']:g}, seed {d['seed']}: rel. RMS {d['rel_rms']:.2e}", fontsize=9)
    ax[1].plot(n, d["E_sbrg"] - d["E_ed"], "b.", ms=3)
    ax[1].axhline(0, color="k", lw=0.5)
    ax[1].set_xlabel("level index")
    ax[1].set_ylabel("E_SBRG - E_ED")
    fig.tight_layout()
    return fig


def term_strength_figure(d: dict, L: int, Gamma: float, seed: int, pbc: bool = True):
    """DC19 Fig. 1.1 (thesis Sec. 1.6.1.2): |coefficient| vs range of the original H and of H_eff, from a
    `datamodules.physics.sbrg.term_strength_vs_range` dict."""
    rng = np.random.default_rng(0)  # horizontal jitter only, so overlapping points stay visible
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.semilogy(d["orig_range"] - 0.12 + 0.08 * rng.standard_normal(len(d["orig_range"])), d["orig_strength"],
                "ks", ms=4, label="original H (physical sites)")
    ax.semilogy(d["heff_range"] + 0.12 + 0.08 * rng.standard_normal(len(d["heff_range"])), d["heff_strength"],
                "r.", ms=5, label="H_eff (LIOM sites)")
    ax.set_xlabel("range (sites spanned" + (", periodic)" if pbc else ")"))
    ax.set_ylabel("|coefficient|")
    ax.set_title(f"L={L}, Gamma={Gamma:g}, seed {seed}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
