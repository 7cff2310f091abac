"""Tests of datamodules/physics/ising.py against exact or independent references.

References used here, none of them the code under test:
- hand-checkable states and an explicit loop over the 2 L^2 bonds of the torus;
- the published exact density of states of the periodic 4x4 model (Beale 1996);
- Kaufman's (1949) closed-form partition function of the finite periodic L x L lattice,
  evaluated here with mpmath at 50 digits (independent of both enumeration and the transfer
  matrix), first checked against brute-force enumeration for L = 4;
- Onsager's energy and Yang's magnetization for L = 32 Monte Carlo, and the high-temperature
  series for the energy;
- hashlib directly for the hash split.
"""
from __future__ import annotations

import hashlib
import math

import mpmath
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from datamodules.physics import ising as I


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """The transfer matrix is BLAS-bound; on 2 cores shared with training jobs a 2-thread OpenBLAS
    ran 6-20x slower than a single thread (spin-waiting workers), so these tests use one."""
    with threadpool_limits(1, user_api="blas"):
        yield


# --------------------------------------------------------------------------- independent references
def ref_energy(s) -> int:
    """E = -sum over the 2 L^2 bonds (right and down neighbour of every site), periodic, explicit loop."""
    s = np.asarray(s)
    L = s.shape[0]
    e = 0
    for i in range(L):
        for j in range(L):
            e -= int(s[i, j]) * int(s[i, (j + 1) % L])  # horizontal bond
            e -= int(s[i, j]) * int(s[(i + 1) % L, j])  # vertical bond
    return e


def kaufman_log_z(beta, L: int):
    """ln Z of the periodic L x L Ising model (J = 1) from Kaufman's exact formula (Phys. Rev. 76, 1232).

    Z = 1/2 (2 sinh 2K)^{N/2} (Z1 + Z2 + Z3 + Z4), products over gamma_{2r+1} (Z1, Z2) and gamma_{2r}
    (Z3, Z4) of 2 cosh / 2 sinh (L gamma / 2); cosh gamma_l = cosh 2K coth 2K - cos(pi l / L) and
    gamma_0 = 2K + ln tanh K (negative below T_c, which gives Z4 its sign).
    """
    K = mpmath.mpf(beta)
    c = mpmath.cosh(2 * K) / mpmath.tanh(2 * K)

    def gamma(l):
        if l == 0:
            return 2 * K + mpmath.log(mpmath.tanh(K))
        return mpmath.acosh(c - mpmath.cos(mpmath.pi * l / L))

    odd = [gamma(2 * r + 1) for r in range(L)]
    even = [gamma(2 * r) for r in range(L)]
    z1 = mpmath.fprod(2 * mpmath.cosh(L * g / 2) for g in odd)
    z2 = mpmath.fprod(2 * mpmath.sinh(L * g / 2) for g in odd)
    z3 = mpmath.fprod(2 * mpmath.cosh(L * g / 2) for g in even)
    z4 = mpmath.fprod(2 * mpmath.sinh(L * g / 2) for g in even)
    return mpmath.log((2 * mpmath.sinh(2 * K)) ** (mpmath.mpf(L * L) / 2) * (z1 + z2 + z3 + z4) / 2)


def kaufman_thermo(T: float, L: int) -> tuple[float, float]:
    """(<E>/N, C/N) from derivatives of Kaufman's ln Z by central differences at 50 digits."""
    with mpmath.workdps(50):
        b = 1 / mpmath.mpf(T)
        h = mpmath.mpf("1e-15")
        f0, fp, fm = (kaufman_log_z(x, L) for x in (b, b + h, b - h))
        d1 = (fp - fm) / (2 * h)
        d2 = (fp - 2 * f0 + fm) / h ** 2
        N = L * L
        return float(-d1 / N), float(b * b * d2 / N)


# Beale, PRL 76, 78 (1996) / direct count: g(E) of the periodic 4x4 model
DOS_4x4 = {-32: 2, -24: 32, -20: 64, -16: 424, -12: 1728, -8: 6688, -4: 13568, 0: 20524,
           4: 13568, 8: 6688, 12: 1728, 16: 424, 20: 64, 24: 32, 32: 2}


def checkerboard(L):
    i, j = np.indices((L, L))
    return np.where((i + j) % 2 == 0, 1, -1).astype(np.int8)


# --------------------------------------------------------------------------- observables
@pytest.mark.parametrize("L", [4, 6, 8])
def test_energy_magnetization_hand_checked_states(L):
    N = L * L
    up = np.ones((L, L), dtype=np.int8)
    assert I.energy(up)[0] == -2 * N
    assert I.energy(-up)[0] == -2 * N
    assert I.magnetization(up)[0] == 1.0
    assert I.magnetization(-up)[0] == -1.0
    cb = checkerboard(L)
    assert I.energy(cb)[0] == 2 * N
    assert I.magnetization(cb)[0] == 0.0
    one = up.copy()
    one[1, 2] = -1
    assert I.energy(one)[0] == -2 * N + 8
    assert I.magnetization(one)[0] == pytest.approx(1 - 2 / N, abs=1e-15)
    # batch shape and order are kept
    np.testing.assert_array_equal(I.energy(np.stack([up, cb, one])), [-2 * N, 2 * N, -2 * N + 8])


@pytest.mark.parametrize("L", [3, 4, 5, 6])
def test_energy_matches_explicit_bond_loop(L):
    rng = np.random.default_rng(L)
    s = (2 * rng.integers(0, 2, size=(50, L, L)) - 1).astype(np.int8)
    np.testing.assert_array_equal(I.energy(s), [ref_energy(x) for x in s])
    np.testing.assert_allclose(I.magnetization(s), s.reshape(50, -1).sum(1) / (L * L), atol=1e-15)


# --------------------------------------------------------------------------- energy levels / classes
def test_energy_levels():
    for L, n in [(4, 15), (6, 35), (8, 63)]:
        lv = I.energy_levels(L)
        N = L * L
        assert len(lv) == n
        assert lv[0] == -2 * N and lv[-1] == 2 * N
        assert -(2 * N - 4) not in lv and (2 * N - 4) not in lv
        assert np.all(np.diff(lv)[1:-1] == 4) and lv[1] - lv[0] == 8 and lv[-1] - lv[-2] == 8
    for L in (3, 5, 7, 2):
        with pytest.raises(ValueError):
            I.energy_levels(L)


@pytest.mark.parametrize("L", [4, 8])
def test_energy_class_round_trip(L):
    lv = I.energy_levels(L)
    cls = I.energy_to_class(lv, L)
    np.testing.assert_array_equal(cls, np.arange(len(lv)))
    np.testing.assert_array_equal(I.class_to_energy(cls, L), lv)
    rng = np.random.default_rng(0)
    E = rng.choice(lv, size=(7, 3))
    np.testing.assert_array_equal(I.class_to_energy(I.energy_to_class(E, L), L), E)
    N = L * L
    for bad in (-(2 * N - 4), 2 * N - 4, -2 * N + 2, 1, 2 * N + 4, -2 * N - 4):
        with pytest.raises(ValueError):
            I.energy_to_class(np.array([bad]), L)


# --------------------------------------------------------------------------- enumeration
def test_enumeration_4x4_density_of_states():
    cfg = I.enumerate_configs(4)
    assert cfg.shape == (65536, 4, 4) and cfg.dtype == np.int8
    assert set(np.unique(cfg)) == {-1, 1}
    assert len(np.unique(cfg.reshape(len(cfg), -1), axis=0)) == 65536
    # documented bit order: bit k of the index is spin k in C order
    for idx in (0, 1, 5, 40000, 65535):
        np.testing.assert_array_equal(cfg[idx].ravel(), 2 * ((idx >> np.arange(16)) & 1) - 1)
    E = I.energy(cfg)
    levels, counts = np.unique(E, return_counts=True)
    assert dict(zip(levels.tolist(), counts.tolist())) == DOS_4x4
    np.testing.assert_array_equal(levels, I.energy_levels(4))
    # spot-check the vectorised energy on a slice of the enumeration with the bond loop
    idx = np.random.default_rng(1).integers(0, 65536, 200)
    np.testing.assert_array_equal(E[idx], [ref_energy(cfg[k]) for k in idx])
    with pytest.raises(ValueError):
        I.enumerate_configs(6)


# --------------------------------------------------------------------------- exact thermodynamics
def test_kaufman_reference_matches_enumeration_4x4():
    """Validates the test's own independent reference before it is used on 6x6 and 8x8."""
    T = [1.0, 1.7, 2.269, 3.0, 4.0]
    ex = I.exact_thermodynamics(T, L=4)
    for k, t in enumerate(T):
        e, c = kaufman_thermo(t, 4)
        assert e == pytest.approx(ex["e"][k], abs=1e-10)
        assert c == pytest.approx(ex["c"][k], abs=1e-10)


def test_exact_enumeration_vs_transfer_matrix_4x4():
    T = np.linspace(1.0, 4.0, 31)
    ex = I.exact_thermodynamics(T, L=4)
    tm = I.transfer_matrix_thermodynamics(T, 4)
    for k in ("e", "c", "m"):
        np.testing.assert_allclose(tm[k], ex[k], rtol=0, atol=1e-10, err_msg=k)
    # and the enumeration against a direct Boltzmann sum over the exact 4x4 density of states
    E = np.array(list(DOS_4x4), dtype=float)
    g = np.array(list(DOS_4x4.values()), dtype=float)
    for k, t in enumerate(T[::6]):
        w = g * np.exp(-(E - E.min()) / t)
        e1 = (w * E).sum() / w.sum()
        var = (w * (E - e1) ** 2).sum() / w.sum()
        assert ex["e"][6 * k] == pytest.approx(e1 / 16, abs=1e-12)
        assert ex["c"][6 * k] == pytest.approx(var / (t * t * 16), abs=1e-12)


def test_transfer_matrix_6x6_vs_kaufman():
    T = [1.5, 2.3, 3.0]
    tm = I.transfer_matrix_thermodynamics(T, 6)
    for k, t in enumerate(T):
        e, c = kaufman_thermo(t, 6)
        assert tm["e"][k] == pytest.approx(e, abs=1e-9)
        assert tm["c"][k] == pytest.approx(c, abs=1e-9)


@pytest.fixture(scope="module")
def tm8_scan():
    T = np.round(np.arange(2.30, 2.4201, 0.02), 3)  # 7 points, ~1 s each
    return T, I.transfer_matrix_thermodynamics(T, 8)


def test_transfer_matrix_8x8_heat_capacity_peak(tm8_scan):
    T, tm = tm8_scan
    # exact at every grid point (Kaufman), so the scan is right, not just its maximum
    for k, t in enumerate(T):
        e, c = kaufman_thermo(t, 8)
        assert tm["e"][k] == pytest.approx(e, abs=1e-9)
        assert tm["c"][k] == pytest.approx(c, abs=1e-9)
    k = int(np.argmax(tm["c"]))
    # parabola through the maximum and its neighbours: peak of C/N for 8x8 is at T = 2.362, C/N = 1.1918
    a, b, c0 = np.polyfit(T[k - 1:k + 2], tm["c"][k - 1:k + 2], 2)
    t_peak = -b / (2 * a)
    assert 0 < k < len(T) - 1
    assert t_peak == pytest.approx(2.362, abs=0.01)
    assert tm["c"][k] == pytest.approx(1.19, abs=0.005)
    # C/N of the finite lattice stays below the infinite-lattice divergence but above the T_c value of 4x4
    assert tm["c"].max() > I.exact_thermodynamics([I.T_C], 4)["c"][0]


def test_transfer_matrix_8x8_high_temperature():
    tm = I.transfer_matrix_thermodynamics([20.0, 1e4], 8)
    series = -2 * math.tanh(1 / 20.0)
    assert tm["e"][0] == pytest.approx(series, rel=0.02)
    assert tm["e"][0] == pytest.approx(kaufman_thermo(20.0, 8)[0], abs=1e-9)
    # T -> infinity: 64 independent spins, P(M) binomial; corrections are O(beta) = 1e-4
    N = 64
    binomial = sum(math.comb(N, k) * abs(2 * k - N) for k in range(N + 1)) / N / 2 ** N
    assert tm["m"][1] == pytest.approx(binomial, rel=1e-3)
    # correlations at T = 20 raise <|M|> above the uncorrelated value (chi = 1 + 4 tanh K + ...)
    assert binomial < tm["m"][0] < binomial * math.sqrt(1 + 4 * math.tanh(1 / 20) + 12 * math.tanh(1 / 20) ** 2 + 0.01)


def test_transfer_matrix_6x6_magnetization_vs_metropolis():
    T = 3.0
    tm = I.transfer_matrix_thermodynamics([T], 6)
    mc = I.metropolis(6, [T], n_chains=64, n_equil=300, n_samples=1000, every=2, seed=11)
    assert abs(tm["m"][0] - mc["m"][0]) < 3 * mc["m_err"][0] + 0.005
    assert abs(tm["e"][0] - mc["e"][0]) < 3 * mc["e_err"][0] + 0.005


# --------------------------------------------------------------------------- input checks
def test_check_spins_errors():
    ok = np.ones((2, 4, 4), dtype=np.int64)
    out = I.check_spins(ok, L=4)
    assert out.dtype == np.int8 and out.shape == (2, 4, 4)
    assert I.check_spins(np.ones((4, 4))).shape == (1, 4, 4)
    for bad in (np.zeros((4, 4)), np.full((4, 4), 2), np.full((4, 4), 0.5), np.array([[1, -1], [0, 1]])):
        with pytest.raises(ValueError, match="-1 and \\+1"):
            I.check_spins(bad)
    for shape in ((4, 5), (2, 3, 4), (4,), (1, 2, 4, 4)):
        with pytest.raises(ValueError, match="shape"):
            I.check_spins(np.ones(shape))
    with pytest.raises(ValueError, match="4x4"):
        I.check_spins(np.ones((2, 6, 6)), L=4)
    with pytest.raises(ValueError):
        I.energy(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        I.hash_bucket(np.ones((3, 4)))


# --------------------------------------------------------------------------- Metropolis
@pytest.fixture(scope="module")
def exact4():
    T = np.array([1.5, 2.5, 3.5])
    return T, I.exact_thermodynamics(T, L=4)


@pytest.mark.parametrize("algorithm", ["checkerboard", "random_site"])
def test_metropolis_4x4_vs_enumeration(algorithm, exact4):
    T, ex = exact4
    mc = I.metropolis(4, T, n_chains=128, n_equil=200, n_samples=1000, every=2, seed=3, algorithm=algorithm)
    for k in ("e", "c", "m"):
        diff = np.abs(mc[k] - ex[k])
        assert np.all(diff < 5 * mc[k + "_err"] + 2e-3), (k, mc[k], ex[k], mc[k + "_err"])
        assert np.all(mc[k + "_err"] > 0)
    assert np.all(np.isfinite(mc["chi"])) and np.all(mc["chi"] > 0)


@pytest.mark.parametrize("algorithm", ["checkerboard", "random_site"])
def test_metropolis_32x32_vs_onsager(algorithm):
    T = np.array([1.5, 3.0])
    mc = I.metropolis(32, T, n_chains=16, n_equil=500, n_samples=200, every=2, seed=5, algorithm=algorithm)
    np.testing.assert_allclose(mc["e"], I.onsager_energy(T), rtol=0.01)
    assert mc["m"][0] == pytest.approx(float(I.onsager_magnetization(1.5)), rel=0.01)
    # above T_c the finite lattice keeps only a small residual <|M|>
    assert mc["m"][1] < 0.15


def test_metropolis_random_start_equilibrates():
    T = np.array([3.5])
    ex = I.exact_thermodynamics(T, L=4)
    mc = I.metropolis(4, T, n_chains=64, n_equil=200, n_samples=500, every=2, seed=8, start="random")
    assert abs(mc["e"][0] - ex["e"][0]) < 5 * mc["e_err"][0] + 2e-3


def test_metropolis_determinism():
    kw = dict(n_chains=8, n_equil=20, n_samples=30, every=2)
    for alg in ("checkerboard", "random_site"):
        a = I.metropolis(8, [2.0, 2.5], seed=7, algorithm=alg, return_configs=True, **kw)
        b = I.metropolis(8, [2.0, 2.5], seed=7, algorithm=alg, return_configs=True, **kw)
        c = I.metropolis(8, [2.0, 2.5], seed=8, algorithm=alg, return_configs=True, **kw)
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        assert not np.array_equal(a["configs"], c["configs"])
    with pytest.raises(ValueError):
        I.metropolis(4, [0.0, 1.0])
    with pytest.raises(ValueError):
        I.metropolis(4, [1.0], start="hot")


@pytest.mark.parametrize("algorithm", ["checkerboard", "random_site"])
def test_metropolis_sweeps_in_place_and_reproducible(algorithm):
    s0 = I.random_configs(16, 8, seed=1)
    a = s0.copy()
    out = I.metropolis_sweeps(a, 1 / 2.3, 5, seed=4, algorithm=algorithm)
    assert np.shares_memory(out, a)
    assert not np.array_equal(a, s0)  # modified in place
    b = s0.copy()
    I.metropolis_sweeps(b, np.full(16, 1 / 2.3), 5, seed=4, algorithm=algorithm)
    np.testing.assert_array_equal(a, b)
    c = s0.copy()
    I.metropolis_sweeps(c, 1 / 2.3, 5, seed=5, algorithm=algorithm)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError):
        I.metropolis_sweeps(s0.copy(), 1.0, 1, algorithm="wolff")


def test_checkerboard_sweep_visits_every_site_once():
    """At beta = 0 every proposal is accepted, so one checkerboard sweep negates the lattice exactly;
    at huge beta no uphill move is accepted, so the ground state stays put."""
    s0 = I.random_configs(4, 8, seed=2)
    s = s0.copy()
    I.metropolis_sweeps(s, 0.0, 1, seed=0)
    np.testing.assert_array_equal(s, -s0)
    I.metropolis_sweeps(s, 0.0, 3, seed=0)
    np.testing.assert_array_equal(s, s0)
    g = np.ones((3, 8, 8), dtype=np.int8)
    for alg in ("checkerboard", "random_site"):
        I.metropolis_sweeps(g, 100.0, 10, seed=0, algorithm=alg)
        assert np.all(g == 1)


# --------------------------------------------------------------------------- Onsager
def test_onsager_energy_at_critical_point():
    """u(T_c) = -sqrt(2) exactly, and u is continuous there. The formula is K(k) (2 tanh^2(2 beta) - 1)
    with k -> 1 (K -> inf) and the bracket -> 0; evaluated naively, k^2 rounds to >= 1 within about
    1e-8 of T_c and the product is nan or inf."""
    for t in (I.T_C, I.T_C * (1 - 1e-9), I.T_C * (1 + 1e-9), I.T_C * (1 - 1e-10), I.T_C * (1 + 1e-12)):
        assert float(I.onsager_energy(t)) == pytest.approx(-math.sqrt(2), abs=1e-6), t


def test_onsager_energy_limits():
    for t in (I.T_C * (1 - 1e-6), I.T_C * (1 + 1e-6)):
        assert float(I.onsager_energy(t)) == pytest.approx(-math.sqrt(2), abs=1e-4)
    assert float(I.onsager_energy(0.3)) == pytest.approx(-2.0, abs=1e-8)
    # high-temperature series u = -2 tanh K (1 + O(tanh^4 K) ...)
    assert float(I.onsager_energy(50.0)) == pytest.approx(-2 * math.tanh(1 / 50), rel=1e-3)
    # energy is increasing in T
    assert np.all(np.diff(I.onsager_energy(np.linspace(1.0, 4.0, 50))) > 0)


def test_onsager_magnetization():
    T = np.array([I.T_C, I.T_C + 1e-6, 2.5, 3.0, 10.0])
    np.testing.assert_array_equal(I.onsager_magnetization(T), 0.0)
    assert float(I.onsager_magnetization(0.5)) == pytest.approx(1.0, abs=1e-6)
    # Yang: M = (1 - sinh(2/T)^-4)^(1/8); at T = 2: sinh(1)^-4 = 0.3101...
    assert float(I.onsager_magnetization(2.0)) == pytest.approx(0.911319, abs=1e-5)
    m = I.onsager_magnetization(np.linspace(1.0, I.T_C - 1e-3, 30))
    assert np.all(np.diff(m) < 0) and m[-1] < 0.6


# --------------------------------------------------------------------------- targeted sampling
@pytest.mark.parametrize("L,per_bin,energy_scale", [(4, 30, "per_spin"), (4, 30, "total"), (8, 20, "total")])
def test_targeted_sampling_fills_allowed_levels_uniformly(L, per_bin, energy_scale):
    configs, counts = I.targeted_sampling(L, per_bin, seed=1, energy_scale=energy_scale, return_counts=True)
    N = L * L
    centres = -2 * N + 4 * np.arange(N + 1)
    levels = I.energy_levels(L)
    allowed = np.isin(centres, levels)
    np.testing.assert_array_equal(counts[allowed], per_bin)
    np.testing.assert_array_equal(counts[~allowed], 0)
    assert configs.shape == (len(levels) * per_bin, L, L) and configs.dtype == np.int8
    assert set(np.unique(configs)) <= {-1, 1}
    E = np.array([ref_energy(x) for x in configs])
    assert not np.any(np.abs(E) == 2 * N - 4)
    lv, n = np.unique(E, return_counts=True)
    np.testing.assert_array_equal(lv, levels)
    np.testing.assert_array_equal(n, per_bin)
    assert np.all(np.diff(E) >= 0)  # sorted by bin


def test_targeted_sampling_deterministic():
    a = I.targeted_sampling(4, 10, seed=3)
    b = I.targeted_sampling(4, 10, seed=3)
    c = I.targeted_sampling(4, 10, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_targeted_sampling_per_spin_scale_misses_8x8_tails():
    """Finding: the literal per-spin reading of Eq. B.2 (E/N inside exp(-(E_B - E_A)^2 / kT) with the
    paper's kT = 0.01) does not fill the 8x8 tails. A step away from the target of dE = 4 or 8 is
    rejected only with probability 1 - exp(-(dE/64)^2/0.01) = 0.32 or 0.79, so the walk is nearly
    unbiased and never reaches the low/high-energy bins (E = -128 ... -68 and 68 ... 128 stay empty even
    after 60 passes). The 'total' scale (raw energies) fills them. Kept as a test of the error path."""
    with pytest.raises(RuntimeError, match="unfilled"):
        I.targeted_sampling(8, 20, seed=1, energy_scale="per_spin", max_passes=5)
    for bad in ("per_bond", -1.0, 0):
        with pytest.raises(ValueError):
            I.targeted_sampling(4, 5, energy_scale=bad)
    with pytest.raises(ValueError):
        I.targeted_sampling(5, 5)


def test_targeted_run_records_requested_energies():
    L = 6
    out = I.targeted_run(L, target=-40, n_steps=2000, kT=0.01, energy_scale="total", every=10, seed=0)
    assert out.ndim == 3 and out.shape[1:] == (L, L) and 0 < len(out) <= 2000 // 10 + 1
    E = np.array([ref_energy(x) for x in out])
    assert np.all(np.diff(E) >= 0)
    # greedy walk toward the target: the last part of the run sits at the target
    assert np.sum(E == -40) > len(out) // 2


# --------------------------------------------------------------------------- hash split
def test_hash_bucket_matches_hashlib():
    s = I.random_configs(200, 8, seed=9)
    ref = [int(hashlib.sha3_512(x.astype(np.int8).tobytes()).hexdigest()[:3], 16) for x in s]
    np.testing.assert_array_equal(I.hash_bucket(s), ref)
    # the encoding is int8 +-1 whatever the input dtype or memory order
    np.testing.assert_array_equal(I.hash_bucket(s.astype(np.int64)), ref)
    np.testing.assert_array_equal(I.hash_bucket(np.asfortranarray(s.astype(np.float32))), ref)
    assert I.hash_bucket(s[0])[0] == ref[0]
    assert np.all((0 <= I.hash_bucket(s)) & (I.hash_bucket(s) < 4096))


def test_hash_split_duplicates_coverage_and_fractions():
    fr = {"test": 0.3125, "val": 0.0625, "train": 0.625}
    # 4x4 configurations: 20000 draws from 65536 states hold many exact duplicates
    s = I.random_configs(20000, 4, seed=0)
    split = I.hash_split(s, fr)
    allidx = np.concatenate(list(split.values()))
    np.testing.assert_array_equal(np.sort(allidx), np.arange(len(s)))
    side = np.empty(len(s), dtype=int)
    for k, (name, idx) in enumerate(split.items()):
        side[idx] = k
    keys = ((s.reshape(len(s), -1) > 0).astype(np.int64) << np.arange(16)).sum(1)  # state index
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    assert len(first) < len(s) - 1000  # duplicates really are present
    np.testing.assert_array_equal(side, side[first][inv])
    # fractions on 20000 (almost surely distinct) 8x8 configurations
    s8 = I.random_configs(20000, 8, seed=1)
    split8 = I.hash_split(s8, fr)
    assert sum(len(v) for v in split8.values()) == 20000
    for k, f in fr.items():
        assert len(split8[k]) / 20000 == pytest.approx(f, abs=0.015), k
    with pytest.raises(ValueError):
        I.hash_split(s8[:10], {"a": 0.7, "b": 0.6, "c": 0.0})


# --------------------------------------------------------------------------- random configurations
def test_random_configs():
    a = I.random_configs(1000, 16, seed=0)
    assert a.shape == (1000, 16, 16) and a.dtype == np.int8
    assert set(np.unique(a)) == {-1, 1}
    assert abs(a.mean()) < 0.01  # 256000 spins: sd of the mean is 0.002
    np.testing.assert_array_equal(a, I.random_configs(1000, 16, seed=0))
    assert not np.array_equal(a, I.random_configs(1000, 16, seed=1))
    # neighbouring spins are uncorrelated
    assert abs((a * np.roll(a, 1, axis=-1)).astype(float).mean()) < 0.01


# --------------------------------------------------------------------------- vectorized Metropolis (method="vectorized")
def ref_vectorized_sweeps(spins, betas, n_sweeps, seed):
    """Plain-numpy restatement of the documented vectorized algorithm, site by site: checkerboard order (parity 0
    then 1, rows i, columns j = 2h + (i + parity) % 2), one xorshift128 draw per site and chain from stream (h, c)
    in Marsaglia's (x, y, z, w) form, seeded by words [c, 0..3, h] of the SeedSequence; accept when
    (draw >> 1) < round(exp(-beta dE) 2^31) or dE <= 0.  Shares no code with the kernel."""
    s = spins.astype(np.int64).copy()
    C, L, _ = s.shape
    H = L // 2
    words = I.seed_sequence(seed).generate_state(4 * H * C, dtype=np.uint32).reshape(C, 4, H).astype(np.uint64)
    x, y, z, w = (words[:, k, :].copy() for k in range(4))  # (C, H) each
    betas = np.broadcast_to(np.asarray(betas, dtype=np.float64), (C,))
    thr = {dE: np.minimum(np.rint(np.exp(-dE * betas) * 2.0 ** 31), 2.0 ** 31) for dE in (4, 8)}
    m32 = np.uint64(0xFFFFFFFF)
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in range(L):
                for h in range(H):
                    j = 2 * h + (i + parity) % 2
                    t = (x[:, h] ^ (x[:, h] << np.uint64(11))) & m32
                    x[:, h], y[:, h], z[:, h] = y[:, h], z[:, h], w[:, h]
                    w[:, h] = (w[:, h] ^ (w[:, h] >> np.uint64(19)) ^ t ^ (t >> np.uint64(8))) & m32
                    r = (w[:, h] >> np.uint64(1)).astype(np.float64)
                    dE = 2 * s[:, i, j] * (s[:, i - 1, j] + s[:, (i + 1) % L, j] + s[:, i, j - 1] + s[:, i, (j + 1) % L])
                    acc = (dE <= 0) | ((dE == 4) & (r < thr[4])) | ((dE == 8) & (r < thr[8]))
                    s[acc, i, j] *= -1
    return s.astype(np.int8)


def test_vectorized_matches_plain_reference_exactly_and_ignores_blocking():
    # 40 chains: one block of 48 lanes with 8 spare chains; two temperatures side by side
    s0 = I.random_configs(40, 6, seed=5)
    betas = np.where(np.arange(40) % 2, 1 / 2.0, 1 / 3.0)
    a = I.metropolis_sweeps(s0.copy(), betas, 3, seed=9, method="vectorized")
    np.testing.assert_array_equal(a, ref_vectorized_sweeps(s0, betas, 3, seed=9))
    assert not np.array_equal(a, s0)
    # the same chains split into 3 blocks (as with 3 threads) give the same draws and the same states
    st = I._VecState(s0.copy(), betas, I.seed_sequence(9), blocks=3)
    assert st.G == 3
    st.run(3)
    np.testing.assert_array_equal(st.spins(), a)


def exact_one_sweep_law(s, beta):
    """Exact distribution of (E, M) after one checkerboard sweep of the 4x4 chain from state s: the sites of
    the first sublattice flip independently given the second, then the second's given the new first."""
    L = s.shape[0]
    i, j = np.indices((L, L))
    subl = [np.flatnonzero((i + j).ravel() % 2 == p) for p in (0, 1)]
    n = len(subl[0])
    bits = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(bool)  # which sites flip

    def flip_prob(cfg, sites):  # cfg (K, L*L) -> (K, n) Metropolis acceptance of each site
        c = cfg.reshape(-1, L, L)
        nb = np.roll(c, 1, 1) + np.roll(c, -1, 1) + np.roll(c, 1, 2) + np.roll(c, -1, 2)
        dE = 2 * (c * nb).reshape(len(cfg), -1)[:, sites]
        return np.minimum(1.0, np.exp(-beta * dE))

    def outcomes(cfg, sites):  # all flip patterns of `sites`: configs (K, 2^n, L*L) and probabilities (K, 2^n)
        p = flip_prob(cfg, sites)[:, None, :]
        prob = np.where(bits[None], p, 1 - p).prod(-1)
        out = np.repeat(cfg[:, None, :], 2 ** n, 1)
        out[:, :, sites] *= np.where(bits, -1, 1)[None]
        return out, prob

    mid, pa = outcomes(s.reshape(1, -1).astype(np.int64), subl[0])
    end, pb = outcomes(mid[0], subl[1])
    prob = (pa[0][:, None] * pb).ravel()
    cfg = end.reshape(-1, L, L)
    return I.energy(cfg), cfg.sum((1, 2)), prob


@pytest.mark.parametrize("method", ["scalar", "vectorized"])
def test_one_sweep_transition_law_4x4_exact(method):
    """One sweep from a fixed state, 40000 chains per temperature: the histograms of E and M after the sweep
    against their exact law (all 2^8 x 2^8 flip patterns); checks the acceptance of dE = 4 and dE = 8 and the
    per-chain temperatures, not only the stationary averages.  The scalar kernel validates the test itself."""
    from scipy.stats import chisquare

    start = I.random_configs(1, 4, seed=12)[0]
    temps = (1.8, 3.0)
    n = 40000
    spins = np.repeat(start[None], 2 * n, 0)
    betas = np.repeat(1 / np.array(temps), n)
    out = I.metropolis_sweeps(spins, betas, 1, seed=21, method=method)
    E_mc, M_mc = I.energy(out), out.astype(np.int64).sum((1, 2))
    for k, T in enumerate(temps):
        E, M, p = exact_one_sweep_law(start, 1 / T)
        for obs, obs_mc in ((E, E_mc[k * n:(k + 1) * n]), (M, M_mc[k * n:(k + 1) * n])):
            vals = np.unique(obs)
            exp_ = np.array([p[obs == v].sum() for v in vals]) * n
            obs_c = np.array([(obs_mc == v).sum() for v in vals])
            assert np.isin(obs_mc, vals[exp_ > 0]).all()  # nothing the exact law forbids
            vals, exp_, obs_c = vals[exp_ > 0], exp_[exp_ > 0], obs_c[exp_ > 0]
            keep = exp_ >= 5  # pool the rare values into one cell so the chi-square approximation holds
            f_obs, f_exp = obs_c[keep], exp_[keep]
            if not keep.all():
                f_obs, f_exp = np.append(f_obs, obs_c[~keep].sum()), np.append(f_exp, exp_[~keep].sum())
            assert f_obs.sum() == n
            assert chisquare(f_obs, f_exp).pvalue > 1e-3, (T, vals, f_obs, f_exp)


def test_vectorized_4x4_vs_enumeration_and_8x8_vs_transfer_matrix(exact4):
    T, ex = exact4
    mc = I.metropolis(4, T, n_chains=128, n_equil=200, n_samples=1000, every=2, seed=3, method="vectorized")
    for k in ("e", "c", "m"):
        assert np.all(np.abs(mc[k] - ex[k]) < 4 * mc[k + "_err"] + 1e-3), (k, mc[k], ex[k], mc[k + "_err"])
    T8 = [2.3]
    tm = I.transfer_matrix_thermodynamics(T8, 8)
    mc8 = I.metropolis(8, T8, n_chains=128, n_equil=300, n_samples=500, every=2, seed=4, method="vectorized")
    for k in ("e", "c", "m"):
        assert abs(mc8[k][0] - tm[k][0]) < 4 * mc8[k + "_err"][0] + 1e-3, (k, mc8[k], tm[k], mc8[k + "_err"])


def test_vectorized_records_energy_and_magnetization_of_its_configs():
    """Recorded E and M (computed in the kernel's layout) equal energy() / the spin sum of the configurations
    the chains hold at that moment: with n_samples = 1 the last record is of the returned configs."""
    r = I.metropolis(6, [2.0, 4.0], n_chains=70, n_equil=3, n_samples=1, every=2, seed=2, method="vectorized",
                     return_configs=True, start="random")
    cfg = r["configs"].reshape(-1, 6, 6)
    e = I.energy(cfg).reshape(2, 70) / 36
    m = np.abs(cfg.astype(np.int64).sum((1, 2))).reshape(2, 70) / 36
    np.testing.assert_allclose(r["e"], e.mean(1), atol=1e-12)
    np.testing.assert_allclose(r["m"], m.mean(1), atol=1e-12)


def test_vectorized_limits_determinism_and_errors():
    s0 = I.random_configs(8, 8, seed=2)
    s = s0.copy()
    out = I.metropolis_sweeps(s, 0.0, 1, seed=0, method="vectorized")
    assert np.shares_memory(out, s)
    np.testing.assert_array_equal(s, -s0)  # beta = 0: every proposal accepted, each site once per sweep
    g = np.ones((3, 8, 8), dtype=np.int8)
    I.metropolis_sweeps(g, 100.0, 10, seed=0, method="vectorized")
    assert np.all(g == 1)
    kw = dict(n_chains=8, n_equil=5, n_samples=4, every=1, method="vectorized", return_configs=True)
    a, b, c = (I.metropolis(4, [2.0], seed=sd, **kw) for sd in (1, 1, 2))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert not np.array_equal(a["configs"], c["configs"])
    with pytest.raises(ValueError, match="checkerboard"):
        I.metropolis_sweeps(s0.copy(), 1.0, 1, algorithm="random_site", method="vectorized")
    with pytest.raises(ValueError, match="even L"):
        I.metropolis_sweeps(I.random_configs(2, 5, seed=0), 1.0, 1, method="vectorized")
    with pytest.raises(ValueError, match="method"):
        I.metropolis(4, [1.0], method="simd")
