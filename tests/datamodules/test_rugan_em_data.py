"""IsingEMDataModule (the (E/L^2, m) RUGAN's data): windows, exact labels, uniform energy, hash splits, the
cache, the reachable (E/L^2, m) plane against exact enumeration, and argument checks."""
from __future__ import annotations

import numpy as np
import pytest

from datamodules.physics import ising
from datamodules.rugan_em import IsingEMDataModule, em_grid, energy_bounds

WINDOWS = [[-1.5, -0.5, -0.25, 0.25], [0.5, 2.0, -0.25, 0.25]]


def _dm(**kw):
    args = dict(L=8, per_level=20, shard_size=10, train_windows=WINDOWS, n_select_labels=6, progress=False,
                gen_workers=1, batch_size=16)
    args.update(kw)
    return IsingEMDataModule(**args)


@pytest.fixture(scope="module")
def dm():
    d = _dm()
    d.prepare_data()
    d.setup()
    return d


def _exact_em(x: np.ndarray) -> np.ndarray:
    """E/L^2 and m straight from the definition (each bond once: right and down neighbours, periodic)."""
    s = x.astype(np.int64)
    E = -(s * np.roll(s, -1, axis=-1) + s * np.roll(s, -1, axis=-2)).sum((-2, -1))
    N = s.shape[-1] * s.shape[-2]
    return np.stack([E / N, s.sum((-2, -1)) / N], -1)


def _inside(lab):
    e, m = lab[:, 0], lab[:, 1]
    return ((e >= -1.5) & (e <= -0.5) | (e >= 0.5) & (e <= 2.0)) & (np.abs(m) <= 0.25)


def test_labels_exact_windows_respected_and_test_covers_the_plane(dm):
    parts = {k: dm.splits[k].tensors for k in ("train", "val", "test")}
    for k, (x, y) in parts.items():
        assert x.dtype.is_floating_point and set(np.unique(x.numpy())) <= {-1.0, 1.0}
        assert y.shape == (len(x), 2)
        assert np.array_equal(y.numpy().astype(np.float64), _exact_em(x.numpy())), k  # exact, not approximate
    assert _inside(parts["train"][1].numpy()).all() and _inside(parts["val"][1].numpy()).all()
    assert len(parts["val"][0]) > 0
    # everything outside the windows is in the query (test) set, which spans the whole reachable plane
    y_all = np.concatenate([parts[k][1].numpy() for k in parts])
    yt = parts["test"][1].numpy()
    assert (~_inside(y_all)).sum() == (~_inside(yt)).sum() > 0
    assert yt[:, 0].min() == -2.0 and yt[:, 0].max() == 2.0 and yt[:, 1].min() == -1.0 and yt[:, 1].max() == 1.0
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (16, 8, 8) and y.shape == (16, 2)


def test_uniform_in_energy_and_no_configuration_on_two_sides(dm):
    allx = np.concatenate([dm.splits[k].tensors[0].numpy() for k in ("train", "val", "test")]).astype(np.int8)
    assert len(allx) == 20 * len(ising.energy_levels(8))
    levels, counts = np.unique(ising.energy(allx), return_counts=True)
    assert np.array_equal(levels, ising.energy_levels(8)) and (counts == 20).all()
    keys = {k: {x.tobytes() for x in dm.splits[k].tensors[0].numpy().astype(np.int8)} for k in ("train", "val", "test")}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]


def test_cache_hash_and_reuse():
    a, b = _dm(), _dm(train_windows=[[-1.0, 0.0, -0.5, 0.5]], n_select_labels=3, batch_size=4)
    assert a.cache.dir == b.cache.dir  # windows / selection / loader args only split and serve the same data
    assert _dm(seed=1).cache.dir != a.cache.dir and _dm(per_level=30).cache.dir != a.cache.dir
    a.prepare_data()
    assert a.cache.is_complete()
    mtimes = sorted(p.stat().st_mtime_ns for p in a.cache.dir.glob("shard-*.npz"))
    b.prepare_data()  # reuses the entry
    assert sorted(p.stat().st_mtime_ns for p in b.cache.dir.glob("shard-*.npz")) == mtimes
    b.setup()
    assert _inside(b.splits["train"].tensors[1].numpy()).sum() < len(b.splits["train"])  # other windows, other train
    assert (np.abs(b.splits["train"].tensors[1].numpy()[:, 1]) <= 0.5).all()


def test_selection_reference_uses_training_labels(dm):
    ref = dm.selection_reference()
    train = {tuple(v) for v in dm.splits["train"].tensors[1].numpy().astype(np.float64).tolist()}
    assert ref["L"] == 8 and 1 < len(ref["labels"]) <= 6
    for lab in ref["labels"]:
        assert (lab["energy"], lab["magnetization"]) in train
    assert set(ref["observables"]) == {"abs_de", "abs_dm"}
    # real configurations realize their own labels exactly; a flipped lattice misses m by 2|m|
    x, y = (t.numpy() for t in dm.splits["train"].tensors)
    e, m = float(y[0, 0]), float(y[0, 1])
    sel = (y[:, 0] == e) & (y[:, 1] == m)
    obs = dm.selection_observables(x[sel].astype(np.int8), energy=e, magnetization=m)
    assert np.all(obs["abs_de"] == 0) and np.all(obs["abs_dm"] == 0)
    obs = dm.selection_observables(-x[sel].astype(np.int8), energy=e, magnetization=m)
    assert np.allclose(obs["abs_dm"], 2 * abs(m)) and np.all(obs["abs_de"] == 0)


def test_energy_bounds_and_grid_against_exact_enumeration():
    """L = 4: all 2^16 states.  The bounds are the exact min and max of E/L^2 at every m, and the grid at the
    lattice spacing holds every realized (E/L^2, m) pair (and only points inside the bounds)."""
    lab = _exact_em(ising.enumerate_configs(4))
    for m in np.unique(lab[:, 1]):
        es = lab[lab[:, 1] == m, 0]
        lo, hi = energy_bounds(m, 4)
        assert es.min() == lo and es.max() == hi, m
    grid = {tuple(v) for v in em_grid(4, 4 / 16, 2 / 16).round(9).tolist()}
    real = {tuple(v) for v in lab.round(9).tolist()}
    assert real <= grid and len(grid - real) <= 0.06 * len(grid)  # a few interior gaps, e.g. (-0.75, 0)
    g8 = em_grid(8, 1 / 8, 1 / 8)
    lo, hi = energy_bounds(g8[:, 1], 8)
    assert ((g8[:, 0] >= lo) & (g8[:, 0] <= hi)).all() and len(g8) > 50


@pytest.mark.parametrize("kw", [dict(L=6), dict(L=10), dict(L=0), dict(per_level=25), dict(shard_size=0),
                                dict(val_fraction=0.6, test_fraction=0.5), dict(n_select_labels=0),
                                dict(train_windows=[]), dict(train_windows=[[-1.0, -1.5, -0.2, 0.2]]),
                                dict(train_windows=[[-1.0, 0.5, -0.2]]), dict(train_windows=[[-3.0, 0.5, -0.2, 0.2]]),
                                dict(train_windows=[[-1.0, 0.5, -0.2, 1.5]]),
                                dict(train_windows=[[0, 1, 0, float("nan")]]),
                                dict(energy_scale=-1.0)])
def test_bad_arguments(kw):
    with pytest.raises(ValueError):
        _dm(**kw)


def test_windows_without_data_raise():
    # E/L^2 <= -1.875 needs at most 6 broken bonds; |m| <= 0.1 on 8x8 needs at least 18
    d = _dm(train_windows=[[-2.0, -1.875, -0.1, 0.1]])
    d.prepare_data()
    with pytest.raises(ValueError, match="no configuration falls inside"):
        d.setup()
