"""Pieces every report uses: the repository paths, number formatting and the paper-vs-ours table built from cards."""
from __future__ import annotations

from pathlib import Path

from ..paths import source_checkout

# Reports are written from a checkout, which holds the runs and benchmark results they read; an installed zoo
# reads them from the folder it is run in (`zoo reproduce MODEL --out DIR`)
REPO = source_checkout() or Path.cwd()
RESULTS = REPO / "benchmarks" / "results"  # written by the benchmarks/ scripts, read by the reports


def fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def paper_vs_ours_table(cards: dict, skip: tuple[str, ...] = ()) -> list[str]:
    """Markdown rows: every measured metric of every card, with the paper's number for it (or its
    words, with the spec line reference) beside ours and what it was measured on."""
    rows = ["| checkpoint | metric | paper | ours | measured on |", "|---|---|---|---|---|"]
    for name, card in cards.items():
        paper = {p["metric"]: p for p in card.get("paper", [])}
        for m in card["metrics"]:
            if m["name"] in skip:
                continue
            p = paper.get(m["name"])
            pv = "-" if p is None else (fmt(p.get("value")) if p.get("value") is not None else p.get("text", "-"))
            if p is not None and p.get("ref"):
                pv += f" ({p['ref']})"
            unit = f" {m['unit']}" if m.get("unit") else ""
            rows.append(f"| `{name}` | {m['name']} | {pv} | {fmt(m['value'])}{unit} | {m['split']} |")
    return rows
