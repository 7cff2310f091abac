"""Metropolis with an operator in the loop, checked with the exact operators against exact sums."""
import numpy as np

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
