"""Collect benchmarks/results/*.json into BENCHMARKS.md: the medians and ratios as measured."""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def _metropolis(r) -> list[str]:
    s = r["summary"]
    rows = ["| case | ours (M spin updates/s) | float32 torch checkerboard (M/s) | ratio | goal |", "|---|---|---|---|---|"]
    for case, v in s.items():
        if isinstance(v, dict):
            rows.append(f"| {case} | {v['ours_median_Mupd_per_s']:.1f} | {v['baseline_median_Mupd_per_s']:.1f} | "
                        f"{v['ratio_median']:.2f}x | >= 3x |")
    rows += ["", f"Exact 4x4 thermodynamics (enumeration, 100 temperatures): "
                 f"{s['exact_thermodynamics_4x4_100T_median_s']:.3f} s median (goal <= 1 s). "
                 f"Threads: torch {s['torch_threads']}, numba {s['numba_threads']}; {r['repeats']} repeats."]
    return rows


def _training(r) -> list[str]:
    return [f"Hand-written loop {r['plain_s_median']:.2f} s/epoch, `Trainer.fit` {r['lightning_s_median']:.2f} s/epoch: "
            f"ratio **{r['ratio_lightning_over_plain']:.3f}** (goal <= 1.10; medians of {r['repeats']}, "
            f"torch threads {r['machine']['torch_threads']})."]


def _data(r) -> list[str]:
    rows = ["| workers | median wall time (s) |", "|---|---|"]
    rows += [f"| {k.split('=')[1]} | {v['median_s']:.2f} |" for k, v in r["results"].items()]
    return rows + ["", f"Speed-up 2 workers over 1: {r['speedup_2_over_1']:.2f}x."]


FORMATS = {"perf_metropolis": _metropolis, "perf_training": _training, "perf_data": _data}


def main():
    lines = ["# Benchmarks", "", "Speed is measured as ratios against a baseline run side by side in the same process "
             "(these machines are noisy and shared); medians of repeated runs. Reproduce with `make bench`; raw "
             "numbers and machine details in `benchmarks/results/*.json`.", ""]
    for p in sorted((HERE / "results").glob("*.json")):
        r = json.loads(p.read_text())
        lines += [f"## {p.stem}", "", r.get("benchmark", ""), ""]
        lines += FORMATS.get(p.stem, lambda r: ["```json", json.dumps(r, indent=1)[:2000], "```"])(r) + [""]
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
