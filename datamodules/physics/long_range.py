"""Long-range Ising Hamiltonians on an L x L torus: screened Coulomb and its sinusoidal modification.

Mills & Tamblyn, PRE 97, 032119 (2018), arXiv:1706.09779, Sec. IV "Long-range interactions", Eq. (1)
(thesis L1135-1159).  Both are antiferromagnetic pair sums over every spin j of the cell *and all its periodic
images* j' within a cutoff (the paper's r_cut = 64 = 8 cell lengths for 8x8):

    E(s) = (J/2) sum_i sum_{j'} s_i s_j f(r_ij'),   0 < r_ij' <= r_cut,   J = 1, lattice constant 1,
    f(r) = exp(-k r) / r                  (screened Coulomb)
    f(r) = exp(-k r) / r * sin(r)         (sinusoidal, Eq. 1)

The 1/2 counts each pair once; i's own images (j = i, r = L|n|) are included and add the same constant to every
configuration.  The paper does not state k (nor the 1/2 or the self-image convention); k = 0.5 is ours.

The paper sums the images explicitly for every configuration (on a GPU).  Every image of j couples to i with the
same spin product, so the sum folds once into an N x N effective coupling matrix
K_ij = sum_{n : 0 < |r_j - r_i + L n| <= r_cut} f(|r_j - r_i + L n|) and a batch of energies is E = (J/2) s K s^T:
one matrix product.  `energy_naive` keeps the explicit image sum as the independent reference.

Pure numpy: no Lightning, nothing of ours beyond the Ising spin check.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .ising import check_spins

__all__ = ["KINDS", "pair_potential", "coupling_matrix", "energy", "energy_naive", "checkerboard", "check_params"]

KINDS = ("screened", "sinusoidal")
DEFAULT_K, DEFAULT_R_CUT = 0.5, 64.0  # k: ours (unstated in the paper); r_cut: the paper's (thesis L1135)


def check_params(L: int, k: float, r_cut: float, kind: str) -> tuple[int, float, float, str]:
    """Validate and normalise the Hamiltonian's parameters (ValueError naming the argument)."""
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2:
        raise ValueError(f"L must be an integer >= 2 (lattice side); got {L!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    try:
        k, r_cut = float(k), float(r_cut)
    except (TypeError, ValueError) as ex:
        raise ValueError(f"k and r_cut must be real numbers; got k={k!r}, r_cut={r_cut!r}") from ex
    if not (math.isfinite(k) and k > 0):
        # k = 0 is the bare Coulomb sum, conditionally convergent: the answer would depend on the cutoff shape
        raise ValueError(f"k (screening constant) must be finite and > 0; got {k!r}")
    if not (math.isfinite(r_cut) and r_cut >= 1):
        raise ValueError(f"r_cut must be finite and >= 1 (at least the nearest neighbours); got {r_cut!r}")
    return int(L), k, r_cut, kind


def pair_potential(r, k: float = DEFAULT_K, kind: str = "screened") -> np.ndarray:
    """f(r) of the chosen Hamiltonian for r > 0 (J = 1)."""
    r = np.asarray(r, dtype=np.float64)
    f = np.exp(-k * r) / r
    return f * np.sin(r) if kind == "sinusoidal" else f


@functools.lru_cache(maxsize=16)
def _coupling(L: int, k: float, r_cut: float, kind: str) -> np.ndarray:
    # K_ij depends only on the displacement (dx, dy) = (x_j - x_i, y_j - y_i) mod L: sum the images once per
    # displacement, g[dx, dy] = sum_n f(|(dx, dy) + L n|), then scatter to the N x N pairs
    n_img = int(math.ceil(r_cut / L)) + 1
    n = np.arange(-n_img, n_img + 1)
    d = np.arange(L)
    X = d[:, None, None, None] + L * n[None, None, :, None]  # (dx, ., nx, .)
    Y = d[None, :, None, None] + L * n[None, None, None, :]  # (., dy, ., ny)
    r = np.sqrt(X.astype(np.float64) ** 2 + Y ** 2)
    inside = (r > 0) & (r <= r_cut)
    f = np.where(inside, pair_potential(np.where(inside, r, 1.0), k, kind), 0.0)
    g = f.sum(axis=(2, 3))  # (L, L) over displacements
    xy = np.stack(np.meshgrid(d, d, indexing="ij"), -1).reshape(-1, 2)  # site index i = x * L + y (C order)
    dx = (xy[None, :, 0] - xy[:, None, 0]) % L
    dy = (xy[None, :, 1] - xy[:, None, 1]) % L
    K = g[dx, dy]
    K.setflags(write=False)
    return K


def coupling_matrix(L: int = 8, k: float = DEFAULT_K, r_cut: float = DEFAULT_R_CUT, kind: str = "screened"
                    ) -> np.ndarray:
    """The (L^2, L^2) effective coupling K (read-only, float64); E = (1/2) s K s^T with s flattened in C order."""
    return _coupling(*check_params(L, k, r_cut, kind))


def energy(spins, k: float = DEFAULT_K, r_cut: float = DEFAULT_R_CUT, kind: str = "screened") -> np.ndarray:
    """Total energy in J of (B, L, L) or (L, L) +-1 spins -> (B,) float64, by the folded coupling matrix."""
    s = check_spins(spins)
    L = s.shape[-1]
    K = coupling_matrix(L, k, r_cut, kind)
    x = s.reshape(len(s), -1).astype(np.float64)
    return 0.5 * np.einsum("bi,ij,bj->b", x, K, x, optimize=True)


def energy_naive(spins, k: float = DEFAULT_K, r_cut: float = DEFAULT_R_CUT, kind: str = "screened") -> np.ndarray:
    """The same energy by the explicit image sum (the paper's method, Sec. IV; thesis L1135): for every periodic
    image of the cell within reach, every pair (i in the cell, j' in the image) within r_cut, s_i s_j f(r_ij').
    O(images x N^2) per configuration: the reference the coupling matrix is tested against, and the speed baseline."""
    s = check_spins(spins)
    L = s.shape[-1]
    L, k, r_cut, kind = check_params(L, k, r_cut, kind)
    x = s.reshape(len(s), -1).astype(np.float64)
    d = np.arange(L)
    pos = np.stack(np.meshgrid(d, d, indexing="ij"), -1).reshape(-1, 2).astype(np.float64)  # (N, 2)
    n_img = int(math.ceil(r_cut / L)) + 1
    E = np.zeros(len(s))
    for nx in range(-n_img, n_img + 1):
        for ny in range(-n_img, n_img + 1):
            image = pos + L * np.array([nx, ny], dtype=np.float64)  # the cell's spins, shifted to image (nx, ny)
            diff = image[None, :, :] - pos[:, None, :]
            r = np.sqrt((diff ** 2).sum(-1))  # (i in the cell, j' in the image)
            inside = (r > 0) & (r <= r_cut)
            if not inside.any():
                continue
            f = np.zeros_like(r)
            f[inside] = pair_potential(r[inside], k, kind)
            E += 0.5 * np.einsum("bi,ij,bj->b", x, f, x)
    return E


def checkerboard(L: int = 8) -> np.ndarray:
    """The two Neel (checkerboard) configurations, (2, L, L) int8: the antiferromagnet's ground states."""
    c = np.where(np.add.outer(np.arange(L), np.arange(L)) % 2 == 0, 1, -1).astype(np.int8)
    return np.stack([c, -c])
