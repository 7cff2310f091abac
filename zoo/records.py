"""The one metric record every measurement returns, number formatting, and the paper-vs-ours table that both the
CLI (`zoo evaluate`, `zoo publish`) and the reports print.

A record is a plain dict (it goes into JSON cards as is):
    {"name", "value", "split" (what it was measured on), "how" (what was computed), "unit"}
plus "stored": True for a statistic the model kept when it was fitted (re-reading it measures nothing new).
The paper's side of a card is a list of {"metric", "value" or "text", "ref"}.
"""
from __future__ import annotations

__all__ = ["metric", "fmt", "paper_vs_ours_rows", "paper_vs_ours_text", "paper_vs_ours_markdown"]


def metric(name: str, value, split: str, how: str, unit: str = "", stored: bool = False) -> dict:
    rec = {"name": name, "value": float(value), "split": split, "how": how, "unit": unit}
    if stored:
        rec["stored"] = True
    return rec


def fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _paper_value(p: dict | None) -> str:
    if p is None:
        return "-"
    text = fmt(p.get("value")) if p.get("value") is not None else p.get("text", "-")
    return f"{text} ({p['ref']})" if p.get("ref") else text


def paper_vs_ours_rows(card: dict, fresh: list[dict] | None = None, skip: tuple[str, ...] = ()) -> list[dict]:
    """One row per metric of the card: {metric, ours, now (a re-measurement, '(stored)' or None), paper, unit,
    split}."""
    paper = {p["metric"]: p for p in card.get("paper", [])}
    now = {m["name"]: m for m in fresh or []}
    rows = []
    for m in card.get("metrics", []):
        if m["name"] in skip:
            continue
        again = now.get(m["name"])
        rows.append({"metric": m["name"], "ours": fmt(m["value"]), "paper": _paper_value(paper.get(m["name"])),
                     "unit": m.get("unit") or "", "split": m.get("split", ""),
                     "now": None if fresh is None else "(stored)" if (again or {}).get("stored")
                     else fmt((again or {}).get("value"))})
    return rows


def paper_vs_ours_text(card: dict, fresh: list[dict] | None = None) -> str:
    """Plain-text table for the terminal."""
    head = f"{'metric':<26} {'card':>12}" + (f" {'now (fresh)':>12}" if fresh is not None else "") + "   paper"
    lines = [head]
    for r in paper_vs_ours_rows(card, fresh):
        line = f"{r['metric']:<26} {r['ours']:>12}" + (f" {r['now']:>12}" if fresh is not None else "")
        lines.append(line + f"   {r['paper']}" + (f"  [{r['unit']}]" if r["unit"] else ""))
    return "\n".join(lines)


def paper_vs_ours_markdown(cards: dict, skip: tuple[str, ...] = ()) -> list[str]:
    """Markdown rows for the reports: every metric of every card, the paper's number (or words) beside ours and
    what it was measured on."""
    lines = ["| checkpoint | metric | paper | ours | measured on |", "|---|---|---|---|---|"]
    for name, card in cards.items():
        for r in paper_vs_ours_rows(card, skip=skip):
            unit = f" {r['unit']}" if r["unit"] else ""
            lines.append(f"| `{name}` | {r['metric']} | {r['paper']} | {r['ours']}{unit} | {r['split']} |")
    return lines
