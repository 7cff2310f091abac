"""`zoo reproduce MODEL`: the paper's numbers, ours beside them, figures and commands -> reports/MODEL.md."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from ..registry import unknown_name_error

# model -> report module; like the registry, a report whose module is not in the checkout is not offered
REPORTS = {m: f"zoo.reports.{m}" for m in ("ising_cnn", "schrodinger_cnn", "ednn", "rugan", "ntk_gan", "mbl")}


def available_reports() -> list[str]:
    return sorted(m for m, mod in REPORTS.items() if importlib.util.find_spec(mod) is not None)


def reports_dir() -> Path:
    return Path.cwd() / "reports"


def reproduce(model: str, quick: bool = False) -> Path:
    if model not in available_reports():
        raise unknown_name_error("model with a report", model, available_reports())
    path = importlib.import_module(REPORTS[model]).write_report(reports_dir(), quick=quick)
    _write_index(reports_dir())
    return path


def _write_index(out: Path) -> None:
    lines = ["# Reproductions", "", "Each report puts the paper's numbers beside ours, with figures and the exact commands.", ""]
    for m in available_reports():
        if (out / f"{m}.md").exists():
            lines.append(f"- [{m}](reports/{m}.md)")
    (out.parent / "REPRODUCTION.md").write_text("\n".join(lines) + "\n")
