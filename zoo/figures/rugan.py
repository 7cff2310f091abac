"""RUGAN figures (Casert et al., arXiv:2002.07055): data in, matplotlib figure out.  The training callback
(callbacks.rugan_figures) and the report (zoo.reports.rugan) sample the model and the Monte Carlo reference and draw
with these.
"""
from __future__ import annotations

import numpy as np

from .common import plt


def gallery_figure(samples: dict, temperatures, sizes, reference: dict | None = None, heldout=()):
    """One row per size (or, with `reference`, per temperature), one panel per configuration.

    samples: {(L, T): (n, L, L) +-1 array} of generated configurations.
    reference: {(L, T): (L, L) array} of Monte Carlo configurations to draw beside one generated sample each
        (rows: temperatures; columns: generated, MC per size); `heldout` temperatures are marked.
    """
    if reference is not None:
        fig, axes = plt.subplots(len(temperatures), 2 * len(sizes), squeeze=False,
                                 figsize=(2 * len(sizes) * 1.6, len(temperatures) * 1.7))
        for i, T in enumerate(temperatures):
            for j, L in enumerate(sizes):
                for k, (img, who) in enumerate(((samples[(L, T)][0], "GAN"), (reference[(L, T)], "MC"))):
                    ax = axes[i, 2 * j + k]
                    _spins(ax, img)
                    if i == 0:
                        ax.set_title(f"{who} L={L}", fontsize=8)
            axes[i, 0].set_ylabel(f"T={T}" + (" (held out)" if T in heldout else ""), fontsize=8)
        fig.suptitle("RUGAN samples (sign of output) beside Monte Carlo")
        return fig
    n = len(next(iter(samples.values())))
    fig, axes = plt.subplots(len(sizes), len(temperatures) * n, squeeze=False,
                             figsize=(1.3 * len(temperatures) * n, 1.4 * len(sizes)))
    for i, L in enumerate(sizes):
        for j, T in enumerate(temperatures):
            for k in range(n):
                ax = axes[i, j * n + k]
                _spins(ax, samples[(L, T)][k])
                if k == 0:
                    ax.set_title(f"T={T:g}, L={L}", fontsize=7)
    return fig


def _spins(ax, img) -> None:
    ax.imshow(np.asarray(img), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def observables_figure(val: dict):
    """val: {(kind, T): [count, sum e, sum |m|]} with kind 'real' or 'fake' (zoo.rugan.RUGAN._val)."""
    temps = sorted({T for _, T in val})
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, idx, name in ((axes[0], 1, "<e> per spin"), (axes[1], 2, "<|m|>")):
        for kind, style in (("real", "ko-"), ("fake", "rs--")):
            ys = [float(val[(kind, T)][idx] / val[(kind, T)][0]) for T in temps if (kind, T) in val]
            ax.plot(temps[:len(ys)], ys, style, ms=3, label="Monte Carlo (val)" if kind == "real" else "RUGAN")
        ax.set_xlabel("T")
        ax.set_ylabel(name)
    axes[0].legend(fontsize=7)
    return fig


def histograms_figure(rows: list[dict]):
    """L = 16 energy histograms, generated vs Monte Carlo, at up to six temperatures (rows of
    zoo.evaluation.rugan.evaluation_rows)."""
    sel = [r for r in rows if r["L"] == 16 and r.get("e_hist_gan")]
    pick = [r for r in sel if r["T"] in (1.5, 1.75, 2.25, 2.45, 3.0, 3.25)] or sel[:6]
    fig, axes = plt.subplots(1, len(pick), figsize=(3 * len(pick), 2.8), squeeze=False)
    for ax, r in zip(axes[0], pick):
        bins = np.arange(-2.0, 0.01, 4 / 256) - 2 / 256
        ax.hist(r["e_hist_mc"], bins=bins, alpha=0.5, density=True, label="MC")
        ax.hist(r["e_hist_gan"], bins=bins, alpha=0.5, density=True, label="GAN")
        ax.set_title(f"T={r['T']} ({r['split']})\nW1 GAN/random={r['w1_e'] / r['w1_e_random']:.3f}", fontsize=8)
        ax.set_xlabel("e = E/N")
        lo = min(np.min(r["e_hist_mc"]), np.min(r["e_hist_gan"]))
        hi = max(np.max(r["e_hist_mc"]), np.max(r["e_hist_gan"]))
        ax.set_xlim(lo - 0.05, hi + 0.05)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("L = 16 energy histograms, GAN vs Monte Carlo")
    return fig



def observables_vs_T_figure(rows: list[dict], T_c: float):
    """<e>, <|m|>, C/N, chi/N vs T at L = 16 and 64, generated (training and held-out T) vs Monte Carlo."""
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.5))
    keys = [("e", "<e>"), ("m", "<|m|>"), ("c", "C/N"), ("chi", "chi/N")]
    for a, L in enumerate((16, 64)):
        sel = sorted([r for r in rows if r["L"] == L], key=lambda r: r["T"])
        for ax, (k, lab) in zip(axes[a], keys):
            T = np.array([r["T"] for r in sel])
            mc = np.array([r[f"{k}_mc"] for r in sel])
            g = np.array([r[f"{k}_gan"] for r in sel])
            held = np.array([r["split"] == "heldout" for r in sel])
            ax.plot(T, mc, "k.-", lw=0.8, label="MC")
            ax.plot(T[~held], g[~held], "o", ms=4, color="C0", label="GAN (training T)")
            ax.plot(T[held], g[held], "s", ms=6, mfc="none", color="C3", label="GAN (held-out T)")
            ax.axvspan(2.0, 2.6, color="0.9", zorder=0)
            ax.axvline(T_c, color="0.6", lw=0.6, ls=":")
            ax.set_xlabel("T")
            ax.set_ylabel(f"{lab}, L={L}")
        axes[a][0].legend(fontsize=7)
    fig.suptitle("Observables vs T: RUGAN (trained at L=16) vs Monte Carlo at the same L; grey: critical window")
    return fig



def correlations_figure(rows: list[dict]):
    """G(r) at L = 16, 32, 64: Monte Carlo lines, generated dots."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, L in zip(axes, (16, 32, 64)):
        for i, r in enumerate(sorted([r for r in rows if r["L"] == L], key=lambda r: r["T"])):
            if r["T"] not in (1.5, 1.75, 2.25, 2.45, 2.5, 3.0, 3.25):
                continue
            ax.plot(r["G_mc"], "-", color=f"C{i % 10}", lw=1)
            ax.plot(r["G_gan"], "o", color=f"C{i % 10}", ms=3, label=f"T={r['T']}")
        ax.set_xlabel("r")
        ax.set_ylabel(f"G(r), L={L}")
    axes[0].legend(fontsize=7)
    fig.suptitle("Spin correlation G(r) = <s_0 s_r>: lines Monte Carlo, dots RUGAN")
    return fig


def selection_figure(history: list[dict]):
    """Selection score vs generator step (callbacks.physics_selection's history rows), the selected one starred."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    ax.semilogy([r["step"] for r in history], [r["score"] for r in history], "o-", ms=3)
    best = [r for r in history if r["best"]]
    ax.semilogy([best[-1]["step"]], [best[-1]["score"]], "r*", ms=12, label="selected")
    ax.set_xlabel("generator step")
    ax.set_ylabel("selection score (reduced chi^2)")
    ax.legend()
    ax.set_title("Model selection by physics at the training T", fontsize=9)
    return fig


def _grid(sel: list[dict], key: str):
    es = np.array(sorted({r["e"] for r in sel}))
    ms = np.array(sorted({r["m"] for r in sel}))
    img = np.full((len(ms), len(es)), np.nan)
    for r in sel:
        img[np.searchsorted(ms, r["m"]), np.searchsorted(es, r["e"])] = r[key]
    return es, ms, img


def _windows(ax, windows) -> None:
    for e0, e1, m0, m1 in windows:
        ax.plot([e0, e1, e1, e0, e0], [m0, m0, m1, m1, m0], "w--", lw=1.2)


def em_heatmap(data: dict, cut_m: float = 0.0, cut_e: float = -1.0):
    """Top rows median |dE/L^2| and median |dm| per grid point at each L (log colour scale, training
    windows dashed); bottom row mean |error| +- std along m = cut_m and E/L^2 = cut_e (as arXiv:2002.07055 Fig. 6,
    thesis L3176)."""
    from matplotlib.colors import LogNorm

    rows, windows = data["rows"], data.get("train_windows") or []
    Ls = sorted({r["L"] for r in rows})
    if not Ls:
        raise ValueError("no rows to plot")
    fig, axes = plt.subplots(3, len(Ls), figsize=(4.6 * len(Ls), 10.5), squeeze=False)
    for j, L in enumerate(Ls):
        sel = [r for r in rows if r["L"] == L]
        for i, (key, what) in enumerate((("median_de", "median |requested - realized| E/L$^2$"),
                                         ("median_dm", "median |requested - realized| m"))):
            es, ms, img = _grid(sel, key)
            de, dm = (es[1] - es[0] if len(es) > 1 else 1), (ms[1] - ms[0] if len(ms) > 1 else 1)
            pos = img[np.isfinite(img) & (img > 0)]
            floor = pos.min() if pos.size else 1e-3
            ax = axes[i, j]
            cmap = plt.get_cmap("viridis").copy()
            cmap.set_bad("0.85")  # grid points no configuration of this L has
            im = ax.imshow(np.where(np.isnan(img), np.nan, np.maximum(img, floor)), origin="lower", aspect="auto",
                           cmap=cmap,
                           extent=[es[0] - de / 2, es[-1] + de / 2, ms[0] - dm / 2, ms[-1] + dm / 2],
                           norm=LogNorm(vmin=floor, vmax=max(floor * 10, np.nanmax(img))))
            _windows(ax, windows)
            ax.axhline(cut_m, color="tab:blue", lw=0.8)
            ax.axvline(cut_e, color="tab:blue", lw=0.8)
            fig.colorbar(im, ax=ax, fraction=0.046)
            ax.set_title(f"L={L}: {what}\nmedian over grid {np.nanmedian(img):.3g} (n={sel[0]['n']}/point)", fontsize=8)
            ax.set_xlabel("requested E/L$^2$")
            ax.set_ylabel("requested m")
        ax = axes[2, j]
        for (key, lab, fixed, val, col) in (("e", f"|dE/L$^2$| along m={cut_m} (vs E/L$^2$)", "m", cut_m, "tab:red"),
                                            ("m", f"|dm| along E/L$^2$={cut_e} (vs m)", "e", cut_e, "tab:green")):
            line = [r for r in sel if abs(r[fixed] - val) < 1e-9]
            if not line:  # nearest grid line to the requested cut
                near = min({r[fixed] for r in sel}, key=lambda v: abs(v - val))
                line = [r for r in sel if r[fixed] == near]
            free = "m" if fixed == "e" else "e"
            line.sort(key=lambda r: r[free])
            x = np.array([r[free] for r in line])
            y, sd = np.array([r[f"mean_d{key}"] for r in line]), np.array([r[f"std_d{key}"] for r in line])
            ax.plot(x, y, color=col, label=lab)
            ax.fill_between(x, np.maximum(y - sd, 0), y + sd, color=col, alpha=0.25)
        ax.set_xlabel("requested E/L$^2$ (red) or m (green)")
        ax.set_ylabel("mean |error| +- std")
        ax.legend(fontsize=7)
    fig.subplots_adjust(hspace=0.45, wspace=0.3)
    fig.suptitle("RUGAN (E/L$^2$, m): requested vs realized labels over the plane (training windows dashed; "
                 "trained at L=%d)" % Ls[0], fontsize=9)
    return fig
