"""The replica Metropolis kernel of COOL's simulated annealing against exact Boltzmann statistics (enumeration)."""
import itertools

import numpy as np
import pytest

from datamodules.physics.annealing import (Hamiltonian, metropolis_anneal, random_replicas, toroidal_spin_glass,
                                           wsc, wsc_initial_state)


def _exact(H, beta):
    states = np.array(list(itertools.product([-1, 1], repeat=H.n)), dtype=np.int8)
    E = H.energy(states)
    w = np.exp(-beta * (E - E.min()))
    p = w / w.sum()
    return p @ E, p @ E**2, p @ np.abs(states.sum(1)) / H.n


def _sample(H, beta, n_reps=64, burn=200, sweeps=1500, seed=0):
    spins = random_replicas(n_reps, H.n, np.random.default_rng(seed))
    metropolis_anneal(H, spins, np.full(burn, beta), seed)
    E, E2, M = [], [], []
    for k in range(sweeps):
        metropolis_anneal(H, spins, [beta], seed + 1 + k)
        e = H.energy(spins)
        E.append(e.mean()), E2.append((e**2).mean()), M.append(np.abs(spins.sum(1)).mean() / H.n)
    return np.array(E), np.array(E2), np.array(M)


def _block_err(x, blocks=20):
    b = x[: len(x) // blocks * blocks].reshape(blocks, -1).mean(1)
    return b.std(ddof=1) / np.sqrt(blocks)


@pytest.mark.parametrize("name,beta", [("sg-fields", 0.6), ("wsc", 0.35)])
def test_kernel_samples_the_boltzmann_distribution(name, beta):
    if name == "wsc":
        H = wsc()
    else:
        base = toroidal_spin_glass(4, seed=1)
        H = Hamiltonian(base.couplings, 0.5 * np.random.default_rng(1).standard_normal(16))
    e, e2, m = _exact(H, beta)
    E, E2, M = _sample(H, beta)
    for est, ref in ((E, e), (E2, e2), (M, m)):
        err = _block_err(est)
        assert abs(est.mean() - ref) < 5 * err + 1e-3 * abs(ref), (est.mean(), ref, err)


def test_schedule_per_sweep_and_acceptance_counts():
    H = wsc()
    spins = np.tile(wsc_initial_state(), (8, 1))
    acc = metropolis_anneal(H, spins, [0.0, 0.0, 50.0, 50.0], seed=3)
    assert acc.shape == (8, 4)
    assert np.all(acc[:, :2] == 16)  # beta = 0 accepts every proposal
    # at beta = 50 an uphill flip (dE >= 0.88 on WSC) is accepted with probability < 1e-19
    before = H.energy(spins)
    acc = metropolis_anneal(H, spins, np.full(20, 50.0), seed=4)
    assert np.all(np.diff(np.stack([before, H.energy(spins)]), axis=0) <= 1e-12)


def test_reproducible_and_checked():
    H = toroidal_spin_glass(4, seed=0)
    a = random_replicas(4, 16, np.random.default_rng(0))
    b = a.copy()
    metropolis_anneal(H, a, np.linspace(0.1, 2, 30), seed=9)
    metropolis_anneal(H, b, np.linspace(0.1, 2, 30), seed=9)
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="spins"):
        metropolis_anneal(H, a.astype(np.int64), [1.0], seed=0)
    with pytest.raises(ValueError, match="betas"):
        metropolis_anneal(H, a, [np.nan], seed=0)


def test_random_replicas_have_spread_magnetizations():
    s = random_replicas(2000, 64, np.random.default_rng(0))
    m = s.mean(1)
    assert s.dtype == np.int8 and set(np.unique(s)) == {-1, 1}
    # p(up) ~ U(0, 1) per replica: the magnetization 2p - 1 is about uniform on [-1, 1] (variance 1/3 + binomial 1/N)
    assert abs(m.var() - (1 / 3 + (1 - 1 / 3) / 64)) < 0.03
