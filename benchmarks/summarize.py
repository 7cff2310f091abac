"""Collect benchmarks/results/*.json into BENCHMARKS.md (medians and ratios, as measured)."""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def main():
    lines = ["# Benchmarks", "", "Speed is measured as ratios against a baseline run side by side in the same process "
             "(these machines are noisy); medians of repeated runs. Reproduce with `make bench`.", ""]
    for p in sorted((HERE / "results").glob("*.json")):
        r = json.loads(p.read_text())
        lines += [f"## {p.stem}", "", f"{r.get('benchmark', '')}", "", "```json",
                  json.dumps({k: v for k, v in r.items() if k not in ("benchmark",)}, indent=1)[:3000], "```", ""]
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
