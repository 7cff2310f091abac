"""Cheap checks of the Schrodinger baseline script's pieces (features, KRR, affordability) and of the
BENCHMARKS.md formatters for its results; the benchmarks themselves are too slow for the test suite."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_features_are_2x2_block_means():
    B = _load("reproduce_schrodinger_baselines")
    V = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    F = B.features(V)
    assert F.shape == (2, 4) and F.dtype == np.float64
    np.testing.assert_allclose(F[0], [(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4, (8 + 9 + 12 + 13) / 4,
                                      (10 + 11 + 14 + 15) / 4])


def test_krr_learns_a_smooth_function_and_reports_times():
    B = _load("reproduce_schrodinger_baselines")
    B.KRR_G, B.KRR_ALPHA = (0.3, 1.0, 3.0), (1e-6, 1e-3)  # a smaller search grid keeps the test fast
    rng = np.random.default_rng(0)
    X, Xte = rng.uniform(0, 1, (300, 3)), rng.uniform(0, 1, (100, 3))
    f = lambda x: 100 * np.sin(x[:, 0]) + 50 * x[:, 1] ** 2  # noqa: E731  (mHa-sized targets)
    r = B.krr(X, f(X), Xte, f(Xte))
    assert r["n"] == 300 and r["search"]["n_fit"] == 240 and r["search"]["n_val"] == 60
    assert r["median_abs_error_mHa"] < 0.5  # the spread of the targets is ~30 mHa
    assert r["total_s"] >= r["fit_s"] > 0 and r["predict_s"] > 0


def test_affordability_picks_the_largest_n_within_the_cnn_time():
    B = _load("reproduce_schrodinger_baselines")
    fits = [{"n": 250, "total_s": 1.0, "fit_s": 0.5, "median_abs_error_mHa": 9.0},
            {"n": 500, "total_s": 20.0, "fit_s": 5.0, "median_abs_error_mHa": 7.0},
            {"n": 1000, "skipped": "predicted 5000 s"}]
    res = {"variants": {"sho": {"cnn": {"wall_time_s": 10.0}, "krr": fits, "rf": fits[:1]},
                        "random": {"cnn": {"wall_time_s": None}, "krr": fits, "rf": []}}}
    B.affordability(res)
    a = res["variants"]["sho"]["within_cnn_wall_time"]
    assert a["krr"]["largest_n_total"] == 250 and a["krr"]["largest_n_fit_only"] == 500
    assert a["krr"]["median_abs_error_mHa_at_largest_n_total"] == 9.0 and not a["krr"]["all_fitted_sizes_within"]
    assert a["rf"]["largest_n_total"] == 250 and a["rf"]["all_fitted_sizes_within"]
    assert res["variants"]["random"]["within_cnn_wall_time"]["krr"] is None


def test_summarize_formats_the_schrodinger_results():
    S = _load("summarize")
    base = {"features": "f", "krr_protocol": "k", "rf_protocol": "r", "paper": "p",
            "variants": {"sho": {"cnn": {"wall_time_s": None}, "krr": [
                {"n": 250, "median_abs_error_mHa": 1.5, "total_s": 2.0, "predict_s": 0.1}],
                "rf": [{"n": 12000, "skipped": "predicted 9000 s"}]}}}
    text = "\n".join(S.FORMATS["schrodinger_baselines"](base))
    assert "| sho | krr | 250 | 1.50 | 2.0 | 0.1 |" in text and "skipped: predicted 9000 s" in text
    assert "not yet published" in text
