"""SBRG (Durr & Chakravarty, PRB 100, 075102 (2019), arXiv:1903.05755, appendix = Durr thesis Sec. 1.6.1):
Pauli algebra and Clifford rotations against dense 2x2 Kronecker
matrices, the second-order Schrieffer-Wolff step against closed forms, exactness on commuting Hamiltonians, and the
SBRG vs exact-diagonalization spectrum at strong and weak disorder (Fig 1.13)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from datamodules.physics.sbrg import (
    CliffordRotation, PauliString, anticommute, exact_spectrum, hamiltonian_matrix, heff_spectrum, liom_ranges,
    pauli_matrix, pauli_product, relative_rms_error, sample_couplings,
    sbrg, sbrg_ed_error_scan, sbrg_random_tfim, sbrg_vs_ed, stabilizer_entropy, term_range, term_strength_vs_range,
)


def rand_string(L, rng, nontrivial=True):
    while True:
        p = PauliString(int(rng.integers(0, 2 ** L)), int(rng.integers(0, 2 ** L)), L)
        if p.weight or not nontrivial:
            return p


def rand_hamiltonian(L, n, rng):
    return [(float(rng.normal()), rand_string(L, rng)) for _ in range(n)]


# --------------------------------------------------------------------------- Pauli algebra
def test_labels_and_single_site_table():
    assert PauliString.from_label("IXYZ").label == "IXYZ"
    X, Y, Z = (PauliString.from_label(c) for c in "XYZ")
    # X Y = i Z, Y Z = i X, Z X = i Y, Y X = -i Z
    assert pauli_product(X, Y) == (1, Z)
    assert pauli_product(Y, Z) == (1, X)
    assert pauli_product(Z, X) == (1, Y)
    assert pauli_product(Y, X) == (3, Z)
    assert pauli_product(Y, Y) == (0, PauliString(0, 0, 1))
    assert anticommute(X, Z) and not anticommute(X, X)


@pytest.mark.parametrize("L", [3, 4])
def test_products_and_commutation_match_kronecker_matrices(L):
    rng = np.random.default_rng(L)
    for _ in range(150):
        a, b = rand_string(L, rng, False), rand_string(L, rng, False)
        Ma, Mb = pauli_matrix(a), pauli_matrix(b)
        assert np.allclose(Ma, Ma.conj().T)  # the i^(x.z) convention makes every string Hermitian
        k, c = pauli_product(a, b)
        np.testing.assert_allclose(Ma @ Mb, (1j ** k) * pauli_matrix(c), atol=1e-14)
        anti = np.allclose(Ma @ Mb, -Mb @ Ma)
        assert anti == anticommute(a, b)
        assert anti == bool(k & 1)  # commuting Hermitian strings multiply to +-1 times a string
    # the ED builder (row/column lookup) against the sum of Kronecker products
    H = rand_hamiltonian(L, 6, rng)
    np.testing.assert_allclose(hamiltonian_matrix(H), sum(c * pauli_matrix(p) for c, p in H), atol=1e-14)


# --------------------------------------------------------------------------- Clifford rotations
def test_clifford_rotation_is_the_dense_conjugation_and_preserves_spectrum():
    rng = np.random.default_rng(1)
    L = 4
    for _ in range(10):
        A = rand_string(L, rng)
        B = rand_string(L, rng)
        while not anticommute(A, B):
            B = rand_string(L, rng)
        R = CliffordRotation(A, B)
        U = R.matrix()
        np.testing.assert_allclose(U @ U.conj().T, np.eye(2 ** L), atol=1e-13)
        np.testing.assert_allclose(U @ pauli_matrix(A) @ U.conj().T, pauli_matrix(B), atol=1e-13)
        H = rand_hamiltonian(L, 12, rng)
        H_rot = [R.apply(c, p) for c, p in H]
        M, M_rot = hamiltonian_matrix(H), hamiltonian_matrix(H_rot)
        np.testing.assert_allclose(U @ M @ U.conj().T, M_rot, atol=1e-12)
        np.testing.assert_allclose(np.linalg.eigvalsh(M_rot), np.linalg.eigvalsh(M), atol=1e-12)
        back = [R.inverse().apply(c, p) for c, p in H_rot]
        assert [(round(c, 15), p) for c, p in back] == [(round(c, 15), p) for c, p in H]


# --------------------------------------------------------------------------- Schrieffer-Wolff step
def test_sw_second_order_single_site():
    # H = h Z + x X: SBRG gives +-(h + x^2/(2h)), exact +-sqrt(h^2 + x^2); the gap is x^4/(8 h^3) + O(x^6)
    for h, x in [(1.0, 0.1), (-2.0, 0.15), (0.7, -0.05)]:
        H = [(h, PauliString.from_label("Z")), (x, PauliString.from_label("X"))]
        E = sbrg(H).spectrum()
        a = abs(h) + x * x / (2 * abs(h))
        np.testing.assert_allclose(E, [-a, a], rtol=1e-14)
        err = a - math.sqrt(h * h + x * x)
        assert err == pytest.approx(x ** 4 / (8 * abs(h) ** 3), rel=0.03)


def test_sw_cross_terms_two_sites():
    # H = h Z0 + a X0 + b X0 X1: Sigma = {X0, X0X1} commute, so Sigma^2 has the cross term 2ab X1 and
    # H_eff = (h + (a^2+b^2)/(2h)) tau0 + (ab/h) tau1, the second-order expansion of +-sqrt(h^2 + (a +- b)^2)
    rng = np.random.default_rng(3)
    for _ in range(5):
        h = rng.choice([-1, 1]) * rng.uniform(1, 2)
        a, b = rng.uniform(-0.2, 0.2, size=2)
        H = [(h, PauliString.from_label("ZI")), (a, PauliString.from_label("XI")), (b, PauliString.from_label("XX"))]
        r = sbrg(H)
        hp = abs(h + (a * a + b * b) / (2 * h))
        want = np.sort([s1 * hp + s2 * a * b / h for s1 in (1, -1) for s2 in (1, -1)])
        np.testing.assert_allclose(r.spectrum(), want, atol=1e-14)
        exact = np.sort([s * math.sqrt(h * h + (a + t * b) ** 2) for s in (1, -1) for t in (1, -1)])
        np.testing.assert_allclose(exact_spectrum(H), exact, atol=1e-12)
        assert np.abs(r.spectrum() - exact).max() < 1.1 * (abs(a) + abs(b)) ** 4 / (8 * abs(h) ** 3)


# --------------------------------------------------------------------------- exactly solvable cases
def test_commuting_diagonal_hamiltonian_is_exact():
    rng = np.random.default_rng(4)
    L = 5
    H = [(float(rng.normal()), PauliString.from_ops(L, {i: "Z"})) for i in range(L)]
    H += [(float(rng.normal()), PauliString.from_ops(L, {i: "Z", (i + 1) % L: "Z"})) for i in range(L)]
    H += [(float(rng.normal()), PauliString.from_ops(L, {0: "Z", 2: "Z", 3: "Z"})), (0.3, PauliString(0, 0, L))]
    r = sbrg(H)
    # Z-only strings with >= 2 Z's are still Clifford-rotated to a single Z (case (b)); the result must be exact
    assert all(p.x == 0 for _, p in r.lioms)
    np.testing.assert_allclose(r.spectrum(), exact_spectrum(H), atol=1e-10)


def test_commuting_non_diagonal_hamiltonian_is_exact():
    # a Z-polynomial conjugated by random Clifford rotations: non-diagonal, but all terms commute, so Sigma is
    # always empty and SBRG must reproduce ED exactly
    rng = np.random.default_rng(5)
    L = 5
    for _ in range(3):
        H = [(float(rng.normal()), PauliString(0, int(rng.integers(1, 2 ** L)), L)) for _ in range(10)]
        for _ in range(6):
            A = rand_string(L, rng)
            B = rand_string(L, rng)
            while not anticommute(A, B):
                B = rand_string(L, rng)
            H = [CliffordRotation(A, B).apply(c, p) for c, p in H]
        assert any(p.x for _, p in H)
        np.testing.assert_allclose(sbrg(H).spectrum(), exact_spectrum(H), atol=1e-10)
    # the transverse-field-free chain: only XX bonds
    Hx = [(-1.0 - i / 7, PauliString.from_ops(6, {i: "X", (i + 1) % 6: "X"})) for i in range(6)]
    np.testing.assert_allclose(sbrg(Hx).spectrum(), exact_spectrum(Hx), atol=1e-10)


# --------------------------------------------------------------------------- LIOMs and the circuit
def test_lioms_commute_with_heff_and_each_other():
    H = sbrg_random_tfim(5, Gamma=3.0, rng=7)
    r = sbrg(H)
    mats = [s * pauli_matrix(p) for s, p in r.lioms]
    for i in range(5):
        for j in range(5):
            assert not anticommute(r.lioms[i][1], r.lioms[j][1])
            np.testing.assert_allclose(mats[i] @ mats[j], mats[j] @ mats[i], atol=1e-13)
    Heff = hamiltonian_matrix(r.heff_physical())
    for m in mats:
        np.testing.assert_allclose(m @ Heff, Heff @ m, atol=1e-12)
    # H_eff in the physical basis is diagonal in the LIOM basis: same 2^L energies as the tau enumeration
    np.testing.assert_allclose(np.linalg.eigvalsh(Heff), r.spectrum(), atol=1e-12)
    # the LIOMs are independent stabilizers: their joint eigenspaces are 1-dimensional (projector of rank 1)
    P = np.eye(32)
    for m in mats:
        P = P @ (np.eye(32) + m) / 2
    assert np.trace(P).real == pytest.approx(1.0, abs=1e-12)
    p = PauliString.from_label("XZYIZ")
    assert r.to_lioms(*r.to_physical(1.0, p)) == (1.0, p)


def test_stabilizer_entropy_bell_pair_and_product_state():
    H = [(-1.0, PauliString.from_label("XX")), (-0.5, PauliString.from_label("ZZ"))]
    assert stabilizer_entropy(sbrg(H), [0]) == 1.0
    Hz = [(-1.0, PauliString.from_label("ZI")), (-0.5, PauliString.from_label("ZZ"))]
    assert stabilizer_entropy(sbrg(Hz), [0]) == 0.0


# --------------------------------------------------------------------------- the random TFIM and Fig 1.13
def test_random_tfim_model_and_coupling_distribution():
    H, c = sbrg_random_tfim(5, Gamma=2.0, rng=0, return_couplings=True)
    assert len(H) == 15 and len(sbrg_random_tfim(5, pbc=False, rng=0)) == 13
    # independent construction of the same matrix from the couplings
    X, Z, I2 = np.array([[0, 1], [1, 0]]), np.diag([1.0, -1.0]), np.eye(2)

    def op(ops):
        m = np.ones((1, 1))
        for k in range(5):
            m = np.kron(m, ops.get(k, I2))
        return m
    M = sum(-c["J"][i] * op({i: X, (i + 1) % 5: X}) - c["K"][i] * op({i: Z, (i + 1) % 5: Z}) for i in range(5))
    M = M - sum(c["h"][i] * op({i: Z}) for i in range(5))
    np.testing.assert_allclose(hamiltonian_matrix(H).real, M, atol=1e-14)
    np.testing.assert_allclose(exact_spectrum(H), np.linalg.eigvalsh(M), atol=1e-12)
    # P(J < t) = t^(1/Gamma) on [0, 1]; Gamma = 1 is uniform (the thesis's "gamma = 0" is a misprint)
    rng = np.random.default_rng(1)
    for G in (1.0, 5.0):
        s = np.sort(sample_couplings(20000, 1.0, G, rng))
        cdf = np.arange(1, s.size + 1) / s.size
        assert np.abs(cdf - s ** (1 / G)).max() < 0.015


def test_sbrg_matches_ed_at_strong_disorder_and_degrades_at_weak():
    # Measured (L = 6, PBC, J0 = K0 = h0 = 1, tol 1e-8, max_rate 2; relative RMS = RMS(E_sbrg - E_ed)/std(E_ed)):
    #   Gamma = 5, seeds 0-19: mean 0.028, median 0.023, max 0.072 (seed 0); seeds 0-9: mean 0.027
    #   Gamma = 2: mean 0.091; Gamma = 1 (uniform): mean 0.174, max 0.45 (seed 14)
    # Tolerances with margin: mean < 0.05 and every seed < 0.12 at Gamma = 5; weak disorder at least 3x worse.
    seeds = range(10)
    e5 = np.array([sbrg_vs_ed(6, 5.0, s)["rel_rms"] for s in seeds])
    e1 = np.array([sbrg_vs_ed(6, 1.0, s)["rel_rms"] for s in seeds])
    e2 = np.array([sbrg_vs_ed(6, 2.0, s)["rel_rms"] for s in seeds])
    assert e5.mean() < 0.05 and e5.max() < 0.12, e5
    assert e5.mean() < e2.mean() < e1.mean(), (e5.mean(), e2.mean(), e1.mean())
    assert e1.mean() > 3 * e5.mean()


def test_sbrg_becomes_exact_at_infinite_randomness():
    # Measured (L = 6, seeds 0-9): Gamma = 20 median 1.5e-5; Gamma = 40 median 2.7e-9, but seed 4 stays at 2e-2
    # because h_2 = 0.53 and J_2 = 0.38 happen to be comparable (second order in 0.72 is not accurate): a genuine
    # SBRG limitation, hence the median.
    e = np.array([sbrg_vs_ed(6, 40.0, s)["rel_rms"] for s in range(10)])
    assert np.median(e) < 1e-6, e


def test_figure_data_and_error_scan():
    assert term_range([0, 1], 8) == 2 and term_range([7, 0], 8) == 2 and term_range([7, 0], 8, pbc=False) == 8
    assert term_range([0, 3, 5], 8) == 6 and term_range([], 8) == 0
    H = sbrg_random_tfim(6, Gamma=5.0, rng=2)
    r = sbrg(H)
    d = term_strength_vs_range(H, r)
    assert set(d["orig_range"].tolist()) == {1, 2}
    assert len(d["heff_range"]) == len(d["heff_strength"]) > 0
    assert liom_ranges(r).min() >= 1
    out = sbrg_vs_ed(5, 5.0, 1)
    assert out["rel_rms"] == pytest.approx(relative_rms_error(out["E_sbrg"], out["E_ed"]))
    # the error scan is sbrg_vs_ed per seed; with_times adds SBRG's wall seconds
    e1 = [sbrg_vs_ed(5, 1.0, s)["rel_rms"] for s in range(3)]
    scan = sbrg_ed_error_scan(5, (1.0,), range(3))
    np.testing.assert_allclose(scan[1.0], e1)
    errs, secs = sbrg_ed_error_scan(5, (1.0,), range(3), with_times=True)[1.0]
    np.testing.assert_allclose(errs, e1)
    assert secs.shape == (3,) and (secs > 0).all()


def test_bad_input_raises():
    with pytest.raises(ValueError, match="IXYZ"):
        PauliString.from_label("XQ")
    with pytest.raises(ValueError, match="bit mask"):
        PauliString(8, 0, 3)
    with pytest.raises(ValueError, match="different numbers of sites"):
        pauli_product(PauliString.from_label("X"), PauliString.from_label("XX"))
    with pytest.raises(ValueError, match="anticommuting"):
        CliffordRotation(PauliString.from_label("XI"), PauliString.from_label("IX"))
    with pytest.raises(ValueError, match="non-empty"):
        sbrg([])
    with pytest.raises(ValueError, match="real"):
        sbrg([(1j, PauliString.from_label("X"))])
    with pytest.raises(ValueError, match="same number of sites"):
        sbrg([(1.0, PauliString.from_label("X")), (1.0, PauliString.from_label("XX"))])
    with pytest.raises(ValueError, match="max_rate"):
        sbrg([(1.0, PauliString.from_label("X"))], max_rate=0)
    with pytest.raises(ValueError, match="Gamma"):
        sbrg_random_tfim(4, Gamma=-1.0)
    with pytest.raises(ValueError, match="L must be"):
        sbrg_random_tfim(1)
    with pytest.raises(ValueError, match="out of range"):
        heff_spectrum([(1.0, {3})], 3)
    with pytest.raises(ValueError, match="zero spread"):
        relative_rms_error([0.0, 0.0], [1.0, 1.0])
