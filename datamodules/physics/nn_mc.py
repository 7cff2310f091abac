"""Metropolis with an arbitrary energy operator in the loop (e.g. a trained network).

Mills & Tamblyn, PRE 97, 032119 (2018), Sec. IV "Replicating the Ising model phase transition", Figs. 7-9
(thesis L1120-1124), replaced the exact energy and magnetization by the networks inside Metropolis-Hastings and averaged 400 independent simulations.  Here all chains (temperatures x
chains per temperature) advance together: each step proposes one random single-spin flip per
chain and evaluates the operator on the whole batch of proposals.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .ising import seed_sequence

__all__ = ["metropolis_with_operator"]


def metropolis_with_operator(energy_fn: Callable[[np.ndarray], np.ndarray], L: int, temps, n_chains: int = 25,
                             n_equil: int = 100, n_samples: int = 100, every: int = 1, seed=0,
                             magnetization_fn: Callable[[np.ndarray], np.ndarray] | None = None,
                             progress: bool = True) -> dict:
    """Random-site Metropolis (App. B.1) with energies from `energy_fn((B, L, L) int8) -> (B,)`.

    Sweeps are L^2 proposals.  Records every `every` sweeps after `n_equil` sweeps; returns per-T
    e, c (from the energy variance), m (<|M|> per spin, from `magnetization_fn` or the exact mean
    spin) with standard errors over chains.
    """
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    rng = np.random.default_rng(seed_sequence(seed))
    C, N = len(temps) * n_chains, L * L
    beta = np.repeat(1.0 / temps, n_chains)
    spins = np.ones((C, L, L), dtype=np.int8)
    E = np.asarray(energy_fn(spins), dtype=np.float64)
    rows = np.arange(C)
    Es, Ms = [], []
    total = n_equil + n_samples * every
    from tqdm.auto import tqdm

    for sweep in tqdm(range(total), desc="Metropolis (operator in the loop)", unit="sweep", disable=not progress):
        for _ in range(N):
            site = rng.integers(0, N, size=C)
            i, j = site // L, site % L
            spins[rows, i, j] *= -1  # flip in place, undo the rejected flips (no copy per proposal)
            Eb = np.asarray(energy_fn(spins), dtype=np.float64)
            accept = rng.random(C) < np.exp(-np.clip(beta * (Eb - E), 0, 700))
            spins[rows[~accept], i[~accept], j[~accept]] *= -1
            E[accept] = Eb[accept]
        if sweep >= n_equil and (sweep - n_equil + 1) % every == 0:
            Es.append(E.copy())
            M = magnetization_fn(spins) if magnetization_fn else spins.reshape(C, -1).mean(1)
            Ms.append(np.abs(np.asarray(M, dtype=np.float64)))
    E_ = np.stack(Es, 1).reshape(len(temps), n_chains, -1)
    M_ = np.stack(Ms, 1).reshape(len(temps), n_chains, -1)
    T3 = temps[:, None]
    per_chain = {"e": E_.mean(-1) / N, "c": E_.var(-1) / (T3 ** 2 * N), "m": M_.mean(-1)}
    out = {"T": temps}
    for k, v in per_chain.items():
        out[k] = v.mean(1)
        out[k + "_err"] = v.std(1, ddof=1) / math.sqrt(n_chains) if n_chains > 1 else np.full(len(temps), np.nan)
    return out
