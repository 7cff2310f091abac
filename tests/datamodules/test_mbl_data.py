"""MBLDataModule: cache, splits, resampling, bad input, and `zoo data generate` under torchrun (2 ranks)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from datamodules.cache import recipe_hash
from datamodules.mbl import MBLDataModule, PHASES
from datamodules.physics import spin_chain as sc

TINY = dict(L=6, n_delta=4, n_lambda=3, grid_realizations=2, states_per_realization=5, train_realizations=10,
            points_per_shard=5, progress=False, gen_workers=1)


@pytest.fixture(scope="module")
def dm(tmp_path_factory):
    d = MBLDataModule(**TINY, data_dir=str(tmp_path_factory.mktemp("mbl_data")))
    d.prepare_data()
    d.setup()
    return d


def test_layout_and_content(dm):
    G = 12
    assert dm.n_grid == G and dm.n_shards == 3 + 3  # 12 grid points in shards of 5, one shard per training point
    g = dm.grid_data()
    assert len(g["spectra"]) == G * 2 * 5 and g["spectra"].shape[1] == 16 and g["spectra"].dtype == np.float32
    np.testing.assert_allclose(g["spectra"].sum(1), 1, atol=1e-5)
    assert np.all(np.diff(g["spectra"], axis=1) <= 1e-7)
    assert np.bincount(g["point"]).tolist() == [10] * G
    t = dm.train_point_data()
    kept = 64 - 2 * 6  # L = 6: 64 states, floor(6.4) trimmed at each end
    assert len(t["spectra"]) == 3 * 10 * kept
    assert sorted(np.unique(t["label"]).tolist()) == [0, 1, 2]
    # the realizations split 8 / 1 / 1: by realization, never within one
    for s, n in ((0, 8), (1, 1), (2, 1)):
        assert len(np.unique(t["realization"][t["split"] == s])) == n
    assert set(dm.splits) == {"train", "val", "test", "predict"}
    assert len(dm.splits["train"]) == 3 * 8 * kept
    np.testing.assert_allclose(dm.deltas, np.linspace(-3, 3, 4))


def test_a_point_is_a_pure_function_of_recipe_point_and_realization(dm):
    """Grid point 7, realization 1, regenerated on its own from (recipe hash, 7, r)."""
    key = recipe_hash(dm.recipe())
    delta, lam = dm.deltas[7 // 3], dm.lambdas[7 % 3]
    ref = sc.point_states(6, delta, lam, 2, [sc.seed_sequence(key, 7, r) for r in range(2)], 5)
    g = dm.grid_data()
    m = g["point"] == 7
    np.testing.assert_array_equal(g["spectra"][m], ref["spectra"])
    np.testing.assert_array_equal(g["entropy"][m], ref["entropy"])


def test_training_points_have_the_expected_physics(dm):
    """Mean entanglement entropy: PM (Delta = -0.8) < SG (Delta = +0.8, cats carry ln 2) < thermal (lambda = 1)."""
    t = dm.train_point_data()
    S = [t["entropy"][t["label"] == PHASES.index(p)].mean() for p in ("PM", "SG", "thermal")]
    assert S[0] < S[1] < S[2]


def test_cache_is_reused_and_serving_args_are_not_in_the_recipe(dm):
    other = MBLDataModule(**{**TINY, "serve": "resamples", "n_resamples": 3, "batch_size": 7}, data_dir=dm.data_dir)
    assert other.cache.dir == dm.cache.dir and other.cache.is_complete()
    assert "serve" not in other.recipe() and "n_resamples" not in other.recipe()
    assert MBLDataModule(**{**TINY, "resolve_parity": False}, data_dir=dm.data_dir).cache.dir != dm.cache.dir


def test_resamples_draw_n_per_point_from_each_point_deterministically(dm):
    ds = dm.resamples(n=3, seed=4)
    X, pt = ds[1]
    assert X.shape == (12 * 5, 16) and pt.tolist() == np.repeat(np.arange(12), 5).tolist()
    idx = ds.indices(1)
    g = dm.grid_data()
    order = np.argsort(g["point"], kind="stable")
    assert (g["point"][order][idx] == pt.numpy()).all()  # each draw comes from its own point's pool
    for p in range(12):
        assert len(set(idx[pt.numpy() == p])) == 5  # without replacement
    X2, _ = dm.resamples(n=3, seed=4)[1]
    assert (X2 == X).all()
    X3, _ = ds[2]
    assert not (X3 == X).all()
    big = MBLDataModule(**{**TINY, "n_per_point": 11}, data_dir=dm.data_dir)  # 10 states stored per point
    big.setup()
    with pytest.raises(ValueError, match="n_per_point"):
        big.resamples()


def test_loaders(dm):
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape[1] == 16 and y.dtype.is_floating_point is False
    r = MBLDataModule(**{**TINY, "serve": "resamples", "n_resamples": 2}, data_dir=dm.data_dir)
    r.setup()
    batches = list(r.train_dataloader())
    assert len(batches) == 2 and batches[0][0].shape == (60, 16)


@pytest.mark.parametrize("kw,match", [
    ({"L": 7}, "odd cut"), ({"L": 4}, "too small"), ({"n_delta": 0}, "n_delta"),
    ({"delta_range": [1.0, float("nan")]}, "delta_range"), ({"lambda_range": [-1.0, 2.0]}, "lambda_range"),
    ({"train_points": [[0.0, 1.0, "glass"]]}, "train_points"), ({"serve": "both"}, "serve"),
    ({"mean_convention": "median"}, "mean_convention"), ({"trim": 0.7}, "trim"),
    ({"states_per_realization": 0}, "states_per_realization"), ({"ed": "lanczos"}, "ed"), ({"val_fraction": 0.6, "test_fraction": 0.5}, "fraction"),
])
def test_bad_input_raises(kw, match):
    with pytest.raises(ValueError, match=match):
        MBLDataModule(**{**TINY, **kw})


def test_data_generate_torchrun_two_ranks_identical_to_one_process(zoo_cmd, subprocess_env, free_port, tmp_path):
    cfg = tmp_path / "data.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"class_path": "datamodules.mbl.MBLDataModule", "init_args": {
        **{k: v for k, v in TINY.items()}, "L": 6, "n_delta": 3, "n_lambda": 2, "points_per_shard": 2,
        "train_realizations": 2}}}))
    one, two = tmp_path / "one", tmp_path / "two"
    # one process (in this one, gen_workers=1): prepare_data generates every shard and the manifest
    ref = MBLDataModule(**yaml.safe_load(cfg.read_text())["data"]["init_args"], data_dir=str(one))
    ref.prepare_data()
    r2 = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr",
                         "127.0.0.1", "--master_port", str(free_port()), "-m", "zoo.cli", "data", "generate",
                         "--config", str(cfg)], env=subprocess_env(ZOO_DATA_DIR=two), cwd=tmp_path,
                        capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert "rank 0/2: wrote 3 shard(s)" in r2.stdout and "rank 1/2: wrote 3 shard(s)" in r2.stdout
    (e1,) = one.iterdir()
    (e2,) = two.iterdir()
    assert e1.name == e2.name
    f1, f2 = sorted(p.name for p in e1.iterdir()), sorted(p.name for p in e2.iterdir())
    assert f1 == f2 and "manifest.json" in f1
    for name in f1:
        assert (e1 / name).read_bytes() == (e2 / name).read_bytes(), name
    assert json.loads((e1 / "manifest.json").read_text())["n_shards"] == 6


def test_ed_path_keeps_published_recipes_and_the_kept_states(tmp_path):
    """`ed` (how grid points are diagonalized) is left out of the recipe when 'exact', so every published card's
    dataset keeps its hash; 'band' is a different recipe whose shards keep the same states as 'exact'."""
    from pathlib import Path

    cards = sorted((Path(__file__).parents[2] / "checkpoints" / "mbl").glob("*.json"))
    assert cards
    for card in cards:
        ds = json.loads(card.read_text())["dataset"]
        if "ed" in ds["recipe"]:
            continue  # made with a named ED path: its hash covers it
        assert recipe_hash(MBLDataModule(**ds["init_args"]).recipe()) == ds["recipe_hash"], card.name
    kw = {**TINY, "L": 8, "n_delta": 2, "delta_range": [0.0, 3.0], "n_lambda": 1, "lambda_range": [0.3, 0.3],
          "train_realizations": 0, "states_per_realization": 12}
    exact = MBLDataModule(**kw, data_dir=str(tmp_path / "a"))
    band = MBLDataModule(**kw, ed="band", data_dir=str(tmp_path / "b"))
    assert "ed" not in exact.recipe() and band.recipe()["ed"] == "band"
    assert recipe_hash(exact.recipe()) == recipe_hash(MBLDataModule(**kw, ed="exact").recipe())
    assert recipe_hash(band.recipe()) != recipe_hash(exact.recipe())
    # same seeds for both (the seed key is the recipe hash): compare the kept states point by point
    pts = exact.points()
    for p, (delta, lam, R, K) in enumerate(pts):
        seeds = [sc.seed_sequence("k", p, r) for r in range(R)]
        a = sc.point_states(8, delta, lam, R, seeds, K)
        b = sc.point_states(8, delta, lam, R, seeds, K, vectors=band.ed)
        for key in ("realization", "parity", "energy_index"):
            np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_allclose(a["spectra"], b["spectra"], atol=2e-7)
    shard = band.shard_fn()(0)
    assert len(shard["spectra"]) == 2 * 2 * 12 and np.isfinite(shard["spectra"]).all()
