"""Wolff / hybrid thermal sampler and observables of datamodules/physics/ising_cluster.py, checked against
exact references of datamodules/physics/ising.py (4x4 enumeration, 6x6 transfer matrix) and hand cases."""
from __future__ import annotations

import numpy as np
import pytest

from datamodules.physics import ising
from datamodules.physics import ising_cluster as W


def _chain_means(samples: np.ndarray, n_chains: int, f) -> tuple[float, float]:
    """Mean of f over samples and its standard error from per-chain means (chains are independent)."""
    v = f(samples).reshape(-1, n_chains)  # sample order is (record, chain)
    per_chain = v.mean(0)
    return float(per_chain.mean()), float(per_chain.std(ddof=1) / np.sqrt(n_chains))


@pytest.mark.parametrize("T", [1.8, 2.27, 3.0])
def test_wolff_only_chain_matches_4x4_enumeration(T):
    exact = ising.exact_thermodynamics([T], 4)
    s = np.ones((32, 4, 4), dtype=np.int8)
    E, M = [], []
    for k in range(400):
        s = W.wolff_updates(s, 1.0 / T, n_clusters=1, seed=k)
        if k >= 20:
            E.append(W.energy_per_spin(s))
            M.append(W.abs_magnetization(s))
    E, M = np.array(E), np.array(M)  # (records, chains)
    for v, ref in ((E, exact["e"][0]), (M, exact["m"][0])):
        pc = v.mean(0)
        err = pc.std(ddof=1) / np.sqrt(len(pc))
        assert abs(pc.mean() - ref) < 5 * err + 1e-3, (T, pc.mean(), ref, err)


def test_hybrid_samples_match_4x4_energy_distribution_and_heat_capacity():
    T = 2.27
    x = W.thermal_samples(4, T, 16000, n_chains=16, n_equil=20, every=1, seed=3)
    configs = ising.enumerate_configs(4)
    E_all = ising.energy(configs)
    w = np.exp(-(E_all - E_all.min()) / T)
    levels = np.unique(E_all)
    p_exact = np.array([w[E_all == e].sum() for e in levels]) / w.sum()
    E = ising.energy(x)
    p_mc = np.array([(E == e).mean() for e in levels])
    assert 0.5 * np.abs(p_mc - p_exact).sum() < 0.02  # total variation distance
    exact = ising.exact_thermodynamics([T], 4)
    obs = W.thermal_observables(x, T)
    assert abs(obs["c"] - exact["c"][0]) < 0.05 * exact["c"][0]


def test_hybrid_samples_match_6x6_transfer_matrix_near_tc():
    T = 2.3
    tm = ising.transfer_matrix_thermodynamics([T], 6)
    n_chains = 16
    x = W.thermal_samples(6, T, 6400, n_chains=n_chains, n_equil=50, every=1, seed=5)
    e, e_err = _chain_means(x, n_chains, W.energy_per_spin)
    m, m_err = _chain_means(x, n_chains, W.abs_magnetization)
    assert abs(e - tm["e"][0]) < 5 * e_err + 2e-3, (e, tm["e"][0], e_err)
    assert abs(m - tm["m"][0]) < 5 * m_err + 2e-3, (m, tm["m"][0], m_err)


def test_sampler_is_deterministic_and_valid():
    a = W.thermal_samples(8, 2.0, 40, n_chains=4, n_equil=5, every=1, seed="k")
    b = W.thermal_samples(8, 2.0, 40, n_chains=4, n_equil=5, every=1, seed="k")
    c = W.thermal_samples(8, 2.0, 40, n_chains=4, n_equil=5, every=1, seed="other")
    assert a.dtype == np.int8 and a.shape == (40, 8, 8) and set(np.unique(a)) <= {-1, 1}
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_cluster_count_scales_with_temperature():
    s = np.ones((8, 16, 16), dtype=np.int8)
    _, n_cold = W.clusters_per_sweep(s.copy(), 1 / 1.5, seed=0)
    _, n_hot = W.clusters_per_sweep(W.thermal_samples(16, 4.0, 8, n_chains=8, n_equil=5, seed=1), 1 / 4.0, seed=0)
    assert n_cold <= 2 < 10 < n_hot  # big clusters when ordered, tiny ones at high T


def test_correlation_function_hand_cases():
    up = np.ones((2, 8, 8), dtype=np.int8)
    assert np.allclose(W.correlation_function(up), 1.0)
    i, j = np.indices((8, 8))
    cb = np.where((i + j) % 2, 1, -1).astype(np.int8)
    assert np.allclose(W.correlation_function(cb), [(-1) ** r for r in range(5)])
    stripes = np.where(j % 2, 1, -1).astype(np.int8)  # alternating columns: +1 along rows' axis 0, (-1)^r along 1
    assert np.allclose(W.correlation_function(stripes), [0.5 * (1 + (-1) ** r) for r in range(5)])
    # G(1) is minus half the energy per spin, configuration by configuration
    x = ising.random_configs(5, 8, seed=1)
    for s in x:
        assert np.isclose(W.correlation_function(s)[1], -0.5 * W.energy_per_spin(s)[0])


def test_fluctuation_estimators_and_w1():
    e = np.array([-2.0, -1.0, -2.0, -1.0])
    assert np.isclose(W.heat_capacity(e, 2.0, 16), 16 * 0.25 / 4)
    assert np.isclose(W.susceptibility(np.array([0.0, 1.0]), 0.5, 4), 4 * 0.25 / 0.5)
    assert np.isclose(W.wasserstein1([0, 0, 1], [1, 1, 1]), 2 / 3)
    with pytest.raises(ValueError):
        W.wasserstein1([], [1.0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="L must be"):
        W.thermal_samples(7, 2.0, 10)
    with pytest.raises(ValueError, match="T must be"):
        W.thermal_samples(8, -1.0, 10)
    with pytest.raises(ValueError, match="betas"):
        W.wolff_updates(np.ones((1, 4, 4), np.int8), 0.0)
    with pytest.raises(ValueError, match="-1 and \\+1"):
        W.wolff_updates(np.zeros((1, 4, 4), np.int8), 1.0)
    with pytest.raises(ValueError, match="r_max"):
        W.correlation_function(np.ones((4, 4), np.int8), r_max=4)
