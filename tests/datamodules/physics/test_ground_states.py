"""Exact ground states: brute force and the torus transfer matrix against each other, and the WSC model's known
energies (Mills, Ronagh & Tamblyn, Nat. Mach. Intell. 2, 509 (2020), arXiv:2003.00011, "Hamiltonians")."""
import itertools

import numpy as np
import pytest

from datamodules.physics.annealing import (WSC_GROUND_ENERGY, WSC_INITIAL_ENERGY, Hamiltonian, ferromagnet,
                                           toroidal_spin_glass, torus_couplings, wsc, wsc_initial_state)
from datamodules.physics.ground_states import brute_force, ground_state, torus_transfer_matrix


def _all_energies(H):
    states = np.array(list(itertools.product([-1, 1], repeat=H.n)), dtype=np.int8)
    return H.energy(states), states


def test_energy_matches_pair_sum():
    H = toroidal_spin_glass(3, seed=5)
    rng = np.random.default_rng(0)
    s = rng.choice([-1, 1], (7, 9))
    h = rng.standard_normal(9)
    H2 = Hamiltonian(H.couplings, h)
    direct = np.array([-sum(H.couplings[i, j] * x[i] * x[j] for i in range(9) for j in range(i + 1, 9)) - h @ x
                       for x in s])
    assert np.allclose(H2.energy(s), direct)


def test_wsc_energies_and_second_lowest_initial_state():
    H = wsc()
    assert int(np.count_nonzero(np.triu(H.couplings))) == 36
    E, state, count = brute_force(H)
    assert E == pytest.approx(WSC_GROUND_ENERGY, abs=1e-9) and E / 16 == pytest.approx(-2.53)
    assert count == 1 and np.all(state == 1)  # all aligned (up: the stronger field wins)
    e0 = H.energy(wsc_initial_state())
    assert e0 == pytest.approx(WSC_INITIAL_ENERGY, abs=1e-9) and e0 / 16 == pytest.approx(-2.47)
    levels = np.unique(np.round(_all_energies(H)[0], 9))
    assert levels[0] == pytest.approx(E) and levels[1] == pytest.approx(e0)  # the deep local minimum is 2nd lowest


def test_brute_force_matches_plain_enumeration():
    rng = np.random.default_rng(3)
    for n in (1, 5, 11):
        A = rng.standard_normal((n, n))
        H = Hamiltonian(np.triu(A, 1) + np.triu(A, 1).T, rng.standard_normal(n))
        E_all, states = _all_energies(H)
        E, state, count = brute_force(H)
        assert E == pytest.approx(E_all.min(), abs=1e-10)
        assert H.energy(state) == pytest.approx(E, abs=1e-10)
        assert count == int(np.sum(np.abs(E_all - E_all.min()) <= 1e-9))


@pytest.mark.parametrize("rows,cols,seed", [(3, 3, 0), (3, 5, 1), (4, 4, 2), (4, 4, 3), (4, 5, 4)])
def test_transfer_matrix_matches_brute_force(rows, cols, seed):
    H = toroidal_spin_glass(cols, seed=seed, rows=rows)
    E_tm, s_tm = torus_transfer_matrix(H)
    E_bf, _, _ = brute_force(H)
    assert E_tm == pytest.approx(E_bf, abs=1e-9) and H.energy(s_tm) == pytest.approx(E_tm, abs=1e-9)


def test_transfer_matrix_with_fields_and_pm1_bonds():
    rng = np.random.default_rng(7)
    base = toroidal_spin_glass(4, seed=7, couplings="pm1")
    H = Hamiltonian(base.couplings, rng.standard_normal(16), lattice=(4, 4))
    assert torus_transfer_matrix(H)[0] == pytest.approx(brute_force(H)[0], abs=1e-9)
    assert set(np.unique(base.couplings)) <= {-1.0, 0.0, 1.0}


def test_ferromagnet_ground_state_is_all_aligned():
    for side in (3, 6):
        H = ferromagnet(side)
        E, s = ground_state(H)
        assert E == pytest.approx(-2 * side * side) and abs(s.sum()) == side * side


def test_transfer_matrix_6x6_is_a_lower_bound_reached_by_its_state():
    # 36 spins: beyond brute force; the state it returns has its energy, and no single flip lowers it
    H = toroidal_spin_glass(6, seed=11)
    E, s = torus_transfer_matrix(H)
    assert H.energy(s) == pytest.approx(E, abs=1e-9)
    flips = 2.0 * s * (H.couplings @ s + H.fields)
    assert np.all(flips >= -1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="symmetric"):
        Hamiltonian(np.triu(np.ones((3, 3)), 1), np.zeros(3))
    with pytest.raises(ValueError, match="fields"):
        Hamiltonian(np.zeros((3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="N must be"):
        brute_force(toroidal_spin_glass(5, seed=0))
    with pytest.raises(ValueError, match="torus"):
        torus_transfer_matrix(wsc())
    with pytest.raises(ValueError, match="nearest-neighbour"):
        J = torus_couplings(np.ones((3, 3)), np.ones((3, 3)))
        J[0, 4] = J[4, 0] = 0.5
        torus_transfer_matrix(Hamiltonian(J, np.zeros(9), lattice=(3, 3)))
    with pytest.raises(ValueError, match="side"):
        toroidal_spin_glass(2, seed=0)
