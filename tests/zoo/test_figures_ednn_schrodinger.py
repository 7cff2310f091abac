"""The EDNN and Schrodinger CNN figure functions (zoo.figures.ednn, zoo.figures.schrodinger_cnn) on small synthetic
inputs: each returns a Figure with the expected panels, each panel draws something, nothing touches files."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from zoo.figures import ednn as E
from zoo.figures import schrodinger_cnn as S
from zoo.figures.common import plt

RNG = np.random.default_rng(0)


def _artists(ax) -> int:
    return len(ax.lines) + len(ax.images) + len(ax.patches) + len(ax.collections)


def _check(fig, n_axes: int, n_drawn: int | None = None):
    """`n_axes` axes in all (colour bars and insets included); the first `n_drawn` (all by default) draw something."""
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == n_axes
        for ax in fig.axes[:n_axes if n_drawn is None else n_drawn]:
            assert _artists(ax) > 0, ax.get_title()
    finally:
        plt.close(fig)


def test_ising_figures():
    y = RNG.normal(size=50)
    preds = {"ednn/ising-f1c1": y + 0.1 * RNG.normal(size=50), "ednn/ising-f1c2": y + 0.2 * RNG.normal(size=50)}
    _check(E.parity_figure(y, preds, {n: float(np.median(np.abs(p - y))) for n, p in preds.items()}), 2)
    rows = [{"T": T, "L": L, "median_abs_error": 0.1 * L, "median_abs_error_per_spin": 0.1 / L}
            for T in (1.5, 3.0) for L in (16, 64)]
    _check(E.transfer_figure(rows), 2)
    blur = {n: [{"sigma": 0.0, "region": "none", "median_abs_change": 0.0}]
            + [{"sigma": s, "region": r, "median_abs_change": s * (i + 1)} for s in (0.5, 1.0)
               for i, r in enumerate(("context", "focus", "all"))] for n in preds}
    _check(E.blur_figure(blur), 2)
    mc = {"T": [1.5, 2.5], "L": 8, "exact_e": [-1.9, -1.2], "exact_e_err": [0.01, 0.02], "ednn_e": [-1.9, -1.21],
          "ednn_e_err": [0.01, 0.02], "rel_dev": [0.001, 0.008]}
    _check(E.mc_figure(mc), 2)


@pytest.mark.parametrize("with_cnn", [True, False])
def test_atoms_figures(with_cnn):
    areas = [164.0, 655.0, 2621.0]
    labels = ["EDNN", "CNN"] if with_cnn else ["EDNN"]
    curves = {lab: {"area": areas, "median": [1.0 / (k + 1), 0.5, 0.2], "mean": [1.2, 0.6, 0.3]} for k, lab in
              enumerate(labels)}
    fig = E.atoms_size_figure(curves, areas, ["164 (1x)", "655 (4x)", "2621 (16x)"], 0.8)
    assert len(fig.axes[0].lines) == 2 * len(labels) + 1  # median + mean per model, the label-std line
    _check(fig, 1)
    panels = {f"{m} cells": {lab: (RNG.normal(size=20), RNG.normal(size=20)) for lab in labels}
              for m in ("1x", "4x", "16x")}
    _check(E.atoms_parity_figure(panels), 3)
    tiles, exact = RNG.normal(size=(4, 4)), RNG.normal(size=(4, 4))
    _check(E.atoms_cells_figure(RNG.random((16, 16)), RNG.random((64, 64)), tiles, exact, 16, "16x"), 5, 4)


def test_counting_figures():
    def row(l):
        return {"digits": f"digits-{l}", "images": [RNG.random((32, 32)) for _ in range(2)],
                "density": [RNG.random((l, 32, 32)) for _ in range(2)],
                "true": [RNG.integers(0, 4, l).astype(float) for _ in range(2)],
                "pred": [RNG.random(l) * 4 for _ in range(2)]}

    rows = {"ednn/count-digits-2": row(2), "ednn/count-digits-10": row(10)}
    fig = E.counting_density_figure(rows)
    assert len(fig.axes[0].images) == 1 + 2  # the image, one overlay per class
    assert "total" in fig.axes[2].get_title()  # ten classes: totals in the title
    _check(fig, 4)
    _check(E.counting_scene_figure(RNG.random((64, 64)), RNG.random((2, 8, 8)), "digits-2"), 3, 2)


def test_schrodinger_figures():
    x = np.linspace(-20, 20, 16)
    examples = {t: [(RNG.random((16, 16)), 0.1 * (i + 1)) for i in range(2)] for t in ("SHO", "IW", "DIG", "random")}
    _check(S.example_potentials(examples, x), 8 + 8, 8)  # 2 x 4 panels, a colour bar each
    labels = {fam: {"e0": RNG.random(40), "e1": RNG.random(40), "kinetic": RNG.random(40), "n": 40}
              for fam in ("sho", "iw")}
    _check(S.label_histograms(labels), 3)
    y = RNG.random(200)
    fig = S.parity_mha("schrodinger_cnn/sho", y, y + 0.01 * RNG.normal(size=200), "e0")
    assert [_artists(a) > 0 for a in fig.axes[0].child_axes] == [True]  # the error-histogram inset
    _check(fig, 2, 1)  # the 2-D histogram and its colour bar


def test_report_modules_import_without_pyplot():
    import zoo.reports.ednn as r1
    import zoo.reports.ednn_atoms as r2
    import zoo.reports.ednn_counting as r3
    import zoo.reports.schrodinger_cnn as r4

    for m in (r1, r2, r3, r4):
        assert not hasattr(m, "plt"), m.__name__


def test_ednn_report_speed_section_reads_the_committed_benchmark_results():
    """`zoo reproduce ednn` ends with the speed tables built from benchmarks/results/ednn_*.json; a benchmark that
    changes its JSON layout must not break the report (perf_ednn_inference's per-method medians once did)."""
    import json

    from zoo.reports.ednn import RESULTS, _bench_lines

    text = "\n".join(_bench_lines())
    inference = json.loads((RESULTS / "ednn_inference.json").read_text())
    assert f"| {inference['results'][-1]['L']} |" in text
    counting = json.loads((RESULTS / "ednn_counting.json").read_text())
    assert all(f"| {case} |" in text for case in counting["cases"])
    assert all(f"| {case} |" in text for case in counting.get("precision", {}))


def test_ednn_matched_iteration_result_survives_without_the_run_snapshot(tmp_path, monkeypatch):
    """The c = 1 snapshot at the c = 2 / 3 budget is a run file (not versioned); the report falls back to the
    recorded measurement for the same budget, and to nothing for another budget."""
    from zoo.reports import ednn as R

    monkeypatch.setattr(R, "REPO", tmp_path)  # a checkout without runs/
    rec = R._matched_iterations(None, None, 530)
    assert rec["steps"] == 530 and rec["median_abs_error"] > 0 and "source" in rec
    assert R._matched_iterations(None, None, 531) is None
