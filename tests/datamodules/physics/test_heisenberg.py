"""The chain references: sparse sector Hamiltonian against a dense Kronecker-product construction, known ground-state
energies (lecture notebook table; spec-wang-lecture.md Sec. 2.4), the Bethe-ansatz-free checks N = 4, and the Marshall
sign rule."""
import numpy as np
import pytest

from datamodules.physics import heisenberg as hb


@pytest.mark.parametrize("N", [4, 6, 8])
@pytest.mark.parametrize("J2", [0.0, 0.2, 0.5])
def test_sector_hamiltonian_is_the_dense_one_restricted(N, J2):
    Hd = hb.hamiltonian_dense(N, J2)
    st = hb.sector_states(N)
    Hs = hb.hamiltonian_sector(N, J2).toarray()
    assert np.abs(Hd[np.ix_(st, st)] - Hs).max() < 1e-13
    # H conserves S^z: no element leaves the sector
    out = np.setdiff1d(np.arange(2 ** N), st)
    assert np.abs(Hd[np.ix_(out, st)]).max() == 0
    # and the global ground state lies in S^z = 0 (a singlet)
    assert hb.ground_state(N, J2)[0] == pytest.approx(np.linalg.eigvalsh(Hd)[0], abs=1e-10)


def test_four_site_ring_closed_form():
    # N = 4, J2 = 0: H = (S_tot^2 - S_A^2 - S_B^2) / 2 * 2 over the two sublattice pairs: E0 = -2 (S_A = S_B = 1, S = 0)
    assert hb.ground_state(4)[0] == pytest.approx(-2.0, abs=1e-12)


def test_known_energies():
    assert hb.ground_state(8)[0] == pytest.approx(hb.REFERENCE_E0[(8, 0.0)], abs=1e-8)  # lecture notebook
    # the Majumdar-Ghosh point: E0 = -3N/8 exactly
    assert hb.ground_state(12, 0.5)[0] == pytest.approx(-4.5, abs=1e-10)


def test_j1j2_twenty_sites_against_dmrg_table():
    """The lecture notebook's DMRG value for N = 20, J2 = 0.2 (spec Sec. 2.4) by sparse Lanczos (~2 s)."""
    e, psi = hb.ground_state(20, 0.2)
    assert e == pytest.approx(-8.20291625218, abs=1e-9)
    assert hb.energy_of(psi, 20, 0.2) == pytest.approx(e, abs=1e-10)


def test_marshall_rotation():
    N = 8
    st = hb.sector_states(N)
    s = hb.states_to_spins(st, N)
    M = hb.marshall_sign(s).astype(float)
    H, Hr = hb.hamiltonian_sector(N).toarray(), hb.hamiltonian_sector(N, marshall=True).toarray()
    assert np.allclose(Hr, M[:, None] * H * M[None, :])
    # rotated: every off-diagonal element <= 0 (stoquastic), so the ground state is positive (Perron-Frobenius)
    assert (Hr - np.diag(np.diag(Hr))).max() <= 0
    e, psi = hb.ground_state(N, marshall=True)
    assert psi.min() > 0
    # unrotated, the ground state carries exactly the Marshall sign
    e0, psi0 = hb.ground_state(N)
    assert e == pytest.approx(e0)
    assert np.all(np.sign(psi0) == M * np.sign(psi0[0] * M[0]))
    # J2 frustrates: the rotated J2 exchange stays positive
    assert (hb.hamiltonian_sector(N, 0.2, marshall=True).toarray() > 0.05).any()


def test_spin_conversions_and_bad_input():
    st = hb.sector_states(6)
    assert len(st) == 20 and np.all(np.diff(st) > 0)
    s = hb.states_to_spins(st, 6)
    assert (s.sum(1) == 0).all() and np.array_equal(hb.spins_to_states(s), st)
    for bad in (5, 3, 2.0, True, 30):
        with pytest.raises(ValueError, match="n_sites"):
            hb.sector_states(bad)
    with pytest.raises(ValueError, match="spins"):
        hb.spins_to_states(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="psi"):
        hb.energy_of(np.ones(3), 6)
    with pytest.raises(ValueError, match="states"):
        hb.sector_index([0b1111], st)
