"""Disordered TFIM chain ED (datamodules/physics/spin_chain.py) against brute-force references."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from datamodules.physics import spin_chain as sc


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """numpy's and scipy's OpenBLAS each keep a spinning thread pool; on 2 shared cores, with 2 test workers, the
    two pools starve each other (an L = 10 case took 60 s instead of 1 s).  Results do not depend on this."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def _draw(L, delta=0.3, lam=0.7, seed=0, n=1):
    return sc.sample_couplings(L, delta, lam, np.random.default_rng(seed), n=n)


def _rho_A_bruteforce(v, L, region):
    """Partial trace by explicit index sums over B (no reshape tricks): rho[a, a'] = sum_b psi(a, b) psi(a', b)."""
    nA = len(region)
    rho = np.zeros((2 ** nA, 2 ** nA))
    for s in range(2 ** L):
        bits = [(s >> (L - 1 - i)) & 1 for i in range(L)]
        a = int("".join(str(bits[i]) for i in region), 2)
        for sa in range(2 ** nA):
            abits = [(sa >> (nA - 1 - j)) & 1 for j in range(nA)]
            t_bits = list(bits)
            for j, i in enumerate(region):
                t_bits[i] = abits[j]
            t = int("".join(map(str, t_bits)), 2)
            rho[a, sa] += v[s] * v[t]
    return np.sort(np.linalg.eigvalsh(rho))[::-1]


@pytest.mark.parametrize("L", [3, 4, 5, 6])
def test_fast_builders_equal_kronecker_reference(L):
    d = _draw(L, seed=L)
    Hk = sc.hamiltonian_kron(L, d["J"], d["h"], d["lam_h"], d["lam_J"])
    Hd = sc.hamiltonian_dense(L, d["J"], d["h"], d["lam_h"], d["lam_J"])[0]
    np.testing.assert_allclose(Hd, Hk, atol=1e-12)
    assert np.allclose(Hk, Hk.T)
    # H commutes with the parity P = prod X (index reversal)
    P = np.eye(2 ** L)[::-1]
    np.testing.assert_allclose(P @ Hk @ P, Hk, atol=1e-12)


def test_kron_reference_by_hand_L3():
    """L = 3, one realization: every matrix element written out."""
    J, h, lh, lJ = np.array([[1.0, 2.0]]), np.array([[0.5, 0.25, 0.125]]), 0.3, 0.7
    H = sc.hamiltonian_kron(3, J, h, lh, lJ)
    # diagonal: -J0 z0 z1 - J1 z1 z2 - lJ z0 z2 ; |000> all up
    assert H[0, 0] == pytest.approx(-1 - 2 - 0.7)
    # |010>: z = (+, -, +)
    assert H[2, 2] == pytest.approx(1 + 2 - 0.7)
    # X on site 0 (most significant bit) connects |000> and |100>
    assert H[4, 0] == pytest.approx(-0.5)
    assert H[1, 0] == pytest.approx(-0.125)
    # X0 X1 connects |000> and |110>; X1 X2 connects |000> and |011>
    assert H[6, 0] == pytest.approx(-0.3) and H[3, 0] == pytest.approx(-0.3)
    assert H[5, 0] == 0.0  # X0 X2 is not a term


@pytest.mark.parametrize("L", [4, 5, 6, 7])
def test_parity_resolved_spectrum_equals_dense_ed(L):
    d = _draw(L, seed=10 + L, n=2)
    E, psi, par = sc.eigenstates(L, d["J"], d["h"], d["lam_h"], d["lam_J"], resolve_parity=True, trim=0.0)
    for r in range(2):
        Hk = sc.hamiltonian_kron(L, d["J"][r], d["h"][r], d["lam_h"], d["lam_J"])
        np.testing.assert_allclose(E[r], np.linalg.eigvalsh(Hk), atol=1e-10)
        # eigenvectors: normalized, H psi = E psi, and P psi = parity * psi
        np.testing.assert_allclose(np.linalg.norm(psi[r], axis=1), 1, atol=1e-12)
        np.testing.assert_allclose(psi[r] @ Hk, E[r][:, None] * psi[r], atol=1e-9)
        np.testing.assert_allclose(psi[r][:, ::-1], par[r][:, None] * psi[r], atol=1e-12)
    assert set(np.unique(par)) == {-1, 1}
    assert (par == 1).sum() == (par == -1).sum() == 2 * 2 ** (L - 1)


def test_entanglement_spectra_equal_bruteforce_partial_trace():
    """Non-contiguous B: L = 6, A = middle 4 sites (1..4), B = {0, 5}; and an irregular region."""
    L = 6
    d = _draw(L, seed=3)
    Hk = sc.hamiltonian_kron(L, d["J"], d["h"], d["lam_h"], d["lam_J"])
    Ek, Vk = np.linalg.eigh(Hk)
    E, psi, _ = sc.eigenstates(L, d["J"], d["h"], d["lam_h"], d["lam_J"], trim=0.0)
    assert np.min(np.diff(Ek)) > 1e-8  # generic couplings: non-degenerate, eigenvectors unique up to sign
    assert sc.middle_region(L) == (1, 2, 3, 4)
    for region in [(1, 2, 3, 4), (0, 2, 5)]:
        ours = sc.rdm_spectrum(psi[0], L, region)
        for k in range(0, 2 ** L, 7):
            ref = _rho_A_bruteforce(Vk[:, k], L, region)
            np.testing.assert_allclose(ours[k], ref, atol=1e-10)
        assert np.all(np.diff(ours, axis=1) <= 1e-15)  # descending
        np.testing.assert_allclose(ours.sum(1), 1, atol=1e-12)


def test_middle_region_L12_is_sites_4_to_7():
    assert sc.middle_region(12) == (4, 5, 6, 7)
    assert sc.middle_region(8) == (2, 3, 4, 5)


def test_trim_removes_floor_ten_percent_each_end():
    L = 8
    d = _draw(L, seed=1)
    E, psi, par = sc.eigenstates(L, d["J"], d["h"], d["lam_h"], d["lam_J"], trim=0.1)
    Eall, *_ = sc.eigenstates(L, d["J"], d["h"], d["lam_h"], d["lam_J"], trim=0.0)
    assert E.shape == (1, 256 - 2 * 25) and psi.shape == (1, 206, 256)
    np.testing.assert_allclose(E[0], Eall[0, 25:231])
    assert sc.trim_count(4096, 0.1) == 409  # 3278 kept at L = 12 (DC19 thesis Sec. 1.3.1, footnote, L399)


def test_lambda0_spin_glass_limit_cat_states():
    """h = 0, lambda = 0: eigenstates are cats (|s> +- |~s>)/sqrt2, rho_A spectrum (1/2, 1/2, 0, ...), S = ln 2,
    in every parity-resolved eigenstate; a full-matrix eigh returns the product states instead (the Z2 trap)."""
    L = 8
    J = np.exp(np.random.default_rng(0).normal(0, 1, (1, L - 1)))
    h = np.zeros((1, L))
    _, psi, par = sc.eigenstates(L, J, h, 0.0, 0.0, resolve_parity=True, trim=0.0)
    p = sc.rdm_spectrum(psi[0], L)
    expected = np.zeros(16)
    expected[:2] = 0.5
    np.testing.assert_allclose(p, np.broadcast_to(expected, p.shape), atol=1e-12)
    np.testing.assert_allclose(sc.entanglement_entropy(p), np.log(2), atol=1e-12)
    np.testing.assert_allclose(np.abs(sc.parity_expectation(psi[0])), 1, atol=1e-12)
    _, psi_full, par_full = sc.eigenstates(L, J, h, 0.0, 0.0, resolve_parity=False, trim=0.0)
    assert (par_full == 0).all()
    p_full = sc.rdm_spectrum(psi_full[0], L)
    np.testing.assert_allclose(p_full[:, 0], 1, atol=1e-12)  # z-product states: the PM-like artifact


def test_lambda0_paramagnet_limit_x_product_states():
    """J = 0, lambda = 0: H = -sum h_i X_i; eigenstates are X-basis products, rho_A spectrum (1, 0, ...)."""
    L = 8
    h = np.exp(np.random.default_rng(1).normal(0, 1, (1, L)))
    E, psi, _ = sc.eigenstates(L, np.zeros((1, L - 1)), h, 0.0, 0.0, trim=0.0)
    p = sc.rdm_spectrum(psi[0], L)
    np.testing.assert_allclose(p[:, 0], 1, atol=1e-10)
    np.testing.assert_allclose(sc.entanglement_entropy(p), 0, atol=1e-8)
    # energies are -sum_i s_i h_i for s in {+-1}^L
    ref = np.sort([-np.dot(s, h[0]) for s in itertools.product([1, -1], repeat=L)])
    np.testing.assert_allclose(E[0], ref, atol=1e-10)


def test_z2_trap_deep_spin_glass():
    """Delta = 8, lambda = 0, L = 8: the cat doublets split by ~prod h/J, below double precision.  Parity-resolved
    ED gives cats (S ~ ln 2 or more, |<P>| = 1); a full eigh gives symmetry-broken product-like states (ours; DC19 Fig. 1.12)."""
    L = 8
    d = _draw(L, delta=8.0, lam=0.0, seed=5, n=3)
    _, psi, _ = sc.eigenstates(L, d["J"], d["h"], d["lam_h"], d["lam_J"], resolve_parity=True)
    S = sc.entanglement_entropy(sc.rdm_spectrum(psi, L))
    assert np.median(S) > 0.6
    _, psi_full, _ = sc.eigenstates(L, d["J"], d["h"], d["lam_h"], d["lam_J"], resolve_parity=False)
    S_full = sc.entanglement_entropy(sc.rdm_spectrum(psi_full, L))
    broken = np.abs(sc.parity_expectation(psi_full)) < 0.9
    assert broken.mean() > 0.5
    assert np.median(S_full) < 0.3


def test_mean_conventions_and_overall_scale():
    Ja, ha = sc.mean_couplings(1.2, "arithmetic")
    Jg, hg = sc.mean_couplings(1.2, "geometric")
    assert Ja / Jg == pytest.approx(np.exp(0.5)) and ha / hg == pytest.approx(np.exp(0.5))
    assert Jg == pytest.approx(np.exp(0.6)) and hg == pytest.approx(np.exp(-0.6))
    d = sc.sample_couplings(6, 2.0, 1.0, np.random.default_rng(0), n=20000)
    assert np.log(d["J"]).mean() - np.log(d["h"]).mean() == pytest.approx(2.0, abs=0.03)
    assert np.log(d["J"]).std() == pytest.approx(1.0, abs=0.02)
    assert d["lam_J"] == pytest.approx(np.exp(1.5))


def test_js_distance_matrix_matches_scipy():
    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(16) * 0.3, size=40)
    X[:5, 8:] = 0
    X[:5] /= X[:5].sum(1, keepdims=True)
    D = sc.js_distance_matrix(X, dtype=None).numpy()
    ref = np.array([[jensenshannon(a, b, base=2) for b in X] for a in X])
    np.testing.assert_allclose(D, ref, atol=2e-3)  # float32 default
    D64 = sc.js_distance_matrix(X, chunk_elems=7 * 7 * 16, dtype=__import__("torch").float64).numpy()
    np.testing.assert_allclose(D64, ref, atol=1e-7)
    np.testing.assert_allclose(sc.js_distance(X[:3], X[3:6]), ref[np.arange(3), np.arange(3, 6)], atol=1e-12)
    assert np.all(D64 <= 1 + 1e-12) and np.allclose(np.diag(D64), 0)
    # disjoint supports are at the maximal distance 1 (base 2)
    e1, e2 = np.eye(16)[:1], np.eye(16)[1:2]
    assert sc.js_distance_matrix(e1, e2, dtype=__import__("torch").float64).item() == pytest.approx(1.0)


def test_confusion_measure():
    verts = np.eye(3)
    np.testing.assert_allclose(sc.confusion(verts), 0, atol=1e-12)
    Q = [[0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(sc.confusion(Q), 1, atol=1e-12)
    # the interior Voronoi vertex (2/3, 1/6, 1/6) is sqrt(1/6) from the two nearest points of Q
    assert sc.confusion([2 / 3, 1 / 6, 1 / 6]) == pytest.approx(1 - np.sqrt(2) * np.sqrt(1 / 6))
    p = np.random.default_rng(0).dirichlet(np.ones(3), 1000)
    C = sc.confusion(p)
    assert C.min() >= -1e-12 and C.max() <= 1 + 1e-12
    with pytest.raises(ValueError, match="probability"):
        sc.confusion([0.5, 0.6, 0.1])


@pytest.mark.parametrize("L,size,match", [(7, 4, "odd cut"), (5, 4, "too small"), (9, 2, "odd cut"),
                                          (2, 1, "L \\(chain length\\)"), (17, 4, "L \\(chain length\\)")])
def test_bad_cuts_raise(L, size, match):
    with pytest.raises(ValueError, match=match):
        sc.middle_region(L, size)


def test_bad_inputs_raise():
    J, h = np.ones((1, 5)), np.ones((1, 6))
    with pytest.raises(ValueError, match="NaN"):
        sc.hamiltonian_dense(6, np.array([[1, np.nan, 1, 1, 1]]), h, 0.1, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        sc.parity_blocks(6, J, np.array([[1, 1, np.inf, 1, 1, 1]]), 0.1, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        sc.eigenstates(6, J, h, float("nan"), 0.1)
    with pytest.raises(ValueError, match="L-1"):
        sc.parity_blocks(6, np.ones((1, 6)), h, 0.1, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        sc.sample_couplings(6, float("nan"), 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="lam"):
        sc.sample_couplings(6, 0.0, -1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="mean_convention"):
        sc.mean_couplings(0.0, "harmonic")
    with pytest.raises(ValueError, match="2\\^L"):
        sc.rdm_spectrum(np.ones((3, 60)), 6)
    with pytest.raises(ValueError, match="region"):
        sc.rdm_spectrum(np.ones(64) / 8, 6, region=(0, 6))
    with pytest.raises(ValueError, match="trim"):
        sc.eigenstates(6, J, h, 0.1, 0.1, trim=0.6)
    with pytest.raises(ValueError, match="probability"):
        sc.js_distance_matrix(np.array([[0.5, np.nan]]))


def test_point_states_do_not_depend_on_the_realization_chunk():
    """Realizations are diagonalized in memory-bounded chunks; the bytes must not depend on the chunk size."""
    seeds = [np.random.SeedSequence([7, r]) for r in range(5)]
    kw = dict(region=sc.middle_region(6, 4), resolve_parity=True, trim=0.1)
    for per in (None, 7):
        whole = sc.point_states(6, 0.3, 0.7, 5, seeds, per, **kw)
        one_by_one = sc.point_states(6, 0.3, 0.7, 5, seeds, per, max_chunk_bytes=1, **kw)
        for key in whole:
            np.testing.assert_array_equal(whole[key], one_by_one[key])


# ----------------------------------------------------------------------------- only the chosen eigenvectors
@pytest.mark.parametrize("L", [5, 7, 10])
def test_block_eigenvalues_bit_identical_to_eigh(L):
    """The chosen-vectors path selects states by the eigenvalues of dsytrd + dstedc; they must be eigh's to the
    last bit, else cat doublets split below double precision (deep spin glass) could swap order and parity.
    L = 7 (2^6 = 64) is where dsyevd's workspace shrinks dsytrd's and dormqr's block sizes."""
    d = _draw(L, delta=3.0, lam=0.1, seed=L)
    for H in sc.parity_blocks(L, d["J"], d["h"], d["lam_h"], d["lam_J"]):
        w0, V0 = np.linalg.eigh(H[0])
        w, Z, c, tau = sc._block_eigvals_and_tridiagonal(H[0])
        np.testing.assert_array_equal(w, w0)
        cols = np.array([0, 3, len(w) // 2, len(w) - 1])
        X = sc._back_transform(c, tau, Z[:, cols])
        # the same eigenvectors, sign included (D&C's Z back-transformed), to rounding
        np.testing.assert_allclose(X, V0[:, cols], atol=1e-13)


# thermal, MBL, and a deep spin glass at lambda = 0 (cat doublets degenerate to machine precision)
_POINTS = [(0.0, 1.0), (-0.8, 0.2), (0.8, 0.2), (3.0, 0.0)]


@pytest.mark.parametrize("L,R,per", [(8, 3, 20), (10, 2, 13)])
def test_chosen_states_equal_the_all_eigenvectors_path(L, R, per):
    """Default (vectors='exact'): bit-identical arrays to the path the datasets were made with; 'chosen': the same
    selection (parity, position, realization) bit for bit and spectra to 1e-10 (in float64, before the cast)."""
    region = sc.middle_region(L)
    for j, (delta, lam) in enumerate(_POINTS):
        seeds = [np.random.SeedSequence([L, j, r]) for r in range(R)]
        ref = sc._point_states_all_vectors(L, delta, lam, R, seeds, per, region=region)
        new = sc.point_states(L, delta, lam, R, seeds, per, region=region)
        fast = sc.point_states(L, delta, lam, R, seeds, per, region=region, vectors="chosen")
        for key in ref:
            assert ref[key].dtype == new[key].dtype and ref[key].tobytes() == new[key].tobytes(), key
        for key in ("realization", "parity", "energy_index"):
            np.testing.assert_array_equal(fast[key], ref[key])
        np.testing.assert_allclose(fast["spectra"], ref["spectra"], atol=2e-7)  # float32 storage
    # float64 spectra of 'chosen' vs all eigenvectors, one realization of the deep spin glass
    seeds = [np.random.SeedSequence([L, 99, 0])]
    g = np.random.default_rng(seeds[0])
    c = sc.sample_couplings(L, 3.0, 0.0, g)
    k = sc.trim_count(2 ** L, 0.1)
    _, psi_all, par_all = sc.eigenstates(L, c["J"], c["h"], c["lam_h"], c["lam_J"])
    pick = lambda M: np.sort(np.random.default_rng(5).choice(M, per, replace=False))  # noqa: E731
    Hp, Hm = sc.parity_blocks(L, c["J"], c["h"], c["lam_h"], c["lam_J"])
    psi, par, idx, path = sc._chosen_states(Hp[0], Hm[0], k, pick, "chosen")
    assert path == "chosen"
    np.testing.assert_array_equal(par, par_all[0, idx])
    np.testing.assert_allclose(sc.rdm_spectrum(psi, L), sc.rdm_spectrum(psi_all[0, idx], L), atol=1e-10)


def test_mbl_shard_bytes_unchanged(monkeypatch):
    """One small grid shard of the MBL dataset (Delta = -3 and +3: paramagnet and spin glass, random kept states)
    is byte-identical to the all-eigenvectors path; the recipe hash does not involve the ED path."""
    import tempfile

    from datamodules import mbl
    from datamodules.cache import recipe_hash

    with tempfile.TemporaryDirectory() as d:
        dm = mbl.MBLDataModule(L=8, n_delta=2, n_lambda=1, lambda_range=[0.2, 0.2], grid_realizations=2,
                               states_per_realization=10, train_realizations=0, points_per_shard=5, data_dir=d,
                               progress=False)
        key = recipe_hash(dm.recipe())
        new = dm.shard_fn()(0)
        def all_vectors(*a, vectors, **kw):
            assert vectors == "exact"  # the default recipe (no `ed`) runs the exact path
            return sc._point_states_all_vectors(*a, **kw)

        monkeypatch.setattr(sc, "point_states", all_vectors)
        ref = dm.shard_fn()(0)
        assert recipe_hash(dm.recipe()) == key
    assert set(new) == set(ref) and len(ref["spectra"]) == 2 * 2 * 10
    for name in ref:
        assert new[name].dtype == ref[name].dtype and new[name].tobytes() == ref[name].tobytes(), name


def test_point_states_vectors_argument():
    with pytest.raises(ValueError, match="vectors"):
        sc.point_states(6, 0.0, 1.0, 1, [np.random.SeedSequence(0)], 3, vectors="some")


# ----------------------------------------------------------------------------- ed='band': two-stage + inverse iteration
@pytest.mark.parametrize("n", [2, 5, 40, 300])
def test_selected_eigh_equals_eigh(n):
    """BandEigh: eigenvalues equal eigh's to ~n eps ||A||; the chosen eigenvectors are eigh's up to sign,
    orthonormal, with residual ||A x - w x|| at rounding level."""
    from datamodules.physics import selected_eigh as se

    if not se.available():
        pytest.fail("the two-stage LAPACK routines were not found in the loaded OpenBLAS")
    A = np.random.default_rng(n).standard_normal((n, n))
    A = A + A.T
    w0, V0 = np.linalg.eigh(A)
    b = se.BandEigh(A)
    scale = np.abs(w0).max()
    assert np.abs(b.w - w0).max() < 1e-13 * n * scale
    cols = np.unique(np.r_[0, np.arange(1, n, 3), n - 1])
    X = b.vectors(cols)
    assert np.abs(A @ X - X * b.w[cols]).max() < 1e-13 * n * scale
    np.testing.assert_allclose(np.abs(np.sum(X * V0[:, cols], 0)), 1.0, atol=1e-10)  # generic: gaps >> eps
    np.testing.assert_allclose(X.T @ X, np.eye(len(cols)), atol=1e-12)


def test_selected_eigh_degenerate_clusters_are_orthonormal():
    """Exactly degenerate eigenvalues (a rotated 3-fold and 2-fold level): inverse iteration must still return an
    orthonormal basis of each eigenspace (the cluster re-orthogonalization), like eigh."""
    from datamodules.physics import selected_eigh as se

    Q, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((60, 60)))
    w = np.r_[np.full(3, -1.0), np.linspace(0, 1, 55), np.full(2, 2.0)]
    A = (Q * w) @ Q.T
    b = se.BandEigh(A)
    cols = np.array([0, 1, 2, 30, 58, 59])
    X = b.vectors(cols)
    np.testing.assert_allclose(X.T @ X, np.eye(6), atol=1e-12)
    assert np.abs(A @ X - X * b.w[cols]).max() < 1e-12
    for block in ([0, 1, 2], [4, 5]):  # each spans its exact eigenspace: projector equal to eigh's
        idx = cols[block]
        P0 = Q[:, idx] @ Q[:, idx].T
        np.testing.assert_allclose(X[:, block] @ X[:, block].T, P0, atol=1e-12)
    with pytest.raises(ValueError, match="cols"):
        b.vectors([3, 1])
    with pytest.raises(ValueError, match="square"):
        se.BandEigh(np.ones((3, 4)))


def test_selection_guard_finds_swappable_pairs():
    """_selection_is_robust on hand-made spectra: a +/- pair closer than the tolerance at a kept position, or
    straddling the trim boundary, can swap; a same-sector pair or an unkept position cannot change the selection."""
    half, k = 6, 1
    Ep = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    Em = Ep + 0.5
    base = np.r_[Ep, Em]  # merged: 0, .5, 1, 1.5, ... ; all gaps 0.5
    assert sc._selection_is_robust(base, half, k, np.arange(10))
    tie = np.r_[Ep, Em - 0.5 + 1e-15]  # every - level a hair above its + partner: doublets (deep spin glass)
    assert not sc._selection_is_robust(tie, half, k, np.array([2]))
    Em2 = Em.copy()
    Em2[3] = 3.0 + 1e-15  # one doublet: merged positions 6 (+3.0) and 7 (-3.0 + 1e-15)
    E = np.r_[Ep, Em2]
    assert not sc._selection_is_robust(E, half, k, np.array([5]))  # kept position k + 5 = 6: in the pair
    assert not sc._selection_is_robust(E, half, k, np.array([6]))
    assert sc._selection_is_robust(E, half, k, np.array([0, 4, 7, 9]))  # the pair is not kept: same selection
    Ep3 = Ep.copy()
    Ep3[1] = 0.5 - 1e-15  # merged: +0, +(0.5 - 1e-15), -0.5, -1.5, +2, ...: positions 1 and 2 a mixed pair
    Em3 = Em.copy()
    assert not sc._selection_is_robust(np.r_[Ep3, Em3], half, 2, np.array([5]))
    assert sc._selection_is_robust(np.r_[Ep3, Em3], half, 4, np.array([2]))


@pytest.mark.parametrize("L,R", [(8, 12), (10, 2)])
def test_band_path_keeps_the_same_states_as_eigh(L, R):
    """ed='band' keeps exactly the states of the exact path (parity, position, realization bit for bit) on a
    thermal, an MBL, a spin-glass and a deep spin-glass point (cat doublets below double precision: the guard
    must fall back there), with spectra equal to rounding.  Both the band path and the fallback must occur."""
    region = sc.middle_region(L)
    paths = []
    real = sc._chosen_states

    def spy(*a, **kw):
        out = real(*a, **kw)
        paths.append(out[3])
        return out

    for j, (delta, lam) in enumerate(_POINTS + [(2.0, 0.3), (-3.0, 0.0)]):
        seeds = [np.random.SeedSequence([L, 50 + j, r]) for r in range(R)]
        ref = sc.point_states(L, delta, lam, R, seeds, 15, region=region)
        sc._chosen_states = spy
        try:
            band = sc.point_states(L, delta, lam, R, seeds, 15, region=region, vectors="band")
        finally:
            sc._chosen_states = real
        for key in ("realization", "parity", "energy_index"):
            np.testing.assert_array_equal(band[key], ref[key])
        np.testing.assert_allclose(band["spectra"], ref["spectra"], atol=2e-7)  # float32 storage
    assert "band" in paths and "chosen" in paths, paths


def test_band_fallback_and_vectors_in_float64(monkeypatch):
    """Forced fallback (a tolerance that flags everything) keeps the same selection; without it, the band
    vectors' float64 entanglement spectra equal eigh's to 1e-10 (generic thermal point: no degeneracies)."""
    L, per = 10, 12
    g = np.random.default_rng(np.random.SeedSequence([L, 77, 0]))
    c = sc.sample_couplings(L, 0.0, 1.0, g)
    k = sc.trim_count(2 ** L, 0.1)
    _, psi_all, par_all = sc.eigenstates(L, c["J"], c["h"], c["lam_h"], c["lam_J"])
    Hp, Hm = sc.parity_blocks(L, c["J"], c["h"], c["lam_h"], c["lam_J"])
    pick = lambda M: np.sort(np.random.default_rng(5).choice(M, per, replace=False))  # noqa: E731
    psi, par, idx, path = sc._chosen_states(Hp[0], Hm[0], k, pick, "band")
    assert path == "band"
    np.testing.assert_array_equal(par, par_all[0, idx])
    np.testing.assert_allclose(sc.rdm_spectrum(psi, L), sc.rdm_spectrum(psi_all[0, idx], L), atol=1e-10)
    monkeypatch.setattr(sc, "SELECTION_TOL_ULPS", 1e12)  # tol >> level spacing: every kept state is "at risk"
    psi2, par2, idx2, path2 = sc._chosen_states(Hp[0], Hm[0], k, pick, "band")
    assert path2 == "chosen"
    np.testing.assert_array_equal(idx2, idx)
    np.testing.assert_array_equal(par2, par)
    np.testing.assert_allclose(sc.rdm_spectrum(psi2, L), sc.rdm_spectrum(psi, L), atol=1e-10)
