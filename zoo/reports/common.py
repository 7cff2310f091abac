"""Pieces every report uses: the repository paths (number formatting and the paper-vs-ours table are zoo.records)."""
from __future__ import annotations

from pathlib import Path

from ..paths import source_checkout

# Reports are written from a checkout, which holds the runs and benchmark results they read; an installed zoo
# reads them from the folder it is run in (`zoo reproduce MODEL --out DIR`)
REPO = source_checkout() or Path.cwd()
RESULTS = REPO / "benchmarks" / "results"  # written by the benchmarks/ scripts, read by the reports
