"""Synthetic "atoms as pictures" system for the EDNN PROXY (Mills et al., Chem. Sci. 10, 4129 (2019), arXiv:1708.06686, thesis section 3.3-3.4).

THIS IS A PROXY, NOT DFT.  The paper labels hexagonal graphene / hBN sheets with PBE total energies (Chem. Sci. 2019 Sec. 3.2.1, thesis L1816-1834); no
DFT code or data set is reachable here, so the label is an analytic short-range pair energy of our own design.  What
is kept from the paper is the representation (thesis Sec. 3.3, Eq. (3.1), thesis L1637-1643; EDNN Eq. 2, Chem. Sci. 2019 Sec. 3.2.1, Eq. (2), thesis L1818):

    V(x, y) = sum_i Z_i exp(-[(x - x_i)^2 + (y - y_i)^2] / (2 gamma^2)),   gamma = 0.2 Angstrom (thesis Sec. 3.3, thesis L1641, Chem. Sci. 2019 Sec. 3.2.1, thesis L1832),

on a periodic 2-D cell, periodic images included, with Z = 5 / 6 / 7 for B / C / N.

Energy (ours): E = 1/2 sum_i sum_{j, n} phi_{s_i s_j}(|r_j + n.L - r_i|) over all atoms i and all periodic images
(j, n) except (i, 0), with a Morse pair potential per species pair
    phi(r) = D [(1 - exp(-alpha (r - r0)))^2 - 1] * S(r),
and a smooth cosine switch S(r) = 1 below R_SWITCH, 1/2 (1 + cos(pi (r - R_SWITCH) / (R_CUT - R_SWITCH))) up to R_CUT,
0 beyond (C^1 at both ends).  R_CUT = 2.2 Angstrom: first neighbours of the honeycomb (1.42-1.46 Angstrom) interact,
second neighbours (>= 2.46 Angstrom) do not.  The D / r0 values below are illustrative, not fitted to anything.

Pure numpy; imports nothing of ours.  Positions are in Angstrom, the cell is the rectangle [0, Lx) x [0, Ly); the
grid has pixel side `pixel` with pixel (row r, col c) at (x, y) = (c * pixel, r * pixel).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["SPECIES", "Z_OF", "GAMMA", "R_SWITCH", "R_CUT", "MORSE", "ALPHA", "pair_params", "pair_energy",
           "energy", "atom_energies", "render", "honeycomb_sites", "tile_structure", "check_structure",
           "FAMILIES", "random_sheet"]

SPECIES = ("B", "C", "N")
Z_OF = {"B": 5, "C": 6, "N": 7}
GAMMA = 0.2  # Angstrom, the paper's (thesis Sec. 3.3, thesis L1641)
R_SWITCH, R_CUT = 1.9, 2.2  # Angstrom, ours
ALPHA = 2.0  # 1 / Angstrom, ours, all pairs
# (D in eV, r0 in Angstrom) per unordered species pair: ours, loosely bond-energy-like, not fitted
MORSE = {
    ("C", "C"): (6.0, 1.42), ("B", "N"): (4.5, 1.45), ("B", "C"): (4.0, 1.50),
    ("C", "N"): (5.0, 1.40), ("B", "B"): (3.0, 1.60), ("N", "N"): (1.5, 1.45),
}


def pair_params() -> tuple[np.ndarray, np.ndarray]:
    """(D, r0) as 8 x 8 tables indexed by atomic number (only 5, 6, 7 are filled; NaN elsewhere)."""
    D = np.full((8, 8), np.nan)
    r0 = np.full((8, 8), np.nan)
    for (a, b), (d, r) in MORSE.items():
        for p, q in ((a, b), (b, a)):
            D[Z_OF[p], Z_OF[q]], r0[Z_OF[p], Z_OF[q]] = d, r
    return D, r0


_D, _R0 = pair_params()


def switch(r: np.ndarray) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    t = np.clip((r - R_SWITCH) / (R_CUT - R_SWITCH), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * t))


def pair_energy(r, za, zb) -> np.ndarray:
    """phi_{za zb}(r) in eV (atomic numbers za, zb in {5, 6, 7}); exactly 0 for r >= R_CUT."""
    r = np.asarray(r, dtype=np.float64)
    za, zb = np.asarray(za), np.asarray(zb)
    D, r0 = _D[za, zb], _R0[za, zb]
    morse = D * ((1.0 - np.exp(-ALPHA * (r - r0))) ** 2 - 1.0)
    return np.where(r < R_CUT, morse * switch(r), 0.0)


def check_structure(pos, Z, cell) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Validate (N, 2) positions, (N,) atomic numbers in {5, 6, 7} and a (Lx, Ly) cell; positions are wrapped."""
    pos = np.asarray(pos, dtype=np.float64)
    Z = np.asarray(Z)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ValueError(f"positions must be (N, 2) in Angstrom; got shape {pos.shape}")
    if Z.shape != (len(pos),):
        raise ValueError(f"Z must be (N,) = ({len(pos)},) atomic numbers; got shape {Z.shape}")
    if not np.isfinite(pos).all():
        raise ValueError("positions contain NaN or inf")
    if len(Z) and not np.isin(Z, (5, 6, 7)).all():
        raise ValueError(f"Z must be 5 (B), 6 (C) or 7 (N); got {sorted(set(np.asarray(Z).tolist()))}")
    Lx, Ly = (float(v) for v in cell)
    if not (Lx > 0 and Ly > 0):
        raise ValueError(f"cell must be two positive lengths (Lx, Ly) in Angstrom; got {cell}")
    return np.mod(pos, [Lx, Ly]), Z.astype(np.int64), (Lx, Ly)


def _image_shifts(cell, r_cut) -> np.ndarray:
    kx, ky = math.ceil(r_cut / cell[0]), math.ceil(r_cut / cell[1])
    return np.array([(i * cell[0], j * cell[1]) for i in range(-kx, kx + 1) for j in range(-ky, ky + 1)])


def atom_energies(pos, Z, cell) -> np.ndarray:
    """Per-atom energies e_i = 1/2 sum_{(j, n) != (i, 0)} phi(|r_j + n.L - r_i|) (eV); E = sum_i e_i."""
    pos, Z, cell = check_structure(pos, Z, cell)
    N = len(pos)
    e = np.zeros(N)
    if N == 0:
        return e
    d0 = pos[None, :, :] - pos[:, None, :]  # (i, j, 2): r_j - r_i
    eye = np.eye(N, dtype=bool)
    for s in _image_shifts(cell, R_CUT):
        r = np.hypot(d0[..., 0] + s[0], d0[..., 1] + s[1])
        near = r < R_CUT
        if s[0] == 0 and s[1] == 0:
            near &= ~eye  # no self-interaction
        ii, jj = np.nonzero(near)
        if len(ii):
            np.add.at(e, ii, 0.5 * pair_energy(r[ii, jj], Z[ii], Z[jj]))
    return e


def energy(pos, Z, cell) -> float:
    """Total pair energy (eV) of a periodic cell, all periodic images within R_CUT included."""
    return float(atom_energies(pos, Z, cell).sum())


def render(pos, Z, cell_px: tuple[int, int], pixel: float, gamma: float = GAMMA) -> np.ndarray:
    """V on the (H, W) = cell_px grid (rows along y), cell (W * pixel, H * pixel), periodic images included.

    exp(-r^2 / 2 gamma^2) factorises into x and y parts, so V = Gy^T diag(Z) Gx with per-atom periodic 1-D Gaussians
    (images out to 8 gamma, beyond which a term is below exp(-32))."""
    H, W = (int(v) for v in cell_px)
    if H < 1 or W < 1:
        raise ValueError(f"cell_px must be two positive pixel counts (H, W); got {cell_px}")
    if not pixel > 0 or not gamma > 0:
        raise ValueError(f"pixel and gamma must be > 0 Angstrom; got {pixel}, {gamma}")
    pos, Z, (Lx, Ly) = check_structure(pos, Z, (W * pixel, H * pixel))

    def gauss(coord, n, L):
        grid = np.arange(n) * pixel
        k = math.ceil(8 * gamma / L)
        d = grid[None, :] - coord[:, None]
        return sum(np.exp(-(d + m * L) ** 2 / (2 * gamma ** 2)) for m in range(-k - 1, k + 2))

    gx, gy = gauss(pos[:, 0], W, Lx), gauss(pos[:, 1], H, Ly)
    return (gy.T @ (Z[:, None] * gx)).astype(np.float32)


def honeycomb_sites(units: tuple[int, int], cell: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Sites of a honeycomb sheet filling `cell` with units = (nx, ny) rectangular 4-atom cells (armchair along y):
    in each unit of size (a, b) = (Lx / nx, Ly / ny): (0, 0), (0, b/3), (a/2, b/2), (a/2, 5b/6).  Returns positions
    (4 nx ny, 2) and the sublattice (0 / 1) of each site.  With a = 2.56, b = 4.267 Angstrom (our 5 x 3 units in
    12.8 x 12.8 Angstrom) bonds are 1.42 (along y) and 1.46 Angstrom (a slightly strained graphene)."""
    nx, ny = (int(v) for v in units)
    if nx < 1 or ny < 1:
        raise ValueError(f"units must be two positive integers; got {units}")
    a, b = cell[0] / nx, cell[1] / ny
    basis = np.array([[0, 0], [0, b / 3], [a / 2, b / 2], [a / 2, 5 * b / 6]])
    sub = np.array([0, 1, 0, 1])
    ij = np.array([(i, j) for j in range(ny) for i in range(nx)], dtype=np.float64)
    pos = (ij[:, None, :] * [a, b] + basis[None]).reshape(-1, 2)
    return pos, np.tile(sub, nx * ny)


def tile_structure(pos, Z, cell, reps: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The (rx x ry) supercell of a periodic structure."""
    pos, Z, (Lx, Ly) = check_structure(pos, Z, cell)
    rx, ry = reps
    shifts = np.array([(i * Lx, j * Ly) for j in range(ry) for i in range(rx)])
    return (pos[None] + shifts[:, None]).reshape(-1, 2), np.tile(Z, rx * ry), (rx * Lx, ry * Ly)


FAMILIES = ("graphene", "hBN", "hetero", "alloy")


def random_sheet(units: tuple[int, int], cell: tuple[float, float], rng: np.random.Generator,
                 vacancy_max: float = 0.15, disp_max: float = 0.1,
                 family: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """A random periodic C/B/N honeycomb sheet (our design, standing in for the paper's crystalline and defective
    graphene / hBN / heterostructure sheets, Chem. Sci. 2019 Sec. 3, thesis L1802, Chem. Sci. 2019 Sec. 3.2.1, thesis L1816-1834):

    - family, uniform over FAMILIES unless given: 'graphene' (all C); 'hBN' (B on one sublattice, N on the other,
      which one is random); 'hetero' (a graphene stripe of random width 20-80 % of the cell in x, hBN elsewhere:
      two armchair/zigzag interfaces); 'alloy' (each site C/B/N independently, composition ~ Dirichlet(1, 1, 1));
    - vacancies: each site removed with probability p ~ U(0, vacancy_max) (one p per sheet);
    - displacements: iid Gaussian per coordinate with sigma ~ U(0, disp_max) Angstrom (one sigma per sheet);
    - a uniform random translation of the whole sheet (so no feature is pinned to the grid).
    Returns positions (N, 2) wrapped into the cell, Z (N,), and the family.
    """
    family = FAMILIES[rng.integers(len(FAMILIES))] if family is None else family
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}; got {family!r}")
    pos, sub = honeycomb_sites(units, cell)
    n = len(pos)
    if family == "graphene":
        Z = np.full(n, 6)
    elif family in ("hBN", "hetero"):
        flip = rng.integers(2)
        Z = np.where(sub == flip, 5, 7)
        if family == "hetero":
            width = rng.uniform(0.2, 0.8) * cell[0]
            Z = np.where(pos[:, 0] < width, 6, Z)
    else:
        p = rng.dirichlet([1.0, 1.0, 1.0])
        Z = rng.choice([5, 6, 7], size=n, p=p)
    keep = rng.random(n) >= rng.uniform(0.0, vacancy_max)
    pos, Z = pos[keep], Z[keep]
    pos = pos + rng.normal(0.0, rng.uniform(0.0, disp_max), size=pos.shape) + rng.uniform(0, 1, 2) * cell
    return np.mod(pos, cell), Z.astype(np.int64), family
