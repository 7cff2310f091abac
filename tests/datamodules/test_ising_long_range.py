"""LongRangeSpinDataModule (PRE 97, 032119, Sec. IV 'Long-range interactions', 'A modified Potts model'): exact split
sizes, splits that never intersect (also with a fresh-seed test set), labels equal to the physics module's energies,
determinism, the recipe, and argument checks."""
from __future__ import annotations

import math

import numpy as np
import pytest

from datamodules.ising_long_range import LongRangeSpinDataModule, hash_bucket
from datamodules.physics import long_range, potts

SMALL = dict(n_train=400, n_val=50, n_test=120, shard_size=150, progress=False)
COULOMB = ("screened_coulomb", "sinusoidal_coulomb")


def make(hamiltonian, **kw):
    extra = dict(k=None, r_cut=None) if hamiltonian == "potts" else {}
    dm = LongRangeSpinDataModule(hamiltonian=hamiltonian, **{**SMALL, **extra, **kw})
    dm.prepare_data()
    dm.setup()
    return dm


def rows(dm, split):
    return {r.tobytes() for r in dm.splits[split].tensors[0].numpy()}


@pytest.mark.parametrize("hamiltonian", [*COULOMB, "potts"])
def test_splits_exact_disjoint_and_labelled_by_the_physics(hamiltonian):
    dm = make(hamiltonian)
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 400, "val": 50, "test": 120}
    tr, va, te = rows(dm, "train"), rows(dm, "val"), rows(dm, "test")
    assert len(tr) == 400 and not (tr & te or tr & va or va & te)
    x, y = dm.splits["test"].tensors
    if hamiltonian == "potts":
        ref = potts.energy_loop(x.numpy()[:5])
        assert x.min() >= 0 and x.max() < math.pi
    else:
        ref = long_range.energy_naive(x.numpy()[:5].astype(np.int8), k=0.5, r_cut=64.0,
                                      kind=hamiltonian.split("_")[0])
        assert set(np.unique(x.numpy())) == {-1.0, 1.0}
    np.testing.assert_allclose(y.numpy()[:5], ref, rtol=1e-6, atol=1e-4)  # float32 labels
    assert y.std() > 1.0


def test_fresh_seed_test_set_never_meets_a_training_set():
    """`zoo evaluate` draws a fresh test set with another seed: its hash range is disjoint from every train range."""
    dm, fresh = make("screened_coulomb"), make("screened_coulomb", seed=1000)
    b_train = hash_bucket(dm.splits["train"].tensors[0].numpy().astype(np.int8))
    b_test = hash_bucket(fresh.splits["test"].tensors[0].numpy().astype(np.int8))
    assert b_test.max() < b_train.min()
    assert not rows(dm, "train") & rows(fresh, "test")
    assert rows(dm, "test") != rows(fresh, "test")


def test_deterministic_and_recipe_records_the_hamiltonian():
    a, b = make("sinusoidal_coulomb"), make("sinusoidal_coulomb", shard_size=150, gen_workers=1, batch_size=7)
    np.testing.assert_array_equal(a.splits["train"].tensors[0], b.splits["train"].tensors[0])
    r = a.recipe()
    assert (r["hamiltonian"], r["k"], r["r_cut"], r["L"]) == ("sinusoidal_coulomb", 0.5, 64.0, 8)
    assert a.cache.hash != make("screened_coulomb").cache.hash
    assert "k" not in make("potts").recipe() and "r_cut" not in make("potts").recipe()


@pytest.mark.parametrize("kw, arg", [
    (dict(hamiltonian="coulomb"), "hamiltonian"),
    (dict(k=-1.0), "k"),
    (dict(r_cut=0.0), "r_cut"),
    (dict(k=None), "k"),
    (dict(hamiltonian="potts"), "k and r_cut"),
    (dict(hamiltonian="potts", k=None, r_cut=None, L=2), "L"),
    (dict(n_train=0), "n_train"),
    (dict(n_test=-5), "n_test"),
    (dict(L=2.5), "L"),
])
def test_bad_arguments_name_the_argument(kw, arg):
    with pytest.raises(ValueError, match=arg):
        LongRangeSpinDataModule(**{**SMALL, **kw})
