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

__all__ = ["metropolis_with_operator", "staggered_sign"]


START = ("up", "checkerboard", "random")


def staggered_sign(L: int) -> np.ndarray:
    """(L, L) +-1 pattern (-1)^(x + y): spins times it give the staggered magnetization, the order parameter of an
    antiferromagnet (its ground state, the checkerboard, has |M_s| = 1 and M = 0)."""
    return np.where(np.add.outer(np.arange(L), np.arange(L)) % 2 == 0, 1, -1).astype(np.int8)


def _start(start, C: int, L: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(start, str):
        if start not in START:
            raise ValueError(f"start must be one of {START} or an (L, L) +-1 array; got {start!r}")
        if start == "up":
            return np.ones((C, L, L), dtype=np.int8)
        if start == "checkerboard":
            return np.repeat(staggered_sign(L)[None], C, 0)
        return np.where(rng.random((C, L, L)) < 0.5, 1, -1).astype(np.int8)
    s = np.asarray(start)
    if s.shape != (L, L) or not np.all(np.abs(s) == 1):
        raise ValueError(f"start must be one of {START} or an (L, L) = ({L}, {L}) array of +-1; got shape {s.shape}")
    return np.repeat(s.astype(np.int8)[None], C, 0)


def metropolis_with_operator(energy_fn: Callable[[np.ndarray], np.ndarray], L: int, temps, n_chains: int = 25,
                             n_equil: int = 100, n_samples: int = 100, every: int = 1, seed=0,
                             magnetization_fn: Callable[[np.ndarray], np.ndarray] | None = None,
                             start="up", keep_every: int = 0, progress: bool = True) -> dict:
    """Random-site Metropolis (App. B.1) with energies from `energy_fn((B, L, L) int8) -> (B,)`.

    Sweeps are L^2 proposals.  Records every `every` sweeps after `n_equil` sweeps; returns per-T
    e, c (from the energy variance), m (<|M|> per spin, from `magnetization_fn` or the exact mean
    spin) and ms (the staggered <|M_s|> per spin, exact) with standard errors over chains.

    Args:
        start: 'up' (all +1), 'checkerboard' (the antiferromagnet's ground state; a cold start for one), 'random'
            (hot) or an (L, L) +-1 configuration every chain starts from.
        keep_every: > 0 also returns the configurations of every `keep_every`-th record as "configs"
            ((records * chains, L, L) int8) with their temperature index in "configs_T".
    """
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    if min(n_chains, n_samples, every) < 1 or n_equil < 0 or keep_every < 0:
        raise ValueError(f"n_chains, n_samples and every must be >= 1 and n_equil, keep_every >= 0; got "
                         f"{n_chains}, {n_samples}, {every}, {n_equil}, {keep_every}")
    rng = np.random.default_rng(seed_sequence(seed))
    C, N = len(temps) * n_chains, L * L
    beta = np.repeat(1.0 / temps, n_chains)
    spins = _start(start, C, L, rng)
    stag = staggered_sign(L)
    kept = []
    E = np.asarray(energy_fn(spins), dtype=np.float64)
    rows = np.arange(C)
    Es, Ms, Ss = [], [], []
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
            Ss.append(np.abs((spins * stag).reshape(C, -1).mean(1, dtype=np.float64)))
            if keep_every and (len(Es) - 1) % keep_every == 0:
                kept.append(spins.copy())
    E_ = np.stack(Es, 1).reshape(len(temps), n_chains, -1)
    M_ = np.stack(Ms, 1).reshape(len(temps), n_chains, -1)
    S_ = np.stack(Ss, 1).reshape(len(temps), n_chains, -1)
    T3 = temps[:, None]
    per_chain = {"e": E_.mean(-1) / N, "c": E_.var(-1) / (T3 ** 2 * N), "m": M_.mean(-1), "ms": S_.mean(-1)}
    out = {"T": temps}
    for k, v in per_chain.items():
        out[k] = v.mean(1)
        out[k + "_err"] = v.std(1, ddof=1) / math.sqrt(n_chains) if n_chains > 1 else np.full(len(temps), np.nan)
    if keep_every:
        out["configs"] = np.concatenate(kept)
        out["configs_T"] = np.tile(np.repeat(np.arange(len(temps)), n_chains), len(kept))
    return out
