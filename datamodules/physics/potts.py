"""The modified (planar, continuous-spin) Potts model on an L x L torus.

Mills & Tamblyn, PRE 97, 032119 (2018), arXiv:1706.09779, Sec. IV "A modified Potts model", Eq. (2)
(thesis L1163-1177):

    E(theta) = J sum_<ij> cos(theta_i - theta_j),   J = 1,

over the 2 L^2 nearest-neighbour bonds of the periodic lattice, each bond once, with spins theta_i drawn uniformly
from [0, pi) ("a continuum of spins randomly generated on the interval [0, pi)").  The paper does not state the
lattice size or the neighbour set; 8 x 8 nearest neighbours with periodic boundaries is ours (the paper's other
models).  E lies in (-2L^2, 2L^2]; for uniform angles <cos(theta_i - theta_j)> = (2/pi)^2, so <E> = 2L^2 (2/pi)^2.

Pure numpy: no Lightning, nothing of ours.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["check_angles", "energy", "energy_loop", "random_angles", "ANGLE_MAX", "MEAN_BOND"]

MEAN_BOND = (2.0 / math.pi) ** 2  # <cos(a - b)> for a, b ~ U[0, pi): (<cos a>^2 + <sin a>^2) = 0 + (2/pi)^2
# the largest float32 below pi: float32(pi) rounds *up* past pi, so float32 angles are kept at or below this
ANGLE_MAX = float(np.nextafter(np.float32(math.pi), np.float32(0)))


def check_angles(angles, name: str = "angles", L: int | None = None) -> np.ndarray:
    """Return angles as a float64 array (B, L, L), or raise ValueError: square lattices (L >= 3, so that the
    periodic right and down neighbours are distinct bonds), finite values in [0, pi)."""
    try:
        a = np.asarray(angles.detach().cpu().numpy() if hasattr(angles, "detach") else angles, dtype=np.float64)
    except (TypeError, ValueError) as ex:
        raise ValueError(f"{name} must be real numbers (spin angles in [0, pi)); got {type(angles).__name__}") from ex
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[-1] != a.shape[-2] or a.shape[-1] < 3:
        raise ValueError(f"{name} must have shape (B, L, L) or (L, L) with square lattices, L >= 3; "
                         f"got {tuple(np.shape(angles))}")
    if L is not None and a.shape[-1] != L:
        raise ValueError(f"{name} must be {L}x{L} lattices; got {a.shape[-2]}x{a.shape[-1]}")
    if a.size and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if a.size and (a.min() < 0 or a.max() >= math.pi):
        raise ValueError(f"{name} must lie in [0, pi) (the paper's spin interval); got values in "
                         f"[{a.min():.6g}, {a.max():.6g}]")
    return a


def energy(angles, J: float = 1.0) -> np.ndarray:
    """Total energy in J of (B, L, L) or (L, L) angles -> (B,) float64: right and down bonds, each bond once."""
    t = check_angles(angles)
    return J * (np.cos(t - np.roll(t, -1, axis=-1)) + np.cos(t - np.roll(t, -1, axis=-2))).sum(axis=(-1, -2))


def energy_loop(angles, J: float = 1.0) -> np.ndarray:
    """The same energy by an explicit loop over the bond list (the reference `energy` is tested against)."""
    t = check_angles(angles)
    L = t.shape[-1]
    bonds = {tuple(sorted(((x, y), (x2, y2)))) for x in range(L) for y in range(L)
             for x2, y2 in (((x + 1) % L, y), (x, (y + 1) % L))}
    if len(bonds) != 2 * L * L:
        raise AssertionError(f"bond list has {len(bonds)} bonds, expected 2 L^2 = {2 * L * L}")
    out = np.zeros(len(t))
    for b in range(len(t)):
        out[b] = J * sum(math.cos(t[b][p] - t[b][q]) for p, q in bonds)
    return out


def random_angles(n: int, L: int, seed=0, dtype=np.float32) -> np.ndarray:
    """n configurations of L x L angles uniform in [0, pi) (PRE 97, 032119, Sec. IV; thesis L1175), as `dtype`
    (float32 by default, clipped below pi so that the stored angle is still in [0, pi))."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.0, math.pi, size=(n, L, L)).astype(dtype)
    return np.minimum(a, dtype(ANGLE_MAX)) if np.dtype(dtype) == np.float32 else a
