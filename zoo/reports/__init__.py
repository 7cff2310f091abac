"""`zoo reproduce MODEL`: the paper's numbers, ours beside them, figures and commands -> reports/MODEL.md."""
from __future__ import annotations

import importlib
from pathlib import Path

from ..registry import list_models, unknown_name_error

REPORTS = {"ising_cnn": "zoo.reports.ising_cnn"}


def reports_dir() -> Path:
    return Path.cwd() / "reports"


def reproduce(model: str, quick: bool = False) -> Path:
    if model not in REPORTS:
        raise unknown_name_error("model with a report", model, [m for m in list_models() if m in REPORTS])
    path = importlib.import_module(REPORTS[model]).write_report(reports_dir(), quick=quick)
    _write_index(reports_dir())
    return path


def _write_index(out: Path) -> None:
    lines = ["# Reproductions", "", "Each report puts the paper's numbers beside ours, with figures and the exact commands.", ""]
    for m in sorted(REPORTS):
        if (out / f"{m}.md").exists():
            lines.append(f"- [{m}](reports/{m}.md)")
    (out.parent / "REPRODUCTION.md").write_text("\n".join(lines) + "\n")
