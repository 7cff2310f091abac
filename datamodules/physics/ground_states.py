"""Exact ground states of H = -sum_{i<j} J_ij s_i s_j - sum_i h_i s_i (conventions of `annealing.py`).

Two independent methods, tested against each other (tests/datamodules/physics/test_ground_states.py):
- `brute_force`: every one of the 2^N states in Gray-code order (one flip per step, local fields updated in O(N)),
  N <= 20 (about 2e7 operations at N = 20);
- `torus_transfer_matrix`: min-sum dynamic programming over the columns of a rows x cols torus with nearest-neighbour
  couplings and any fields: fix the first column, carry the best energy of every column state across, close the
  ring; cost 2^rows * cols * 4^rows (8 x 8: 1.2e8), rows <= 8.  (The paper's test sets took their ground states from
  branch-and-cut through the Spin Glass Server, thesis L2793; we compute ours exactly.)
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .annealing import Hamiltonian, torus_couplings

__all__ = ["brute_force", "torus_transfer_matrix", "ground_state"]

MAX_BRUTE_FORCE = 20
MAX_TM_ROWS = 8


@njit(cache=True)
def _gray_scan(J, h):
    N = J.shape[0]
    s = -np.ones(N)
    f = J @ s  # f_i = sum_j J_ij s_j
    E = -0.5 * (s @ f) - h @ s
    best, best_code, count = E, 0, 1
    code = 0
    for step in range(1, 1 << N):
        k = 0  # the bit that changes between Gray codes step-1 and step: the lowest set bit of step
        while not (step >> k) & 1:
            k += 1
        E += 2.0 * s[k] * (f[k] + h[k])
        for j in range(N):
            f[j] -= 2.0 * J[j, k] * s[k]
        s[k] = -s[k]
        code ^= 1 << k
        if E < best - 1e-9:
            best, best_code, count = E, code, 1
        elif abs(E - best) <= 1e-9:
            count += 1
    return best, best_code, count


def brute_force(hamiltonian: Hamiltonian) -> tuple[float, np.ndarray, int]:
    """(ground-state energy, one ground state (N,) int8, number of states within 1e-9 of it) by enumeration."""
    N = hamiltonian.n
    if N > MAX_BRUTE_FORCE:
        raise ValueError(f"brute_force enumerates 2^N states; N must be <= {MAX_BRUTE_FORCE}, got {N}")
    E, code, count = _gray_scan(hamiltonian.couplings, hamiltonian.fields)
    state = np.where((code >> np.arange(N)) & 1, 1, -1).astype(np.int8)
    return float(hamiltonian.energy(state)), state, int(count)


def _column_spins(rows: int) -> np.ndarray:
    b = np.arange(1 << rows)
    return np.where((b[:, None] >> np.arange(rows)[None]) & 1, 1.0, -1.0)  # (2^rows, rows)


@njit(cache=True)
def _tm_scan(intra, inter, first_states, keep):
    """min over closed rings: intra (C, S) column energies, inter (C, S, S) bond energy of column c (state a) with
    column c+1 mod C (state b).  Returns (best energy, its first-column state, argmin table of the best ring)."""
    C, S = intra.shape
    best, best_c0 = np.inf, -1
    arg = np.zeros((C, S), np.int64)
    for c0 in first_states:
        f = intra[1] + inter[0, c0] + intra[0, c0]
        for c in range(2, C):
            g = np.empty(S)
            for b in range(S):
                m, am = np.inf, 0
                for a in range(S):
                    v = f[a] + inter[c - 1, a, b]
                    if v < m:
                        m, am = v, a
                g[b] = m + intra[c, b]
                if keep:
                    arg[c, b] = am
            f = g
        for b in range(S):
            v = f[b] + inter[C - 1, b, c0]
            if v < best:
                best, best_c0 = v, c0
                if keep:
                    arg[0, 0] = b  # the last column's state of the best ring
    return best, best_c0, arg


def torus_transfer_matrix(hamiltonian: Hamiltonian) -> tuple[float, np.ndarray]:
    """(ground-state energy, one ground state) of a toroidal nearest-neighbour model by column min-sum DP."""
    if hamiltonian.lattice is None:
        raise ValueError("hamiltonian must be a torus (lattice=(rows, cols)) for the transfer matrix")
    rows, cols = hamiltonian.lattice
    if rows > MAX_TM_ROWS:
        raise ValueError(f"the transfer matrix carries 2^rows column states; rows must be <= {MAX_TM_ROWS}, got {rows}")
    J, h = hamiltonian.couplings, hamiltonian.fields
    site = np.arange(rows * cols).reshape(rows, cols)
    right = J[site, np.roll(site, -1, axis=1)]
    down = J[site, np.roll(site, -1, axis=0)]
    if not np.array_equal(torus_couplings(right, down), J):
        raise ValueError("couplings must be nearest-neighbour bonds of the rows x cols torus only")
    s = _column_spins(rows)  # (S, rows)
    intra = np.stack([-(s * np.roll(s, -1, axis=1)) @ down[:, c] - s @ h[site[:, c]] for c in range(cols)])
    inter = np.stack([-np.einsum("ar,br,r->ab", s, s, right[:, c]) for c in range(cols)])
    # with no fields, H is even under a global flip: first columns with the top spin down suffice
    first = np.arange((1 << (rows - 1)) if not np.any(h) else (1 << rows))
    E, c0, _ = _tm_scan(intra, inter, first, False)
    _, _, arg = _tm_scan(intra, inter, np.array([c0]), True)
    states = np.zeros(cols, np.int64)
    states[0], states[cols - 1] = c0, arg[0, 0]
    for c in range(cols - 1, 1, -1):
        states[c - 1] = arg[c, states[c]]
    spins = s[states].T.astype(np.int8)  # (rows, cols)
    return float(hamiltonian.energy(spins.reshape(-1))), spins.reshape(-1)


def ground_state(hamiltonian: Hamiltonian) -> tuple[float, np.ndarray]:
    """Exact ground state by whichever method fits: brute force up to 20 spins, else the torus transfer matrix."""
    if hamiltonian.n <= MAX_BRUTE_FORCE:
        E, state, _ = brute_force(hamiltonian)
        return E, state
    return torus_transfer_matrix(hamiltonian)
