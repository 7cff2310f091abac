"""Figures of the EDNN report (Mills et al., Chem. Sci. 10, 4129 (2019), arXiv:1708.06686; counting: Mills & Tamblyn
2021 (counting preprint)): data in, figure out.  The Ising studies (parity, transfer, blur, Monte Carlo), the atoms
PROXY (error per area vs size, parity per size, rendered cells) and counting (density overlays, a large scene).
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.ticker import NullFormatter

from .common import plt

__all__ = ["CLASS_COLOURS", "parity_figure", "transfer_figure", "blur_figure", "mc_figure", "atoms_size_figure",
           "atoms_parity_figure", "atoms_cells_figure", "counting_density_figure", "counting_scene_figure"]

CLASS_COLOURS = ["tab:red", "tab:cyan", "tab:orange", "tab:green", "tab:purple", "tab:olive", "tab:pink",
                 "tab:blue", "tab:brown", "tab:gray"]


# ---- Ising


def parity_figure(y: np.ndarray, preds: dict, medians: dict):
    """True 8x8 energies `y` (J) vs each model's predictions {name: pred}, one 2-D histogram panel per model, titled
    with its median |error| {name: J}."""
    fig, axes = plt.subplots(1, len(preds), figsize=(4.6 * len(preds), 4.2), squeeze=False)
    for ax, (name, pred) in zip(axes[0], preds.items()):
        ax.hist2d(y, pred, bins=80, cmap="viridis", cmin=1)
        ax.plot([-128, 128], [-128, 128], "r--", lw=0.7)
        ax.set_title(f"{name.split('/')[1]}: median |err| {medians[name]:.3g} J", fontsize=9)
        ax.set_xlabel("true E (J)")
        ax.set_ylabel("EDNN E (J)")
    fig.suptitle(f"8x8 hash-split test set (first {len(y)} configurations)")
    return fig


def transfer_figure(rows: list[dict]):
    """Rows {"T", "L", "median_abs_error", "median_abs_error_per_spin"} of the transfer study -> error vs L per T."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for T in sorted({r["T"] for r in rows}):
        rr = [r for r in rows if r["T"] == T]
        Ls = [r["L"] for r in rr]
        a.loglog(Ls, [r["median_abs_error"] for r in rr], "o-", label=f"T = {T}")
        b.semilogx(Ls, [r["median_abs_error_per_spin"] for r in rr], "o-", label=f"T = {T}")
    a.set_xlabel("L")
    a.set_ylabel("median |E - E_hat| (J)")
    b.set_xlabel("L")
    b.set_ylabel("median |E - E_hat| / L^2 (J per spin)")
    a.legend()
    fig.suptitle("ednn/ising-f1c1 trained on 8x8, evaluated on Metropolis samples of L x L (no retraining)")
    return fig


def blur_figure(results: dict):
    """{name: rows {"sigma", "region" (context / focus / all / none), "median_abs_change"}} of the blur test (paper
    Fig. 6) -> one panel per model."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.4 * len(results), 3.8), squeeze=False)
    for ax, (name, rows) in zip(axes[0], results.items()):
        for region, mk in (("context", "o-"), ("focus", "s-"), ("all", "^--")):
            rr = [r for r in rows if r["region"] == region]
            ax.plot([r["sigma"] for r in rr], [r["median_abs_change"] for r in rr], mk, label=f"blur {region}")
        ax.set_xlabel("blur sigma (lattice spacings)")
        ax.set_ylabel("median |E_hat(blurred) - E_hat| (J)")
        ax.set_title(name.split("/")[1], fontsize=9)
        ax.set_yscale("symlog", linthresh=0.1)
        ax.legend(fontsize=7)
    fig.suptitle("Blur test (paper Fig. 6): blur the context vs the focus of every tile, 8x8 test configurations")
    return fig


def mc_figure(r: dict):
    """The Monte Carlo study {"T", "L", "exact_e", "exact_e_err", "ednn_e", "ednn_e_err", "rel_dev"} -> <E>/N vs T
    (EDNN energy vs exact) and the relative deviation."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    T = np.array(r["T"])
    a.errorbar(T, r["exact_e"], r["exact_e_err"], fmt="k-", label="exact energy (Metropolis)")
    a.errorbar(T, r["ednn_e"], r["ednn_e_err"], fmt="o", ms=4, label="EDNN energy, local updates")
    a.set_xlabel("T")
    a.set_ylabel("<E>/N")
    a.legend()
    b.plot(T, 100 * np.array(r["rel_dev"]), "o-")
    b.axhspan(-1, 1, color="g", alpha=0.15, label="+-1 %")
    b.set_xlabel("T")
    b.set_ylabel("EDNN / exact - 1 (%)")
    b.legend()
    fig.suptitle(f"{r['L']}x{r['L']} Ising, Metropolis with ednn/ising-f1c1 as the energy")
    return fig


# ---- atoms PROXY


def atoms_size_figure(curves: dict, areas, tick_labels, label_std: float):
    """Error per area vs cell area.  `curves` {legend label: {"area": [...], "median": [...], "mean": [...]}}
    (meV/A^2), drawn in order with the styles "o-" (the EDNN) and "s--" (the CNN); x ticks at `areas` named
    `tick_labels`; `label_std` the label's standard deviation per area on the training-size cells."""
    fig, ax = plt.subplots(figsize=(5.4, 4))
    for (label, c), style in zip(curves.items(), ("o-", "s--")):
        ax.plot(c["area"], c["median"], style, label=f"{label}: median")
        ax.plot(c["area"], c["mean"], style, alpha=0.4, label="mean")
    ax.axhline(label_std, color="gray", lw=0.7, ls=":", label="label std (1x)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(areas, tick_labels)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("cell area (A^2)")
    ax.set_ylabel("|E_hat - E| / area (meV/A^2)")
    ax.set_title("PROXY: error per area vs cell size (trained on 1x)", fontsize=9)
    ax.legend(fontsize=6, loc="center right")
    return fig


def atoms_parity_figure(panels: dict):
    """{panel title: {model label: (true E / area, predicted E / area)}} (eV/A^2) -> one parity panel per cell size;
    the models of a panel drawn in order with the markers "o" (the EDNN) and "x" (the CNN)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.8), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items()):
        for (label, (true, pred)), mk in zip(series.items(), ("o", "x")):
            ax.plot(true, pred, mk, ms=2.5, alpha=0.6, label=label)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], "r--", lw=0.7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("true E / area (eV/A^2)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("predicted E / area (eV/A^2)")
    fig.suptitle("PROXY parity (analytic pair energy, not DFT)", fontsize=9)
    return fig


def atoms_cells_figure(small: np.ndarray, big: np.ndarray, tiles: np.ndarray, exact: np.ndarray, cell_px: int,
                       big_label: str):
    """A rendered 1x test cell `small`, a larger cell `big` (named `big_label`, e.g. "16x"), the EDNN's tile energies
    on it and the exact per-focus energies (eV), the last two on one colour scale."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    axes[0].imshow(small, cmap="magma", origin="lower")
    axes[0].set_title(f"V(x, y), a 1x test cell ({cell_px}^2 px, 12.8 A)", fontsize=8)
    axes[1].imshow(big, cmap="magma", origin="lower")
    axes[1].set_title(f"a {big_label} cell ({big.shape[-1]}^2 px)", fontsize=8)
    vmin, vmax = min(tiles.min(), exact.min()), max(tiles.max(), exact.max())
    axes[2].imshow(tiles, cmap="viridis", origin="lower", vmin=vmin, vmax=vmax)
    axes[2].set_title(f"EDNN tile energies (eV); sum {tiles.sum():.1f}", fontsize=8)
    im = axes[3].imshow(exact, cmap="viridis", origin="lower", vmin=vmin, vmax=vmax)
    axes[3].set_title(f"exact focus energies (eV); sum {exact.sum():.1f}", fontsize=8)
    fig.colorbar(im, ax=axes[3], fraction=0.046)
    for a in axes:
        a.set_xticks([])
        a.set_yticks([])
    return fig


# ---- counting


def counting_density_figure(rows: dict):
    """One row per model {name: {"digits": dataset name, "images": [(H, W)] * 2, "density": [(l, H, W)] * 2,
    "true": [(l,)] * 2, "pred": [(l,)] * 2}}: each image with its per-class density map overlaid (CLASS_COLOURS),
    the quadrant boxes dashed, true -> predicted counts in the title."""
    fig, axes = plt.subplots(len(rows), 2, figsize=(8, 4.1 * len(rows)), squeeze=False)
    for row, (name, r) in zip(axes, rows.items()):
        for ax, img, dmap, true, pred in zip(row, r["images"], r["density"], r["true"], r["pred"]):
            ax.imshow(img, cmap="gray_r")
            for ci in range(dmap.shape[0]):
                a = np.clip(dmap[ci] / max(dmap[ci].max(), 1e-9), 0, 1)
                rgba = np.zeros(a.shape + (4,))
                rgba[..., :3] = to_rgb(CLASS_COLOURS[ci % len(CLASS_COLOURS)])
                rgba[..., 3] = 0.45 * a
                ax.imshow(rgba)
            ax.axhline(img.shape[-1] / 2, color="k", lw=0.5, ls="--")
            ax.axvline(img.shape[-1] / 2, color="k", lw=0.5, ls="--")
            shown = ", ".join(f"{t:.0f}->{p:.2f}" for t, p in zip(true, pred))
            if len(pred) > 3:  # ten classes do not fit a title: totals and the largest class error
                shown = (f"total {true.sum():.0f}->{pred.sum():.2f}, "
                         f"max class |error| {np.abs(pred - true).max():.2f}")
            ax.set_title(f"{name.split('/')[1]} ({r['digits']}) true->pred: {shown}", fontsize=7)
            ax.axis("off")
    fig.suptitle("density maps (per class colour) over 256 x 256 held-out test composites; dashed: the quadrant boxes")
    return fig


def counting_scene_figure(image: np.ndarray, density: np.ndarray, dataset: str):
    """A large composite `image` (H, W) beside its tile contributions `density` (l, h, w), summed over classes."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    axes[0].imshow(image, cmap="gray_r")
    axes[0].set_title(f"{image.shape[0]} x {image.shape[1]} test scene ({dataset})", fontsize=9)
    im = axes[1].imshow(density.sum(0), cmap="magma")
    axes[1].set_title("tile contributions, summed over classes", fontsize=9)
    plt.colorbar(im, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.axis("off")
    return fig
