"""Metropolis with a tile-sum energy and local re-evaluation, against exact references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from datamodules.physics import ednn_mc, ising

torch.set_num_threads(1)


@pytest.mark.parametrize("f,c,L", [(1, 1, 8), (2, 1, 8), (1, 2, 10), (2, 3, 12), (4, 2, 8)])
def test_exact_tile_energy_sums_to_the_ising_energy(f, c, L):
    s = ising.random_configs(5, L, seed=L + c)
    g = ednn_mc.exact_ising_tile_energy(f, c)
    tiles = ednn_mc.all_tiles(torch.as_tensor(s, dtype=torch.float32), f, c)
    E = g(tiles.reshape(-1, f + 2 * c, f + 2 * c)).reshape(5, -1).sum(1)
    np.testing.assert_array_equal(E.numpy(), ising.energy(s))


@pytest.mark.parametrize("f,c,L", [(1, 1, 6), (2, 3, 12), (1, 2, 8)])
def test_local_updates_track_the_exact_energy(f, c, L):
    sm = ednn_mc.EDNNMetropolis(ednn_mc.exact_ising_tile_energy(f, c), L, f, c, np.full(8, 1 / 2.5), seed=1,
                                start="random")
    for _ in range(400):
        sm.step()
    assert int(sm.n_accepted.sum()) > 100
    np.testing.assert_array_equal(sm.energy.numpy(), ising.energy(sm.spins.numpy().astype(np.int8)))
    assert sm.resync() == 0.0


def test_local_and_full_reevaluation_give_the_same_chain():
    g = ednn_mc.exact_ising_tile_energy(1, 2)
    a = ednn_mc.EDNNMetropolis(g, 8, 1, 2, np.full(4, 0.4), mode="local", seed=5, start="random")
    b = ednn_mc.EDNNMetropolis(g, 8, 1, 2, np.full(4, 0.4), mode="full", seed=5, start="random")
    for _ in range(300):
        a.step()
        b.step()
    assert torch.equal(a.spins, b.spins)
    torch.testing.assert_close(a.contrib, b.contrib)


def test_local_sampler_reproduces_exact_4x4_thermodynamics():
    temps = [1.8, 3.0]
    r = ednn_mc.metropolis_ednn(ednn_mc.exact_ising_tile_energy(1, 1), 4, 1, 1, temps, n_chains=24, n_equil=20,
                                n_samples=100, seed=0)
    exact = ising.exact_thermodynamics(temps, 4)
    assert np.all(np.abs(r["e"] - exact["e"]) < 4 * r["e_err"] + 0.01), (r["e"], exact["e"], r["e_err"])
    assert r["drift"] == 0.0


def test_bad_lattices_raise():
    g = ednn_mc.exact_ising_tile_energy(2, 1)
    with pytest.raises(ValueError, match="multiple of focus=2"):
        ednn_mc.EDNNMetropolis(g, 7, 2, 1, [0.5])
    with pytest.raises(ValueError, match="mode='full'"):
        ednn_mc.EDNNMetropolis(ednn_mc.exact_ising_tile_energy(1, 3), 4, 1, 3, [0.5])
    with pytest.raises(ValueError, match="mode"):
        ednn_mc.EDNNMetropolis(g, 8, 2, 1, [0.5], mode="fast")


def test_tabulated_sampler_tracks_its_energy_and_matches_exact_4x4():
    g = ednn_mc.exact_ising_tile_energy(1, 1)
    table = g(torch.as_tensor(ednn_mc.all_binary_tiles(3))).double().numpy()
    s = ising.random_configs(6, 8, seed=4)
    np.testing.assert_array_equal(ednn_mc.table_energy(s, table, 1, 1), ising.energy(s))
    temps = [1.8, 3.0]
    r = ednn_mc.metropolis_table(table, 4, 1, 1, temps, n_chains=32, n_equil=100, n_samples=200, seed=2)
    exact = ising.exact_thermodynamics(temps, 4)
    assert r["drift"] == 0.0
    assert np.all(np.abs(r["e"] - exact["e"]) < 4 * r["e_err"] + 0.01), (r["e"], exact["e"], r["e_err"])
    with pytest.raises(ValueError, match="2\\^\\(t\\^2\\)"):
        ednn_mc.metropolis_table(table[:10], 4, 1, 1, temps)
