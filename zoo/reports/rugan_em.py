"""Figures of the (E/L^2, m)-conditioned RUGAN (thesis Fig. 6, L3176): the error heat map over the
(E/L^2, m) plane at the training size and at 4x the side, and the Fig. 6 bottom-row cuts (mean
|error| +- std at fixed m and at fixed E/L^2).  A helper for zoo/reports/rugan.py, not a report of
its own (the report registry maps `rugan` to zoo.reports.rugan).

    rows = em_rows()                                   # from the last measure_em() (zoo publish / evaluate)
    em_heatmap(rows, out_dir / "rugan_em_heatmap.png")  # or em_rows(model=..., data_args=...) to measure afresh
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..figures.common import plt, save

from .common import RESULTS


def em_rows(model=None, data_args: dict | None = None, quick: bool = False, seed: int | None = None,
            path: str | None = None) -> dict:
    """Per-grid-point rows {"rows": [...], "train_windows": ...}: measured afresh when a model is given
    (zoo.rugan.em_evaluation_rows), else read from the file the last measure_em() wrote."""
    from datamodules.rugan_em import DEFAULT_WINDOWS
    from zoo.rugan import EM_ROWS_FILE, em_evaluation_rows

    if model is not None:
        if data_args is None:
            data_args = (getattr(model, "card", None) or {}).get("dataset", {}).get("init_args", {})
        data_args = dict(data_args)
        rows = em_evaluation_rows(model, data_args, seed=seed, quick=quick)
        return {"rows": rows, "train_windows": data_args.get("train_windows") or DEFAULT_WINDOWS}
    d = json.loads(Path(path or RESULTS / EM_ROWS_FILE).read_text())
    d["train_windows"] = d.get("train_windows") or DEFAULT_WINDOWS
    return d


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


def em_heatmap(data: dict, path, cut_m: float = 0.0, cut_e: float = -1.0) -> Path:
    """PNG: top rows median |dE/L^2| and median |dm| per grid point at each L (log colour scale, training
    windows dashed); bottom row mean |error| +- std along m = cut_m and E/L^2 = cut_e (Fig. 6, L3176)."""
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
    return save(fig, path)


EM_NAME = "rugan/ising-em-L16"
EM_CONFIG = "configs/rugan/ising-em-L16.yaml"


def em_section(out_dir, quick: bool = False) -> list[str]:
    """Markdown lines (and the heat-map PNG in out_dir) for the (E/L^2, m) model, for zoo/reports/rugan.py:
    the card's metrics beside a fresh measurement (or the rows saved at publish, when they belong to this
    checkpoint) and the paper's words; a note with the commands when nothing is published yet."""
    import zoo
    from zoo.rugan import EM_ROWS_FILE, summarize_em

    out = Path(out_dir)
    lines = ["## (E/L^2, m)-conditioned RUGAN (Fig. 6, L3169-3178)", ""]
    cmds = ["```", f"zoo fit --config {EM_CONFIG}",
            f"zoo publish runs/rugan/ising-em-L16/checkpoints/physics-best.ckpt --name {EM_NAME} \\",
            f"    --config {EM_CONFIG} --wall-time SECONDS", f"zoo evaluate {EM_NAME}", "```", ""]
    if EM_NAME not in zoo.list_pretrained("rugan"):
        return lines + [f"**`{EM_NAME}` is not published yet.** Train and publish it with:", ""] + cmds
    model = zoo.load_pretrained(EM_NAME)
    card = model.card
    rows_file = RESULTS / EM_ROWS_FILE  # written by `zoo publish` in the checkout
    saved = json.loads(rows_file.read_text()) if rows_file.exists() else {}
    if saved.get("sha256") == card["sha256"] and not saved.get("quick") and not quick:
        data, source = em_rows(path=rows_file), f"the rows measured at publish (`benchmarks/results/{EM_ROWS_FILE}`)"
    else:
        data = em_rows(model=model, quick=quick, seed=2024)
        source = "fresh samples (seed 2024)" + (" quick: coarser grid, fewer samples" if quick else "")
    fresh = {m["name"]: m for m in summarize_em(data["rows"])}
    card_m = {m["name"]: m for m in card["metrics"]}
    paper = {p["metric"]: p for p in card.get("paper", [])}
    png = em_heatmap(data, out / "rugan_em_heatmap.png")
    lines += [f"`{EM_NAME}`, trained {card['training'].get('global_step')} optimizer steps at L = 16 on targeted-"
              f"sampling data restricted to the windows {data['train_windows']} ([E/L^2 lo, hi, m lo, hi]).",
              f"'card' = the card's value; 'here' = from {source}.", "",
              "| metric | paper | card | here | where |", "|---|---|---|---|---|"]
    for name, m in fresh.items():
        p = paper.get(name)
        pv = "-" if p is None else f"{p.get('text', '-')} ({p['ref']})"
        cv = card_m.get(name, {}).get("value")
        cv = "-" if cv is None else f"{cv:.4g}"
        lines.append(f"| {name} | {pv} | {cv} | {m['value']:.4g} | {m['split']} |")
    return lines + ["", f"![(E/L^2, m) error heat map]({png.name})", "", "Commands:", ""] + cmds
