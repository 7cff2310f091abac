"""`zoo reproduce MODEL`: the paper's numbers, ours beside them, figures and commands -> reports/MODEL.md."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from ..paths import source_checkout
from ..registry import unknown_name_error

# model -> report module; like the registry, a report whose module is not in the checkout is not offered
REPORTS = {m: f"zoo.reports.{m}" for m in ("ising_cnn", "schrodinger_cnn", "ednn", "rugan", "ntk_gan", "mbl",
                                                     "flows", "nqs", "cool")}


def available_reports() -> list[str]:
    return sorted(m for m, mod in REPORTS.items() if importlib.util.find_spec(mod) is not None)


def reports_dir(quick: bool = False) -> Path | None:
    """The checkout's reports/ (committed full reports), or reports/quick/ (ignored by git) for `--quick` runs, so a
    quick run never replaces a full report; None outside a checkout, where the caller must name a folder."""
    repo = source_checkout()
    if repo is None:
        return None
    return repo / "reports" / "quick" if quick else repo / "reports"


def reproduce(model: str, quick: bool = False, out: str | Path | None = None) -> Path:
    """Write the report of `model` into `out` (default: `reports_dir(quick)`); the index REPRODUCTION.md is
    rewritten only for full reports in the checkout's own reports/."""
    if model not in available_reports():
        raise unknown_name_error("model with a report", model, available_reports())
    default = reports_dir(quick)
    if out is None and default is None:
        raise ValueError("out: this zoo is installed, not a checkout, so there is no reports/ folder to write into; "
                         "name one with `zoo reproduce MODEL --out DIR`")
    target = Path(out) if out is not None else default
    target.mkdir(parents=True, exist_ok=True)
    path = importlib.import_module(REPORTS[model]).write_report(target, quick=quick)
    if not quick and default is not None and target.resolve() == default.resolve():
        _write_index(target)
    return path


def _write_index(out: Path) -> None:
    lines = ["# Reproductions", "", "Each report puts the paper's numbers beside ours, with figures and the exact commands.", ""]
    for m in available_reports():
        if (out / f"{m}.md").exists():
            lines.append(f"- [{m}](reports/{m}.md)")
    (out.parent / "REPRODUCTION.md").write_text("\n".join(lines) + "\n")
