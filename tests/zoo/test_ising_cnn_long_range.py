"""IsingCNNRegressor on the long-range and Potts Hamiltonians (PRE 97, 032119, Sec. IV): the `hamiltonian`
argument, the angle input plane of the Potts model and its checks, old cards without the argument, and the
`measure` plumbing (zoo.evaluation.ising_cnn) on tiny data."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from datamodules.physics import ising, potts
from zoo.evaluation.ising_cnn import measure
from zoo.ising_cnn import IsingCNNRegressor


TINY = dict(reducing_filters=8, nonreducing_filters=4, fc_width=32, padding="circular")
DATA = dict(L=8, n_train=200, n_val=20, n_test=64, shard_size=100, progress=False)


def test_potts_model_takes_angles_and_checks_them():
    m = IsingCNNRegressor(L=8, hamiltonian="potts", **TINY).eval()
    a = potts.random_angles(3, 8, seed=0)
    E = m.predict_energy(a)
    assert E.shape == (3,) and torch.isfinite(E).all()
    # the angle enters as the input plane: another angle gives another answer (not only its sign)
    b = a.copy()
    b[0, 0, 0] = (b[0, 0, 0] + 1.0) % math.pi
    assert m.predict_energy(b)[0] != E[0]
    for bad, match in [(np.full((1, 8, 8), math.pi), r"\[0, pi\)"), (np.full((1, 8, 8), np.nan), "finite"),
                       (np.zeros((1, 4, 4)), "8x8")]:
        with pytest.raises(ValueError, match=match):
            m.predict_energy(bad)
    with pytest.raises(ValueError, match="thermodynamics"):
        m.thermodynamics([2.0])


def test_coulomb_model_takes_spins_only():
    m = IsingCNNRegressor(L=8, hamiltonian="screened_coulomb", **TINY).eval()
    assert m.predict_energy(ising.random_configs(2, 8, seed=1)).shape == (2,)
    with pytest.raises(ValueError, match="spins"):
        m.predict_energy(np.full((1, 8, 8), 0.5))


@pytest.mark.parametrize("kw, arg", [(dict(hamiltonian="yukawa"), "hamiltonian"),
                                     (dict(hamiltonian="potts", label="magnetization"), "label")])
def test_bad_arguments(kw, arg):
    with pytest.raises(ValueError, match=arg):
        IsingCNNRegressor(L=8, **{**TINY, **kw})


def test_cards_without_hamiltonian_are_nearest_neighbour_models():
    m = IsingCNNRegressor(L=8, label="energy", **TINY)
    assert m.hamiltonian == "ising"
    args = {k: v for k, v in m.hparams.items() if k != "hamiltonian"}  # a card published before the argument
    IsingCNNRegressor(**args).load_state_dict(m.state_dict())


@pytest.mark.parametrize("hamiltonian", ["screened_coulomb", "potts"])
def test_measure_reports_error_and_spread(hamiltonian):
    m = IsingCNNRegressor(L=8, hamiltonian=hamiltonian, **TINY).eval()
    data = {**DATA, "hamiltonian": hamiltonian, **({"k": None, "r_cut": None} if hamiltonian == "potts" else {})}
    rows = {r["name"]: r for r in measure(m, data, seed=5)}
    assert set(rows) == {"median_abs_error", "mean_abs_error", "test_std", "relative_median_abs_error"}
    assert "64 configs, data seed 5" in rows["test_std"]["split"]
    # an untrained network's error is of the order of the spread (or the mean, for Potts): the rows are its
    assert rows["median_abs_error"]["value"] > 0.1 * rows["test_std"]["value"]
    assert rows["relative_median_abs_error"]["value"] == pytest.approx(
        rows["median_abs_error"]["value"] / rows["test_std"]["value"], rel=1e-6)
    with pytest.raises(ValueError, match="hamiltonian"):
        measure(m, {**DATA, "hamiltonian": "sinusoidal_coulomb"} if hamiltonian == "potts"
                else {**DATA, "hamiltonian": "potts", "k": None, "r_cut": None})
