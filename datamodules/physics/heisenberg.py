"""Periodic spin-1/2 Heisenberg and J1-J2 chains: the exact references of the neural-network quantum states
(Carleo & Troyer, Science 355, 602 (2017), arXiv:1606.02318; the hands-on of L. Wang's lecture, Liu, Li & Wang,
Marburg 2018, Sec. 5.5, spec-wang-lecture.md Sec. 2.4).

    H = J1 sum_i S_i . S_{i+1} + J2 sum_i S_i . S_{i+2}        (S = sigma / 2, periodic: site N = site 0)

Basis: sigma^z product states; an integer state holds site i in bit i, bit 1 = spin up (s_i = +1), bit 0 = down.
Configurations are +-1 arrays (n, N) in site order.  S_i . S_j = S^z_i S^z_j + (S^+_i S^-_j + h.c.)/2: the diagonal
is s_i s_j / 4, and an anti-aligned pair is exchanged with amplitude 1/2.

Marshall sign rule (W. Marshall, Proc. R. Soc. A 232, 48 (1955)): for even N and J2 = 0 the ground state is
psi(s) = M(s) |psi(s)| with M(s) = (-1)^(number of up spins on odd sites).  In the rotated basis psi_rot = M psi the
nearest-neighbour exchange changes sign (H_rot = M H M has off-diagonal -J1/2), so by Perron-Frobenius the ground
state is positive there; the J2 exchange joins sites of the same sublattice and keeps +J2/2 (the frustration a
positive ansatz cannot follow).

Exact ground-state energies by scipy's sparse Lanczos (eigsh) in the S^z = 0 sector (C(N, N/2) states; N = 20:
184 756), checked against dense diagonalization of the full 2^N space built from Kronecker products (small N).
Nothing here imports torch or the zoo.
"""
from __future__ import annotations

from functools import lru_cache
from math import comb

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

__all__ = ["check_sites", "bonds", "sector_states", "states_to_spins", "spins_to_states", "marshall_sign",
           "hamiltonian_sector", "hamiltonian_dense", "ground_state", "sector_index", "energy_of", "MAX_SITES",
           "REFERENCE_E0"]

MAX_SITES = 24  # sector size C(24, 12) = 2.7e6: the largest the sparse references here are meant for
# published references (the lecture notebook's table; spec-wang-lecture.md Sec. 2.4; N = 20 verified by ED there
# and in tests/datamodules/physics/test_heisenberg.py)
REFERENCE_E0 = {(8, 0.0): -3.65109341, (20, 0.0): -8.90438652988, (20, 0.2): -8.20291625218, (20, 0.5): -7.5,
                (20, 0.8): -8.46127240196}


def check_sites(n_sites) -> int:
    """N: an even integer in [4, MAX_SITES] (even for the S^z = 0 sector and the bipartite periodic chain)."""
    if not isinstance(n_sites, (int, np.integer)) or isinstance(n_sites, bool) or n_sites < 4 or n_sites > MAX_SITES \
            or n_sites % 2:
        raise ValueError(f"n_sites must be an even integer in [4, {MAX_SITES}]; got {n_sites!r}")
    return int(n_sites)


def _check_couplings(J1, J2) -> tuple[float, float]:
    J1, J2 = float(J1), float(J2)
    if not (np.isfinite(J1) and np.isfinite(J2)):
        raise ValueError(f"J1 and J2 must be finite; got {J1}, {J2}")
    return J1, J2


def bonds(n_sites: int, J2: float = 0.0, J1: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """((n_b, 2) site pairs, (n_b,) couplings): the N nearest-neighbour bonds (i, i+1), then for J2 != 0 the N
    next-nearest (i, i+2), periodic.  N = 4 has each next-nearest pair twice around the ring, as a periodic sum
    should."""
    N = check_sites(n_sites)
    J1, J2 = _check_couplings(J1, J2)
    i = np.arange(N)
    pairs, J = [np.stack([i, (i + 1) % N], 1)], [np.full(N, J1)]
    if J2 != 0.0:
        pairs.append(np.stack([i, (i + 2) % N], 1))
        J.append(np.full(N, J2))
    return np.concatenate(pairs).astype(np.int64), np.concatenate(J)


@lru_cache(maxsize=8)
def _sector(n_sites: int, n_up: int) -> np.ndarray:
    all_states = np.arange(1 << n_sites, dtype=np.int64)
    count = np.zeros(1 << n_sites, dtype=np.int64)
    for k in range(n_sites):
        count += (all_states >> k) & 1
    out = all_states[count == n_up]  # sorted
    assert len(out) == comb(n_sites, n_up)
    out.setflags(write=False)
    return out


def sector_states(n_sites: int, n_up: int | None = None) -> np.ndarray:
    """Sorted integer states with `n_up` up spins (default N/2: the S^z = 0 sector)."""
    N = check_sites(n_sites)
    n_up = N // 2 if n_up is None else int(n_up)
    if not 0 <= n_up <= N:
        raise ValueError(f"n_up must be in [0, {N}]; got {n_up}")
    return _sector(N, n_up)


def states_to_spins(states, n_sites: int) -> np.ndarray:
    """Integer states -> (n, N) +-1 int8 spins (bit i -> site i, 1 -> +1)."""
    states = np.asarray(states, dtype=np.int64)
    bits = (states[:, None] >> np.arange(n_sites)[None, :]) & 1
    return (2 * bits - 1).astype(np.int8)


def spins_to_states(spins) -> np.ndarray:
    """(n, N) +-1 spins -> integer states."""
    s = np.asarray(spins)
    if s.ndim != 2 or not np.isin(s, (-1, 1)).all():
        raise ValueError(f"spins must be an (n, N) array of +-1; got shape {s.shape}")
    return ((s > 0).astype(np.int64) << np.arange(s.shape[1])[None, :]).sum(1)


def marshall_sign(spins) -> np.ndarray:
    """M(s) = (-1)^(number of up spins on odd sites), (n, N) +-1 spins -> (n,) of +-1."""
    s = np.asarray(spins)
    return np.where((s[:, 1::2] > 0).sum(1) % 2, -1, 1).astype(np.int8)


def sector_index(states, sector: np.ndarray) -> np.ndarray:
    """Positions of integer `states` in the sorted `sector` (ValueError if one is not in it)."""
    states = np.asarray(states, dtype=np.int64)
    idx = np.searchsorted(sector, states)
    if np.any(idx >= len(sector)) or np.any(sector[np.minimum(idx, len(sector) - 1)] != states):
        raise ValueError("states: some configurations are not in the sector (wrong number of up spins)")
    return idx


def hamiltonian_sector(n_sites: int, J2: float = 0.0, J1: float = 1.0, marshall: bool = False,
                       n_up: int | None = None) -> sp.csr_matrix:
    """H in the sector of `n_up` up spins (default S^z = 0) over `sector_states(n_sites, n_up)`, sparse CSR.
    `marshall=True`: the rotated H_rot = M H M (M the Marshall sign, diagonal).  Cached: do not modify the result."""
    N = check_sites(n_sites)
    n_up = N // 2 if n_up is None else int(n_up)
    return _hamiltonian_sector(N, *_check_couplings(J1, J2), bool(marshall), n_up)


@lru_cache(maxsize=8)
def _hamiltonian_sector(N: int, J1: float, J2: float, marshall: bool, n_up: int) -> sp.csr_matrix:
    states = sector_states(N, n_up)
    D = len(states)
    lookup = np.full(1 << N, -1, dtype=np.int64)  # integer state -> its row (a table: no search per element)
    lookup[states] = np.arange(D)
    pairs, J = bonds(N, J2, J1)
    # Marshall sign from the bits of the odd sites: parity of popcount(state & odd mask)
    odd_bits = states & sum(1 << k for k in range(1, N, 2))
    parity = np.zeros(D, dtype=np.int64)
    for k in range(1, N, 2):
        parity ^= (odd_bits >> k) & 1
    sign = 1.0 - 2.0 * parity
    diag = np.zeros(D)
    rows, cols, vals = [np.arange(D)], [np.arange(D)], []
    for (i, j), Jb in zip(pairs, J):
        anti = ((states >> int(i)) ^ (states >> int(j))) & 1
        diag += np.where(anti, -0.25 * Jb, 0.25 * Jb)
        src = np.nonzero(anti)[0]
        dst = lookup[states[src] ^ ((1 << int(i)) | (1 << int(j)))]
        v = np.full(len(src), 0.5 * Jb)
        if marshall:
            v = v * sign[src] * sign[dst]
        rows.append(dst), cols.append(src), vals.append(v)
    vals.insert(0, diag)
    H = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(D, D))
    return H.tocsr()  # duplicates (N = 4, J2: each pair twice) are summed


def hamiltonian_dense(n_sites: int, J2: float = 0.0, J1: float = 1.0) -> np.ndarray:
    """H on the full 2^N space from Kronecker products of spin matrices (an independent construction for small N;
    index = integer state, site i = bit i)."""
    N = check_sites(n_sites)
    if N > 12:
        raise ValueError(f"n_sites: the dense 2^N reference is for N <= 12; got {N}")
    # single-site operators in the basis (bit 0 = down, bit 1 = up)
    sz = np.diag([-0.5, 0.5])
    sp_ = np.array([[0.0, 0.0], [1.0, 0.0]])  # S+ |down> = |up>
    sm = sp_.T

    def site_op(op, k):
        # bit k of the index: kron order puts the most significant bit first, so site N-1 leads
        mats = [op if q == k else np.eye(2) for q in reversed(range(N))]
        out = mats[0]
        for m in mats[1:]:
            out = np.kron(out, m)
        return out

    Sz = [site_op(sz, k) for k in range(N)]
    Sp = [site_op(sp_, k) for k in range(N)]
    Sm = [site_op(sm, k) for k in range(N)]
    H = np.zeros((2 ** N, 2 ** N))
    pairs, J = bonds(N, J2, J1)
    for (i, j), Jb in zip(pairs, J):
        H += Jb * (Sz[i] @ Sz[j] + 0.5 * (Sp[i] @ Sm[j] + Sm[i] @ Sp[j]))
    return H


def ground_state(n_sites: int, J2: float = 0.0, J1: float = 1.0, marshall: bool = False) -> tuple[float, np.ndarray]:
    """(E0, ground state over `sector_states(n_sites)`) in the S^z = 0 sector by sparse Lanczos (dense eigh for
    sectors below 200 states).  The sign is fixed so the largest-|amplitude| entry is positive."""
    H = hamiltonian_sector(n_sites, J2, J1, marshall)
    if H.shape[0] < 200:
        w, v = np.linalg.eigh(H.toarray())
        e, psi = w[0], v[:, 0]
    else:
        w, v = eigsh(H, k=1, which="SA", tol=1e-12, v0=np.ones(H.shape[0]))
        e, psi = w[0], v[:, 0]
    psi = psi * np.sign(psi[np.argmax(np.abs(psi))])
    return float(e), psi


def energy_of(psi, n_sites: int, J2: float = 0.0, J1: float = 1.0, marshall: bool = False) -> float:
    """<psi|H|psi> / <psi|psi> for amplitudes over `sector_states(n_sites)` (real or complex, unnormalized)."""
    H = hamiltonian_sector(n_sites, J2, J1, marshall)
    psi = np.asarray(psi)
    if psi.shape != (H.shape[0],):
        raise ValueError(f"psi must have shape ({H.shape[0]},) (the S^z = 0 sector); got {psi.shape}")
    return float(np.real(np.vdot(psi, H @ psi)) / np.real(np.vdot(psi, psi)))
