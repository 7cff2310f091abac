"""PhysicsSelection: the score, best-checkpoint keeping, and that held-out labels never take part."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from callbacks.physics_selection import PhysicsSelection
from zoo.evaluation.rugan import selection_score
from datamodules.physics import ising
from datamodules.rugan import IsingThermalDataModule


@pytest.fixture(scope="module")
def dm():
    d = IsingThermalDataModule(L=8, temperatures=[1.5, 3.0], heldout_temperatures=[2.2], n_per_T=400, val_per_T=0,
                               n_chains=8, n_equil=20, every=2, progress=False, gen_workers=1)
    d.prepare_data()
    d.setup()
    return d


class StubModel:
    """Samples from a pool per temperature (or random spins); records every label it is asked for."""

    def __init__(self, pools: dict | None):
        self.pools, self.asked = pools, []
        self.generator_steps = 0

    def sample(self, n, L, seed=0, temperature=None):
        self.asked.append(temperature)
        if self.pools is None:
            return ising.random_configs(n, L, seed=seed)
        return self.pools[temperature][np.random.default_rng(seed).integers(0, len(self.pools[temperature]), n)]


def test_score_small_for_mc_large_for_random(dm):
    ref = dm.selection_reference()
    fresh = {T: IsingThermalDataModule(L=8, temperatures=[T], heldout_temperatures=[], n_per_T=400, val_per_T=0,
                                       n_chains=8, n_equil=20, every=2, seed=7, progress=False,
                                       gen_workers=1) for T in (1.5, 3.0)}
    pools = {}
    for T, d in fresh.items():
        d.prepare_data()
        d.setup()
        pools[T] = d.samples_at(T)
    good, details = selection_score(StubModel(pools), ref, dm.selection_observables, n_samples=400)
    bad, _ = selection_score(StubModel(None), ref, dm.selection_observables, n_samples=400)
    assert good < 10 < 1000 < bad  # reduced chi^2: O(1) for independent MC, huge for random spins
    assert [d["label"]["temperature"] for d in details["labels"]] == [1.5, 3.0]


def _trainer(dm, tmp_path, saved):
    return SimpleNamespace(datamodule=dm, loggers=[], fast_dev_run=False, is_global_zero=True, global_step=0,
                           default_root_dir=str(tmp_path), save_checkpoint=lambda p: saved.append(p))


def test_keeps_best_and_never_asks_heldout_labels(dm, tmp_path):
    cb = PhysicsSelection(every_n_steps=2, n_samples=50, dirpath=str(tmp_path / "ck"))
    saved = []
    tr = _trainer(dm, tmp_path, saved)
    good = StubModel({T: dm.samples_at(T) for T in (1.5, 3.0)})
    bad = StubModel(None)
    for step, model in ((1, bad), (2, bad), (4, good), (6, bad)):
        model.generator_steps = step
        tr.global_step = 3 * step
        cb.on_train_batch_end(tr, model, None, None, 0)
    assert len(saved) == 2 and cb.best_step == 4  # step 1 skipped (not a multiple), 2 first best, 4 better, 6 worse
    hist = json.loads((tmp_path / "ck" / "physics-best-history.json").read_text())
    assert [h["step"] for h in hist] == [2, 4, 6] and [h["best"] for h in hist] == [True, True, False]
    asked = set(good.asked) | set(bad.asked)
    assert asked == {1.5, 3.0} and 2.2 not in asked
    state = cb.state_dict()
    cb2 = PhysicsSelection(every_n_steps=2)
    cb2.load_state_dict(state)
    assert cb2.best_score == cb.best_score and cb2.best_step == 4


def test_fast_dev_run_writes_nothing(dm, tmp_path):
    cb = PhysicsSelection(every_n_steps=1, n_samples=10, dirpath=str(tmp_path / "ck"))
    saved = []
    tr = _trainer(dm, tmp_path, saved)
    tr.fast_dev_run = True
    m = StubModel(None)
    m.generator_steps = 1
    cb.on_train_batch_end(tr, m, None, None, 0)
    assert not saved and not (tmp_path / "ck").exists()


def test_bad_arguments():
    with pytest.raises(ValueError):
        PhysicsSelection(every_n_steps=0)
    with pytest.raises(ValueError):
        PhysicsSelection(n_samples=1)
