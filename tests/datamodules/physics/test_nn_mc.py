"""Metropolis with an operator in the loop, checked with the exact operators against exact sums."""
import numpy as np
import pytest

from datamodules.physics import ising
from datamodules.physics.nn_mc import metropolis_with_operator


def test_exact_operator_reproduces_enumeration():
    T = np.array([1.5, 2.5, 3.5])
    mc = metropolis_with_operator(ising.energy, 4, T, n_chains=24, n_equil=50, n_samples=300, seed=3, progress=False)
    ex = ising.exact_thermodynamics(T, 4)
    for k in ("e", "m", "c"):
        assert np.all(np.abs(mc[k] - ex[k]) < 5 * mc[k + "_err"] + 0.01), (k, mc[k], ex[k], mc[k + "_err"])


def test_operator_bias_is_visible():
    """A wrong energy operator (coupling 0.5 instead of 1) must give the exact curve at T/0.5, not at T."""
    T = np.array([2.0])
    half = metropolis_with_operator(lambda s: 0.5 * ising.energy(s), 4, T, n_chains=24, n_equil=50, n_samples=300,
                                    seed=4, progress=False)
    assert abs(half["m"][0] - ising.exact_thermodynamics([4.0], 4)["m"][0]) < 5 * half["m_err"][0] + 0.01
    assert abs(half["m"][0] - ising.exact_thermodynamics(T, 4)["m"][0]) > 0.1


def test_staggered_magnetization_of_the_antiferromagnet_is_the_ferromagnets_magnetization():
    """Under s -> s * (-1)^(x+y) the nearest-neighbour antiferromagnet maps onto the ferromagnet (L even), so its
    <|M_s|> must equal the enumerated ferromagnetic <|M|>, and its <E> the ferromagnetic <E>."""
    T = np.array([1.5, 2.5])
    mc = metropolis_with_operator(lambda s: -ising.energy(s), 4, T, n_chains=24, n_equil=50, n_samples=300, seed=5,
                                  start="checkerboard", progress=False)
    ex = ising.exact_thermodynamics(T, 4)
    assert np.all(np.abs(mc["ms"] - ex["m"]) < 5 * mc["ms_err"] + 0.01), (mc["ms"], ex["m"])
    assert np.all(np.abs(mc["e"] - ex["e"]) < 5 * mc["e_err"] + 0.01), (mc["e"], ex["e"])


def test_starts_and_kept_configurations():
    from datamodules.physics.nn_mc import staggered_sign

    cb = staggered_sign(4)
    # far below T_c the antiferromagnet stays in the checkerboard it starts from: |M_s| = 1, M = 0
    cold = metropolis_with_operator(lambda s: -ising.energy(s), 4, [0.05, 0.1], n_chains=2, n_equil=0, n_samples=6,
                                    start="checkerboard", keep_every=3, seed=1, progress=False)
    assert np.allclose(cold["ms"], 1) and np.allclose(cold["m"], 0)
    assert cold["configs"].shape == (2 * 4, 4, 4) and cold["configs"].dtype == np.int8
    assert list(cold["configs_T"]) == [0, 0, 1, 1] * 2
    assert all(np.array_equal(c, cb) for c in cold["configs"])
    custom = metropolis_with_operator(ising.energy, 4, [0.05], n_chains=2, n_equil=0, n_samples=2, start=-np.ones((4, 4)),
                                      seed=1, progress=False)
    assert np.allclose(custom["m"], 1)
    for bad in ("hot", np.ones((3, 3)), np.zeros((4, 4))):
        with pytest.raises(ValueError, match="start"):
            metropolis_with_operator(ising.energy, 4, [1.0], n_chains=1, n_samples=1, start=bad, progress=False)
    with pytest.raises(ValueError, match="keep_every"):
        metropolis_with_operator(ising.energy, 4, [1.0], n_chains=1, n_samples=1, keep_every=-1, progress=False)
