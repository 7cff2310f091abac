"""Ising-type spin Hamiltonians and simulated annealing over replicas, for COOL (Mills, Ronagh & Tamblyn, "Finding the
ground state of spin Hamiltonians with reinforcement learning", Nat. Mach. Intell. 2, 509 (2020),
doi:10.1038/s42256-020-0226-x, arXiv:2003.00011; Mills thesis Ch. 5, L2641-2975).

Pure numpy/numba: no Lightning, nothing of ours.  Conventions (paper eq. in "The environment", thesis L2671):

    H(sigma) = - sum_{i<j} J_ij sigma_i sigma_j - sum_i h_i sigma_i,   sigma_i = +-1

with J a symmetric N x N matrix with zero diagonal (so H = -1/2 sigma.J.sigma - h.sigma) and h an N-vector.  "L" in
the paper is the NUMBER of spins; here N is, and `side` is a torus' linear size.

Hamiltonians: the 16-spin weak-strong-cluster model (paper "Hamiltonians", Fig. 1a, Fig. 3) with its local-minimum
initial state, toroidal nearest-neighbour spin glasses (J_ij ~ N(0, 1) or +-1, h = 0; a seed gives an instance) and
the toroidal ferromagnet.  Simulated annealing: random-site Metropolis over N_reps replicas with one beta per sweep
(a sweep is N random single-spin proposals; paper "The environment", thesis L2703).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

__all__ = ["Hamiltonian", "wsc", "wsc_initial_state", "toroidal_spin_glass", "ferromagnet", "torus_couplings",
           "energies", "metropolis_anneal", "random_replicas", "WSC_GROUND_ENERGY", "WSC_INITIAL_ENERGY"]

# Exact values of the WSC model below (all aligned; each cluster along its own bias), checked by brute force in
# tests/datamodules/physics/test_ground_states.py.  Per spin: -2.53 and -2.47.
WSC_GROUND_ENERGY = -40.48
WSC_INITIAL_ENERGY = -39.52


@dataclass(frozen=True)
class Hamiltonian:
    """H = -sum_{i<j} J_ij s_i s_j - sum_i h_i s_i.  `couplings` symmetric (N, N), zero diagonal; `fields` (N,).
    `lattice` = (rows, cols) for toroidal nearest-neighbour models (site r * cols + c), else None."""

    couplings: np.ndarray
    fields: np.ndarray
    name: str = "custom"
    lattice: tuple[int, int] | None = None
    csr: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        J = np.asarray(self.couplings, dtype=np.float64)
        h = np.asarray(self.fields, dtype=np.float64)
        if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] < 1:
            raise ValueError(f"couplings must be a square (N, N) matrix; got shape {J.shape}")
        if h.shape != (J.shape[0],):
            raise ValueError(f"fields must be a vector of length N = {J.shape[0]}; got shape {h.shape}")
        if not (np.isfinite(J).all() and np.isfinite(h).all()):
            raise ValueError("couplings and fields must be finite")
        if not np.allclose(J, J.T, rtol=0, atol=1e-12):
            raise ValueError("couplings must be symmetric (J_ij = J_ji; H sums each pair i < j once)")
        if np.any(np.diag(J) != 0):
            raise ValueError("couplings must have a zero diagonal (no self-coupling)")
        object.__setattr__(self, "couplings", J)
        object.__setattr__(self, "fields", h)
        # neighbour lists: the Metropolis kernel touches only the nonzero couplings of a site
        indptr, indices, weights = [0], [], []
        for i in range(J.shape[0]):
            nz = np.flatnonzero(J[i])
            indices.extend(nz.tolist())
            weights.extend(J[i, nz].tolist())
            indptr.append(len(indices))
        object.__setattr__(self, "csr", (np.asarray(indptr, np.int64), np.asarray(indices, np.int64),
                                         np.asarray(weights, np.float64)))

    @property
    def n(self) -> int:
        return self.couplings.shape[0]

    def energy(self, spins) -> np.ndarray:
        """Energies of spins (..., N) with entries +-1."""
        return energies(self.couplings, self.fields, spins)


def energies(couplings: np.ndarray, fields: np.ndarray, spins) -> np.ndarray:
    """H of every configuration in spins (..., N): -1/2 s.J.s - h.s (float64)."""
    s = np.asarray(spins, dtype=np.float64)
    return -0.5 * np.einsum("...i,ij,...j->...", s, couplings, s) - s @ fields


# --------------------------------------------------------------------------- Hamiltonians
def wsc() -> Hamiltonian:
    """The weak-strong-cluster model (paper "Hamiltonians" and Fig. 1a; thesis L2789-2793): two K_{4,4} clusters,
    spins 0-3 x 4-7 and 8-11 x 12-15, joined by the four bonds 4-12, 5-13, 6-14, 7-15; every coupling ferromagnetic
    of unit magnitude (36 bonds); fields h = -0.44 on the first cluster (spins 0-7) and h = +1.0 on the second.
    The graph is the spec's reading of the released lattice file (spec Sec. 6.5); its energies reproduce the
    paper's picture: ground state all aligned (-40.48), deep local minimum each cluster along its bias (-39.52)."""
    J = np.zeros((16, 16))
    for a, b in ((range(0, 4), range(4, 8)), (range(8, 12), range(12, 16))):
        for i in a:
            for j in b:
                J[i, j] = J[j, i] = 1.0
    for i in range(4, 8):
        J[i, i + 8] = J[i + 8, i] = 1.0
    h = np.concatenate([np.full(8, -0.44), np.full(8, 1.0)])
    return Hamiltonian(J, h, name="wsc")


def wsc_initial_state() -> np.ndarray:
    """The local minimum every WSC episode starts in (paper "Hamiltonians": "For all WSC runs, the spins of the lattice
    are initialized in the local minimum"): each cluster aligned with its own bias, spins 0-7 down, 8-15 up."""
    return np.concatenate([-np.ones(8, np.int8), np.ones(8, np.int8)])


def torus_couplings(right: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Symmetric (N, N) couplings of a rows x cols torus from its bond arrays: right[r, c] couples (r, c)-(r, c+1),
    down[r, c] couples (r, c)-(r+1, c), indices mod the sides (site r * cols + c).  Sides must be >= 3 (a side of 2
    would put two bonds on one pair)."""
    rows, cols = right.shape
    if down.shape != (rows, cols) or rows < 3 or cols < 3:
        raise ValueError(f"right and down must share a shape (rows, cols) with sides >= 3; got {right.shape}, {down.shape}")
    J = np.zeros((rows * cols, rows * cols))
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            j = r * cols + (c + 1) % cols
            k = ((r + 1) % rows) * cols + c
            J[i, j] = J[j, i] = right[r, c]
            J[i, k] = J[k, i] = down[r, c]
    return J


def toroidal_spin_glass(side: int, seed: int, couplings: str = "gaussian", rows: int | None = None) -> Hamiltonian:
    """Nearest-neighbour spin glass on a side x side torus (paper "Hamiltonians": periodic couplings ~ N(0, 1), h = 0;
    thesis L2793); 'pm1' draws J = +-1 instead.  Instance = numpy default_rng(seed): first the (rows, side) rightward
    bonds, then the downward ones.  (The paper's test instances came from the Spin Glass Server; ours are generated.)"""
    rows = side if rows is None else rows
    if int(side) != side or side < 3 or int(rows) != rows or rows < 3:
        raise ValueError(f"side (and rows) must be integers >= 3; got side={side}, rows={rows}")
    if couplings not in ("gaussian", "pm1"):
        raise ValueError(f"couplings must be 'gaussian' or 'pm1'; got {couplings!r}")
    rng = np.random.default_rng(int(seed))
    if couplings == "gaussian":
        right, down = rng.standard_normal((rows, side)), rng.standard_normal((rows, side))
    else:
        right, down = rng.choice([-1.0, 1.0], (rows, side)), rng.choice([-1.0, 1.0], (rows, side))
    return Hamiltonian(torus_couplings(right, down), np.zeros(rows * side), name=f"sg{rows}x{side}-{seed}",
                       lattice=(int(rows), int(side)))


def ferromagnet(side: int, field: float = 0.0) -> Hamiltonian:
    """The toroidal nearest-neighbour ferromagnet, J = 1 (paper's value-function analysis, 16 x 16; thesis L2847)."""
    if int(side) != side or side < 3:
        raise ValueError(f"side must be an integer >= 3; got {side}")
    ones = np.ones((side, side))
    return Hamiltonian(torus_couplings(ones, ones), np.full(side * side, float(field)), name=f"ferro{side}",
                       lattice=(int(side), int(side)))


def random_replicas(n_reps: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n_reps, n) int8 initial replicas: each replica's spins are Bernoulli with its own p(up) ~ U(0, 1) (paper "The
    environment", thesis L2703; per-replica p is our reading, the released code shares one draw by all replicas)."""
    p = rng.random((n_reps, 1))
    return np.where(rng.random((n_reps, n)) < p, 1, -1).astype(np.int8)


# --------------------------------------------------------------------------- Metropolis over replicas
@njit(cache=True)
def _anneal_kernel(spins, indptr, indices, weights, fields, betas, seed, accepted):
    """In place: for each replica, for each sweep s at inverse temperature betas[s], N random-site Metropolis
    proposals.  The local field of a site is read from its neighbour list; acceptance min(1, exp(-beta dE)).
    accepted[r, s] counts accepted flips of replica r in sweep s."""
    np.random.seed(seed)
    R, N = spins.shape
    S = betas.shape[0]
    for r in range(R):
        for s in range(S):
            beta = betas[s]
            acc = 0
            for _ in range(N):
                i = np.random.randint(N)
                f = fields[i]
                for p in range(indptr[i], indptr[i + 1]):
                    f += weights[p] * spins[r, indices[p]]
                dE = 2.0 * spins[r, i] * f  # H(flipped) - H(current)
                if dE <= 0.0 or np.random.random() < np.exp(-beta * dE):
                    spins[r, i] = -spins[r, i]
                    acc += 1
            accepted[r, s] = acc


def metropolis_anneal(hamiltonian: Hamiltonian, spins: np.ndarray, betas, seed: int) -> np.ndarray:
    """Anneal the replicas `spins` (R, N) int8 IN PLACE through one sweep per entry of `betas` (the schedule of the
    inverse temperature, one value per sweep); returns the (R, len(betas)) counts of accepted flips.  The random
    stream is numba's Mersenne twister seeded with `seed`, so a call is reproducible."""
    if spins.dtype != np.int8 or spins.ndim != 2 or spins.shape[1] != hamiltonian.n or not spins.flags.c_contiguous:
        raise ValueError(f"spins must be a C-contiguous int8 array (R, {hamiltonian.n}); got {spins.dtype} {spins.shape}")
    betas = np.ascontiguousarray(betas, dtype=np.float64).reshape(-1)
    if not np.isfinite(betas).all():
        raise ValueError("betas must be finite")
    accepted = np.zeros((spins.shape[0], len(betas)), np.int64)
    indptr, indices, weights = hamiltonian.csr
    _anneal_kernel(spins, indptr, indices, weights, hamiltonian.fields, betas, np.uint32(seed % 2**32), accepted)
    return accepted
