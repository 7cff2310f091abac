"""IsingThermalDataModule (RUGAN temperature variant): splits, held-out temperatures, cache, references."""
from __future__ import annotations

import numpy as np
import pytest

from datamodules.physics import ising
from datamodules.rugan import IsingThermalDataModule


def _dm(**kw):
    args = dict(L=8, temperatures=[1.5, 3.0], heldout_temperatures=[2.2], n_per_T=32, val_per_T=16, n_chains=8,
                n_equil=10, every=1, progress=False, gen_workers=1, batch_size=8)
    args.update(kw)
    return IsingThermalDataModule(**args)


def test_splits_labels_and_heldout():
    dm = _dm()
    dm.prepare_data()
    dm.setup()
    (xtr, ttr), (xva, tva), (xte, tte) = (dm.splits[k].tensors for k in ("train", "val", "test"))
    assert xtr.shape == (64, 8, 8) and xva.shape == (32, 8, 8) and xte.shape == (32, 8, 8)
    assert set(np.unique(xtr.numpy())) <= {-1.0, 1.0}
    assert np.allclose(sorted(set(ttr.tolist())), [1.5, 3.0]) and set(ttr.tolist()) == set(tva.tolist())
    assert np.allclose(tte.numpy(), 2.2)  # held-out temperature only in test
    # thermal: ordered at T = 1.5, disordered at T = 3.0
    m = lambda T: np.abs(ising.magnetization(dm.samples_at(T))).mean()  # noqa: E731
    assert m(1.5) > 0.9 and m(3.0) < 0.5
    x, t = next(iter(dm.train_dataloader()))
    assert x.shape == (8, 8, 8) and t.shape == (8,)


def test_selection_reference_uses_training_temperatures_only():
    dm = _dm()
    dm.prepare_data()
    dm.setup()
    ref = dm.selection_reference()
    assert [lab["temperature"] for lab in ref["labels"]] == [1.5, 3.0]
    e, e_err = ref["observables"]["e"]
    assert e[0] < e[1] and np.all(e_err > 0)
    obs = dm.selection_observables(dm.samples_at(1.5))
    assert np.isclose(obs["e"].mean(), e[0])


def test_cache_is_reused_and_recipe_excludes_loader_args(tmp_path):
    a = _dm(data_dir=str(tmp_path), batch_size=4)
    a.prepare_data()
    b = _dm(data_dir=str(tmp_path), batch_size=16)
    assert a.cache.dir == b.cache.dir and b.cache.is_complete()
    assert _dm(data_dir=str(tmp_path), seed=1).cache.dir != a.cache.dir


def test_bad_arguments():
    with pytest.raises(ValueError, match="multiple of 4"):
        _dm(L=10)
    with pytest.raises(ValueError, match="overlap"):
        _dm(heldout_temperatures=[3.0])
    with pytest.raises(ValueError, match="positive"):
        _dm(temperatures=[-1.0])
