"""Tests of datamodules/physics/long_range.py (screened and sinusoidal Coulomb, PRE 97, 032119, Sec. IV, Eq. 1).

References, none of them the folded coupling matrix under test:
- the explicit periodic-image sum (`energy_naive`, the paper's method: a separate loop over images and pairs);
- the nearest-neighbour limit: with r_cut = 1 only the four neighbours at r = 1 remain (across the boundary too),
  so E = -f(1) E_Ising, against datamodules.physics.ising.energy;
- the ground state by enumeration of all 2^16 4x4 states with the same formula;
- convergence of the energy in r_cut (the paper's cutoff of 64 units).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from datamodules.physics import ising
from datamodules.physics import long_range as LR


@pytest.fixture(scope="module")
def configs():
    return ising.random_configs(6, 8, seed=3)


@pytest.mark.parametrize("kind", LR.KINDS)
def test_coupling_matrix_matches_explicit_image_sum(configs, kind):
    """The folded N x N coupling reproduces the paper's explicit image sum at r_cut = 64 on random 8x8 states."""
    fast = LR.energy(configs, kind=kind)
    naive = LR.energy_naive(configs, kind=kind)
    np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-10)
    assert np.ptp(fast) > 1.0  # distinct configurations have distinct energies (the check is not vacuous)


@pytest.mark.parametrize("kind", LR.KINDS)
def test_odd_cell_and_short_cutoff_match_explicit_sum(kind):
    """Another cell size and a cutoff that cuts through an image shell (5x5, r_cut = 7.3)."""
    s = ising.random_configs(4, 5, seed=1)
    np.testing.assert_allclose(LR.energy(s, k=0.3, r_cut=7.3, kind=kind),
                               LR.energy_naive(s, k=0.3, r_cut=7.3, kind=kind), atol=1e-11)


def test_nearest_neighbour_limit_is_the_ising_energy():
    """r_cut = 1 keeps the 4 neighbours at distance 1 (periodic), so E = (1/2) sum_i sum_nn s s f(1) = -f(1) E_Ising;
    r_cut = sqrt(2) adds the 4 diagonal neighbours, checked by an explicit loop over them."""
    s = ising.random_configs(50, 6, seed=7)
    k = 0.5
    f1, f2 = math.exp(-k), math.exp(-k * math.sqrt(2)) / math.sqrt(2)
    np.testing.assert_allclose(LR.energy(s, k=k, r_cut=1.0), -f1 * ising.energy(s), atol=1e-12)
    diag = sum((s * np.roll(s, (1, d), axis=(1, 2))).sum(axis=(1, 2)) for d in (1, -1))  # each diagonal bond once
    np.testing.assert_allclose(LR.energy(s, k=k, r_cut=math.sqrt(2)), -f1 * ising.energy(s) + f2 * diag, atol=1e-12)


def test_checkerboard_is_the_4x4_ground_state_by_enumeration():
    """All 65 536 4x4 states with the same formula (k = 0.5, r_cut = 64): the two checkerboards and nothing else
    at the minimum (the paper: 'the most energetically stable configuration is the checkerboard', L1149)."""
    allc = ising.enumerate_configs(4)
    E = LR.energy(allc)
    ground = allc[np.isclose(E, E.min(), atol=1e-9)]
    assert len(ground) == 2
    cb = LR.checkerboard(4)
    assert {g.tobytes() for g in ground} == {c.tobytes() for c in cb}
    assert np.sort(E)[2] - E.min() > 1.0  # a clear gap to the next state


def test_checkerboard_is_a_local_minimum_on_8x8_below_random_states():
    cb = LR.checkerboard(8)
    E0 = LR.energy(cb)
    assert E0[0] == pytest.approx(E0[1])  # global spin flip symmetry
    flips = np.repeat(cb[:1], 64, 0)
    flips.reshape(64, -1)[np.arange(64), np.arange(64)] *= -1
    assert np.all(LR.energy(flips) > E0[0] + 0.5)
    assert LR.energy(ising.random_configs(2000, 8, seed=5)).min() > E0[0] + 5


@pytest.mark.parametrize("kind", LR.KINDS)
def test_energy_converges_in_r_cut(configs, kind):
    """The image sum converges as r_cut grows: the change shrinks by orders of magnitude, and at the paper's
    r_cut = 64 it is below double precision (exp(-32)/64 ~ 2e-16 per term)."""
    E = {rc: LR.energy(configs, r_cut=rc, kind=kind) for rc in (8, 16, 32, 64, 96)}
    d = [np.abs(E[a] - E[b]).max() for a, b in ((8, 16), (16, 32), (32, 64), (64, 96))]
    assert d[0] > 1e-3 and d[1] < d[0] / 10 and d[2] < d[1] / 100
    assert d[2] < 1e-5 and d[3] < 1e-11


def test_symmetries_of_the_coupling():
    K = LR.coupling_matrix(8)
    np.testing.assert_allclose(K, K.T, atol=1e-14)
    assert not K.flags.writeable  # cached: a caller cannot corrupt later energies
    s = ising.random_configs(5, 8, seed=11)
    E = LR.energy(s)
    np.testing.assert_allclose(LR.energy(-s), E, atol=1e-12)
    np.testing.assert_allclose(LR.energy(np.roll(s, (3, 5), axis=(1, 2))), E, atol=1e-10)
    np.testing.assert_allclose(LR.energy(np.rot90(s, axes=(1, 2))), E, atol=1e-10)


@pytest.mark.parametrize("call, arg", [
    (lambda: LR.energy(np.zeros((2, 8, 8))), "spins"),
    (lambda: LR.energy(np.ones((2, 8, 7))), "spins"),
    (lambda: LR.energy(np.ones((8, 8)), k=0.0), "k"),
    (lambda: LR.energy(np.ones((8, 8)), k=float("nan")), "k"),
    (lambda: LR.energy(np.ones((8, 8)), r_cut=0.5), "r_cut"),
    (lambda: LR.energy(np.ones((8, 8)), r_cut=float("inf")), "r_cut"),
    (lambda: LR.energy(np.ones((8, 8)), kind="coulomb"), "kind"),
    (lambda: LR.coupling_matrix(True), "L"),
    (lambda: LR.energy_naive(np.full((8, 8), 2)), "spins"),
])
def test_bad_input_names_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()
