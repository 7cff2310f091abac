"""Wolff cluster updates and thermal observables for the periodic 2-D Ising model (J = 1, k_B = 1).

Pure numpy/numba, nothing of ours beyond `datamodules.physics.ising` (whose RNG and Metropolis
kernel we reuse).  Used by the RUGAN thermal data (Casert, Mills, Vieijra, Ryckebusch & Tamblyn,
arXiv:2002.07055 (2020)): near T_c single-spin Metropolis decorrelates slowly
(z ~ 2.17), so thermal samples come from a hybrid chain: one checkerboard Metropolis sweep and
then a fixed number of Wolff clusters (chosen by a pilot run during equilibration so that about N
spins flip), per "hybrid sweep".  Both kernels
leave the Boltzmann distribution invariant, so their composition does too.

Observables work on (B, L, L) +-1 configurations:
    energy_per_spin, abs_magnetization, correlation_function (G(r) = <s_0 s_r>),
    heat_capacity (C/N = N Var(e) / T^2), susceptibility (chi/N = N Var(|m|) / T), wasserstein1.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import ising

__all__ = ["wolff_updates", "hybrid_sweeps", "clusters_per_sweep", "thermal_samples", "energy_per_spin", "abs_magnetization",
           "correlation_function", "heat_capacity", "susceptibility", "wasserstein1", "thermal_observables"]


# --------------------------------------------------------------------------- Wolff kernel
@njit(parallel=True, cache=True)
def _wolff_kernel(spins, betas, n_clusters, rng, flipped_out):
    """For each chain: grow and flip `n_clusters` Wolff clusters (a fixed number: stopping after a
    state-dependent number of flipped spins would bias the chain).

    A cluster grows from a uniform random seed site, adding each aligned neighbour with
    probability p = 1 - exp(-2 beta) (each bond is tested once, when its first end joins).
    flipped_out[c] receives the number of spins flipped on chain c.
    """
    C, L, _ = spins.shape
    N = L * L
    for c in prange(C):
        st = rng[c]
        s = spins[c].reshape(N)
        p_add = 1.0 - math.exp(-2.0 * betas[c])
        stack = np.empty(N, dtype=np.int64)
        flipped = 0
        for _ in range(n_clusters):
            st, x = ising._next(st)
            seed = np.int64(x % np.uint64(N))
            s0 = s[seed]
            # a site is flipped as it joins, so `s[nb] == s0` also means "not yet in the cluster"
            s[seed] = -s0
            stack[0] = seed
            top = 1
            size = 1
            while top > 0:
                top -= 1
                k = stack[top]
                i = k // L
                j = k - i * L
                for d in range(4):
                    if d == 0:
                        nb = (i - 1 if i > 0 else L - 1) * L + j
                    elif d == 1:
                        nb = (i + 1 if i < L - 1 else 0) * L + j
                    elif d == 2:
                        nb = i * L + (j - 1 if j > 0 else L - 1)
                    else:
                        nb = i * L + (j + 1 if j < L - 1 else 0)
                    if s[nb] == s0:
                        st, x = ising._next(st)
                        if ising._uniform(x) < p_add:
                            s[nb] = -s0
                            stack[top] = nb
                            top += 1
                            size += 1
            flipped += size
        flipped_out[c] = flipped
        rng[c] = st


def wolff_updates(spins: np.ndarray, betas, n_clusters: int = 1, seed=0, return_flipped: bool = False):
    """Flip `n_clusters` Wolff clusters on every chain.

    spins: (C, L, L) +-1, advanced in place when already C-contiguous int8 (use the return value).
    return_flipped: also return the number of spins flipped per chain (for choosing n_clusters).
    """
    spins = np.ascontiguousarray(ising.check_spins(spins))
    C, L, _ = spins.shape
    betas = np.broadcast_to(np.asarray(betas, dtype=np.float64), (C,)).copy()
    if np.any(~np.isfinite(betas)) or np.any(betas <= 0):
        raise ValueError("betas must be finite and positive (inverse temperatures)")
    if n_clusters < 0:
        raise ValueError(f"n_clusters must be >= 0; got {n_clusters}")
    ss = seed if isinstance(seed, np.random.SeedSequence) else ising.seed_sequence(seed)
    rng = ss.generate_state(C, dtype=np.uint64)
    flipped = np.zeros(C, dtype=np.int64)
    _wolff_kernel(spins, betas, int(n_clusters), rng, flipped)
    return (spins, flipped) if return_flipped else spins


def hybrid_sweeps(spins: np.ndarray, betas, n: int, n_clusters: int = 1, seed=0) -> np.ndarray:
    """`n` hybrid sweeps: each is one checkerboard Metropolis sweep, then `n_clusters` Wolff clusters."""
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n}")
    spins = np.ascontiguousarray(ising.check_spins(spins))
    key = seed.entropy if isinstance(seed, np.random.SeedSequence) else seed
    for k in range(int(n)):
        spins = ising.metropolis_sweeps(spins, betas, 1, seed=ising.seed_sequence(str(key), k, 0))
        if n_clusters:
            spins = wolff_updates(spins, betas, n_clusters, seed=ising.seed_sequence(str(key), k, 1))
    return spins


def clusters_per_sweep(spins: np.ndarray, beta: float, n_pilot: int = 20, seed=0) -> tuple[np.ndarray, int]:
    """Pilot run of single-cluster updates (part of equilibration): returns the advanced spins and
    the number of clusters that flips about N spins on average, ceil(N / <cluster size>)."""
    C, L, _ = spins.shape
    total = 0
    for k in range(n_pilot):
        spins, f = wolff_updates(spins, beta, 1, seed=ising.seed_sequence(str(seed), "pilot", k), return_flipped=True)
        total += int(f.sum())
    mean_size = max(total / (n_pilot * C), 1.0)
    return spins, int(min(L * L, max(1, math.ceil(L * L / mean_size))))


def thermal_samples(L: int, T: float, n_samples: int, n_chains: int = 16, n_equil: int = 200, every: int = 4,
                    seed=0, wolff: bool = True) -> np.ndarray:
    """`n_samples` Boltzmann configurations (int8, (n, L, L)) at temperature T from `n_chains`
    independent hybrid chains, after `n_equil` hybrid sweeps, recording every `every` sweeps.
    Chains start ordered (all +1); sample order is (record, chain)."""
    if L < 2 or L % 2:
        raise ValueError(f"L must be an even integer >= 2; got {L}")
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a positive temperature; got {T}")
    if n_samples < 1 or n_chains < 1 or every < 1 or n_equil < 0:
        raise ValueError(f"n_samples, n_chains, every must be >= 1 and n_equil >= 0; got {n_samples}, {n_chains}, "
                         f"{every}, {n_equil}")
    key = str(seed.entropy if isinstance(seed, np.random.SeedSequence) else seed)
    # ordered start: a random start below T_c at large L can freeze into long-lived stripes
    spins = np.ones((n_chains, L, L), dtype=np.int8)
    beta = 1.0 / float(T)
    n_clusters = 0
    if wolff:
        # half the equilibration with one cluster per sweep, then a pilot fixes the cluster count
        # (~N flipped spins per hybrid sweep) before the rest of equilibration and all recording
        spins = hybrid_sweeps(spins, beta, n_equil // 2, 1, seed=key + "/equil0")
        spins, n_clusters = clusters_per_sweep(spins, beta, seed=key)
    spins = hybrid_sweeps(spins, beta, n_equil - n_equil // 2, n_clusters, seed=key + "/equil")
    n_rec = math.ceil(n_samples / n_chains)
    out = np.empty((n_rec, n_chains, L, L), dtype=np.int8)
    for r in range(n_rec):
        spins = hybrid_sweeps(spins, beta, every, n_clusters, seed=f"{key}/rec{r}")
        out[r] = spins
    return out.reshape(-1, L, L)[:n_samples]


# --------------------------------------------------------------------------- observables
def energy_per_spin(spins) -> np.ndarray:
    s = ising.check_spins(spins)
    return ising.energy(s) / float(s.shape[-1] ** 2)


def abs_magnetization(spins) -> np.ndarray:
    return np.abs(ising.magnetization(spins))


def correlation_function(spins, r_max: int | None = None) -> np.ndarray:
    """G(r) = <s_i s_{i+r e}> for r = 0..r_max (default L/2), averaged over sites, both axes and samples."""
    s = ising.check_spins(spins).astype(np.float32)
    L = s.shape[-1]
    r_max = L // 2 if r_max is None else int(r_max)
    if not 0 <= r_max < L:
        raise ValueError(f"r_max must be in [0, L-1]; got {r_max} for L={L}")
    G = np.empty(r_max + 1)
    for r in range(r_max + 1):
        G[r] = 0.5 * (np.mean(s * np.roll(s, r, axis=-1)) + np.mean(s * np.roll(s, r, axis=-2)))
    return G


def heat_capacity(e: np.ndarray, T: float, N: int) -> float:
    """C/N = N Var(e) / T^2 from energies per spin e."""
    return float(N * np.var(e) / T ** 2)


def susceptibility(absm: np.ndarray, T: float, N: int) -> float:
    """chi/N = N Var(|m|) / T from |m| per spin (the finite-size estimator with |m|)."""
    return float(N * np.var(absm) / T)


def wasserstein1(a, b) -> float:
    """W1 distance between two 1-D empirical distributions: the integral of |F_a - F_b| (exact)."""
    a = np.sort(np.asarray(a, dtype=np.float64).ravel())
    b = np.sort(np.asarray(b, dtype=np.float64).ravel())
    if not len(a) or not len(b):
        raise ValueError("wasserstein1 needs two non-empty samples")
    x = np.sort(np.concatenate([a, b]))
    Fa = np.searchsorted(a, x[:-1], side="right") / len(a)
    Fb = np.searchsorted(b, x[:-1], side="right") / len(b)
    return float(np.sum(np.abs(Fa - Fb) * np.diff(x)))


def thermal_observables(spins, T: float) -> dict:
    """<e>, <|m|> (with standard errors), C/N, chi/N and G(r) of samples at temperature T."""
    s = ising.check_spins(spins)
    N = s.shape[-1] ** 2
    e, m = energy_per_spin(s), abs_magnetization(s)
    n = len(s)
    return {"e": float(e.mean()), "e_err": float(e.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            "m": float(m.mean()), "m_err": float(m.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            "c": heat_capacity(e, T, N), "chi": susceptibility(m, T, N), "G": correlation_function(s), "n": n}
