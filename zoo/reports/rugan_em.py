"""The (E/L^2, m)-conditioned RUGAN's section of the RUGAN report (arXiv:2002.07055 Supp. A.4, Fig. 6, thesis
L3169-3178): the card's metrics beside a measurement, and the error heat map over the (E/L^2, m) plane at the training
size and at 4x the side (zoo.figures.rugan.em_heatmap).  A helper for zoo/reports/rugan.py, not a report of its own
(the report registry maps `rugan` to zoo.reports.rugan).

    data = em_rows()                   # from the last measure_em() (zoo publish / evaluate)
    data = em_rows(model=..., data_args=...)   # measured afresh
"""
from __future__ import annotations

import json
from pathlib import Path

from ..figures.common import save
from ..figures.rugan import em_heatmap
from ..records import paper_vs_ours_rows
from .common import RESULTS


def em_rows(model=None, data_args: dict | None = None, quick: bool = False, seed: int | None = None,
            path: str | None = None) -> dict:
    """Per-grid-point rows {"rows": [...], "train_windows": ...}: measured afresh when a model is given
    (zoo.evaluation.rugan.em_evaluation_rows), else read from the file the last measure_em() wrote."""
    from datamodules.rugan_em import DEFAULT_WINDOWS
    from zoo.evaluation.rugan import EM_ROWS_FILE, em_evaluation_rows

    if model is not None:
        if data_args is None:
            data_args = (getattr(model, "card", None) or {}).get("dataset", {}).get("init_args", {})
        data_args = dict(data_args)
        rows = em_evaluation_rows(model, data_args, seed=seed, quick=quick)
        return {"rows": rows, "train_windows": data_args.get("train_windows") or DEFAULT_WINDOWS}
    d = json.loads(Path(path or RESULTS / EM_ROWS_FILE).read_text())
    d["train_windows"] = d.get("train_windows") or DEFAULT_WINDOWS
    return d


EM_NAME = "rugan/ising-em-L16"
EM_CONFIG = "configs/rugan/ising-em-L16.yaml"


def em_section(out_dir, quick: bool = False) -> list[str]:
    """Markdown lines (and the heat-map PNG in out_dir) for the (E/L^2, m) model, for zoo/reports/rugan.py:
    the card's metrics beside a fresh measurement (or the rows saved at publish, when they belong to this
    checkpoint) and the paper's words; a note with the commands when nothing is published yet."""
    import zoo
    from zoo.evaluation.rugan import EM_ROWS_FILE, summarize_em

    out = Path(out_dir)
    lines = ["## (E/L^2, m)-conditioned RUGAN (arXiv:2002.07055 Supp. A.4, Fig. 6; thesis L3169-3178)", ""]
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
    png = save(em_heatmap(data), out / "rugan_em_heatmap.png")
    lines += [f"`{EM_NAME}`, trained {card['training'].get('global_step')} optimizer steps at L = 16 on targeted-"
              f"sampling data restricted to the windows {data['train_windows']} ([E/L^2 lo, hi, m lo, hi]).",
              f"'card' = the card's value; 'here' = from {source}.", "",
              "| metric | paper | card | here | where |", "|---|---|---|---|---|"]
    for r in paper_vs_ours_rows(card, summarize_em(data["rows"])):
        lines.append(f"| {r['metric']} | {r['paper']} | {r['ours']} | {r['now']} | {r['split']} |")
    return lines + ["", f"![(E/L^2, m) error heat map]({png.name})", "", "Commands:", ""] + cmds
