"""The Ising model's continuous dual (NeuralRG, arXiv:1802.02840) and the exact ln Z references: Kaufman's formula
against enumeration and the transfer matrix, the dual density against the exact Gaussian-mixture form, pi(s | x)
against the joint, and the autocorrelation estimator against an AR(1) process."""
import math

import numpy as np
import pytest
from scipy.signal import lfilter
from scipy.special import logsumexp

from datamodules.physics import ising_dual as D
from datamodules.physics.ising import energy, enumerate_configs

BC = 1 / D.T_C


@pytest.mark.parametrize("L", [3, 4])
@pytest.mark.parametrize("beta", [0.2, BC, 0.7])
def test_kaufman_equals_enumeration(L, beta):
    assert D.log_z_kaufman(L, beta) == pytest.approx(D.log_z_enumeration(L, beta), abs=1e-10)
    assert D.log_z_transfer_matrix(L, beta) == pytest.approx(D.log_z_enumeration(L, beta), abs=1e-10)


@pytest.mark.parametrize("L", [6, 8])
@pytest.mark.parametrize("beta", [0.25, BC, 0.6])
def test_kaufman_equals_transfer_matrix(L, beta):
    assert D.log_z_kaufman(L, beta) == pytest.approx(D.log_z_transfer_matrix(L, beta), abs=1e-9)


def test_exact_energy_distribution_mean_is_minus_dlnZ_dbeta_of_kaufman():
    levels, p = D.energy_distribution(4, BC)
    assert p.sum() == pytest.approx(1.0) and levels.min() == -32
    h = 1e-5
    dlnz = (D.log_z_kaufman(4, BC + h) - D.log_z_kaufman(4, BC - h)) / (2 * h)
    assert (p * levels).sum() == pytest.approx(-dlnz, abs=1e-6)


def test_dual_log_z_x_at_tc_is_the_lectures_37_37673():
    """Spec Sec. 4.1 item 1: exact ln Z_x = 37.37673 for the 4 x 4 dual at T_c with alpha = 0.1 - lambda_min(K)."""
    K = D.coupling_matrix(4, BC)
    a = D.dual_shift(K)
    assert np.linalg.eigvalsh(K + a * np.eye(16)).min() == pytest.approx(0.1)
    assert D.log_z_exact(4, BC) - D.dual_constant(K, a) == pytest.approx(37.37673, abs=5e-6)


def test_dual_density_is_the_exact_gaussian_mixture():
    """pi(x) / Z_x = sum_s pi_Ising(s) N(x; A s, A): evaluated term by term over all 512 states of 3 x 3 at points
    x, against exp(dual_log_density - ln Z_x) with ln Z_x = ln Z_Ising - C."""
    L, beta = 3, 0.4
    K = D.coupling_matrix(L, beta)
    a = D.dual_shift(K)
    A = K + a * np.eye(9)
    S = enumerate_configs(L).reshape(-1, 9).astype(np.float64)
    log_pi_s = -beta * energy(S.reshape(-1, L, L)) - D.log_z_enumeration(L, beta)
    assert np.allclose(0.5 * np.einsum("si,ij,sj->s", S, K, S), -beta * energy(S.reshape(-1, L, L)))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 9)) * 1.5
    A_inv = np.linalg.inv(A)
    _, logdet = np.linalg.slogdet(A)
    d = x[:, None, :] - (S @ A)[None]
    log_gauss = -0.5 * np.einsum("bsi,ij,bsj->bs", d, A_inv, d) - 0.5 * (9 * math.log(2 * math.pi) + logdet)
    mixture = logsumexp(log_pi_s[None] + log_gauss, axis=1)
    log_zx = D.log_z_enumeration(L, beta) - D.dual_constant(K, a)
    assert np.allclose(D.dual_log_density(x, A_inv) - log_zx, mixture, atol=1e-10)
    # the conditional: p(s | x) of the joint is prod_i sigmoid(2 s_i x_i)
    post = np.exp(log_pi_s[None] + log_gauss - mixture[:, None])  # (B, 2^9)
    p_up = post @ (S > 0)
    assert np.allclose(p_up, 1 / (1 + np.exp(-D.spin_conditional_logits(x))), atol=1e-10)


def test_sample_spins_given_x_frequencies():
    x = np.tile(np.array([[-1.0, -0.2, 0.0, 0.3, 2.0]]), (40000, 1))
    s = D.sample_spins_given_x(x, np.random.default_rng(0))
    assert s.dtype == np.int8 and set(np.unique(s)) == {-1, 1}
    freq = (s > 0).mean(0)
    assert np.allclose(freq, 1 / (1 + np.exp(-2 * x[0])), atol=0.01)


def test_integrated_autocorrelation_time_of_ar1():
    rng = np.random.default_rng(0)
    rho, T = 0.8, 100_000
    e = rng.normal(size=(4, T))
    e[:, 0] /= math.sqrt(1 - rho ** 2)  # stationary start
    y = lfilter([1.0], [1.0, -rho], e, axis=1)  # y_t = rho y_(t-1) + e_t
    assert D.integrated_autocorrelation_time(y) == pytest.approx((1 + rho) / (2 * (1 - rho)), rel=0.08)
    assert D.integrated_autocorrelation_time(rng.normal(size=50_000)) == pytest.approx(0.5, abs=0.05)


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="L"):
        D.coupling_matrix(2, 0.4)
    with pytest.raises(ValueError, match="beta"):
        D.coupling_matrix(4, -1.0)
    with pytest.raises(ValueError, match="L"):
        D.log_z_transfer_matrix(12, 0.4)
    with pytest.raises(ValueError, match="series"):
        D.integrated_autocorrelation_time([1.0, 2.0])


def test_local_metropolis_energy_histogram_matches_enumeration():
    """The reference local sampler (random-site Metropolis) against the exact 4 x 4 distribution at T_c."""
    from scipy import stats

    E, M = D.local_metropolis(4, BC, 16, 600, np.random.default_rng(0), n_equil=50)
    assert E.shape == M.shape == (16, 600) and np.all(np.abs(M) <= 16)
    levels, p = D.energy_distribution(4, BC)
    n_eff = E.size / (2 * D.integrated_autocorrelation_time(E))
    keep = p > 1e-3
    freq = np.array([(E == e).mean() for e in levels])
    chi2 = float(((freq - p) ** 2 / p)[keep].sum() * n_eff)
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3
