"""Tests of datamodules/physics/potts.py (modified Potts, PRE 97, 032119, Sec. IV, Eq. 2).

References: an explicit loop over the bond list (a set of 2 L^2 distinct bonds), hand-computed states, and the
analytic mean <cos(a - b)> = (2/pi)^2 for independent uniform angles in [0, pi).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from datamodules.physics import potts as P


@pytest.mark.parametrize("L", [3, 4, 8])
def test_energy_matches_bond_loop(L):
    a = P.random_angles(5, L, seed=L)
    np.testing.assert_allclose(P.energy(a), P.energy_loop(a), atol=1e-11)


def test_hand_computed_states():
    L = 3
    assert P.energy(np.full((L, L), 1.0))[0] == pytest.approx(2 * L * L)  # every bond cos 0 = 1
    a = np.zeros((L, L))
    a[1, 1] = math.pi / 2  # one site orthogonal to its 4 neighbours: 4 bonds drop from 1 to 0
    assert P.energy(a)[0] == pytest.approx(2 * L * L - 4)
    a[1, 1] = 3.0  # cos(3) on its 4 bonds
    assert P.energy(a)[0] == pytest.approx(2 * L * L - 4 + 4 * math.cos(3.0))
    cb = np.where(np.add.outer(np.arange(4), np.arange(4)) % 2 == 0, 0.0, math.pi / 2)  # every bond orthogonal
    assert P.energy(cb)[0] == pytest.approx(0.0, abs=1e-12)
    stripes = np.where(np.arange(4)[:, None] % 2 == 0, 0.0, math.pi / 2) * np.ones((4, 4))  # rows alternate
    assert P.energy(stripes)[0] == pytest.approx(16.0)  # the 16 bonds along the rows stay parallel
    assert P.energy(np.full((2, 8, 8), 0.25), J=-2.0) == pytest.approx([-256.0, -256.0])


def test_random_angles_mean_energy_is_analytic():
    a = P.random_angles(20000, 8, seed=0)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() < math.pi
    E = P.energy(a)
    mean = 2 * 64 * P.MEAN_BOND
    assert abs(E.mean() - mean) < 5 * E.std() / math.sqrt(len(E))
    assert -128 < E.min() and E.max() <= 128


@pytest.mark.parametrize("bad, match", [
    (np.full((8, 8), np.nan), "finite"),
    (np.full((8, 8), -0.1), r"\[0, pi\)"),
    (np.full((8, 8), math.pi), r"\[0, pi\)"),
    (np.zeros((8, 7)), "shape"),
    (np.zeros((2, 2)), "L >= 3"),
    ("abc", "real numbers"),
])
def test_bad_input_names_the_argument(bad, match):
    with pytest.raises(ValueError, match=match) as ex:
        P.energy(bad)
    assert "angles" in str(ex.value)
