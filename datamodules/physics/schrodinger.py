"""One electron in a 2-D confining potential (Mills, Spanner & Tamblyn, PRA 96, 042113 (2017); arXiv:1702.01361;
thesis Sec. 3.2): the finite-difference solver, analytic references and the four potential
families.  Pure numpy/scipy.

Conventions
-----------
- Atomic units (hbar = m_e = 1): lengths in bohr, energies in hartree (Ha).  Results are usually
  quoted in mHa.
- Grid: x = y = linspace(-20, 20, n) bohr with n a power of two (the paper: 256, PRA 96, 042113, Sec. II.B; thesis L1336), spacing
  h = 40 / (n - 1).  A potential is an (n, n) array indexed V[iy, ix] = V(x[ix], y[iy]) (row = y,
  as an image).
- Hamiltonian: H = -1/2 (5-point Laplacian) + diag(V) on the n^2 grid points, Dirichlet walls
  (psi = 0 one spacing outside the grid).  With 256^2 it reproduces the paper's 0.12 mHa SHO check
  (ours: measured with tests/datamodules/physics/test_schrodinger.py; the paper's check is Sec. II.B).  The lowest states come from sparse shift-invert `eigsh` around min V
  with a fixed start vector, so a solve is deterministic.

Potential families (every generator takes `seed` (int, SeedSequence or Generator) and `n`, draws its
parameters first, with a fixed number of draws, and then evaluates V on the n-point grid, so one
seed gives the same physical potential at every n; it returns (V, params)):

- `sho`: Eq. B1 / Table I, V = 1/2 [kx (x-cx)^2 + ky (y-cy)^2] with k ~ U[0, 0.16], c ~ U[-8, 8],
  clipped at 20 Ha.
- `infinite_well`: Eq. B2-B3 and the energy-first recipe of App. B.2 (thesis L1504): E ~ U[0, 0.4] Ha, Lx ~ U[4, 15],
  Ly = 1/sqrt(2E/pi^2 - 1/Lx^2), 50 % swap; V = 0 inside, 20 Ha outside.  Our choices for what the
  paper leaves open: Ly <= IW_MAX_SIDE (36 bohr, so the well fits in the 40-bohr box); for a drawn E
  Lx is redrawn until Ly is valid ("keep trying", PRA 96, 042113, App. B.2; thesis L1504), and E itself is redrawn only when no
  Lx in [4, 15] can work (E < IW_MIN_ENERGY = 1/2 pi^2 (15^-2 + 36^-2) = 25.7 mHa), so E is uniform
  on [25.7, 400] mHa; centres c ~ U[-8, 8] narrowed so the well stays inside |x| <= 19 bohr.
- `double_inverted_gaussian`: Eq. B4 / Table II (A ~ U[2, 4], c ~ U[-8, 8], k ~ U[1.6, 8]).  As
  written it gives e0 in [-5.5, -2.2] Ha (ours: measured).  OUR CONVENTION: shift so that min V = 0 and
  multiply by DIG_ENERGY_SCALE = 0.12, i.e. V = 0.12 (V_B4 - min V_B4) (wells 0.24-0.48 Ha deep
  instead of 2-4 Ha; the scale was calibrated so that e0 stays below 400 mHa).  Measured e0 on 120
  draws (seeds 0-119) at 128^2: 93-392 mHa (5 %/50 %/95 %: 127/185/300 mHa).
- `random_potential`: the Table III blob procedure on the paper's 256-pixel canvas (pixel units for
  sigma_1, sigma_2, R), resampled to n points by cubic interpolation.  The recipe (App. B.4)
  is incomplete: OUR CONVENTION: the blurred binary image is min-max normalised to [0, 1] before the
  mask (so V^d is defined), the blob is centred, and after V := max V - V the potential is scaled so
  that its maximum is RANDOM_MAX_V = 0.6 Ha (not the 20 Ha of "a maximum of 20.0 at the boundary",
  which gives e0 of 0.4-3 Ha).  Measured e0 on 120 draws (seeds 0-119) at 128^2: 45-419 mHa
  (5 %/50 %/95 %: 53/190/359 mHa).
- For reference, same measurement: SHO 84-386 mHa, IW (solver, 20 Ha walls) 26-346 mHa.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.interpolate import CubicSpline
from scipy.sparse.linalg import eigsh
from scipy.spatial import ConvexHull, QhullError

__all__ = ["BOX", "V_MAX", "FAMILIES", "grid", "spacing", "check_grid", "check_potential", "hamiltonian",
           "kinetic_operator", "solve", "Solution", "sho_e0", "sho_e1", "infinite_well_e0", "infinite_well_e1",
           "sho", "infinite_well", "double_inverted_gaussian", "random_potential", "generate"]

BOX = 20.0          # the domain is [-BOX, BOX]^2 bohr (PRA 96, 042113, Sec. II.B; thesis L1336)
V_MAX = 20.0        # "numerical infinity": SHO clip and IW walls (PRA 96, 042113, App. B.1; thesis L1469, L1504)
IW_MAX_SIDE = 36.0  # our cap on the derived well side (the paper's Ly is unbounded)
IW_MIN_ENERGY = 0.5 * math.pi ** 2 * (1 / 15.0 ** 2 + 1 / IW_MAX_SIDE ** 2)
DIG_ENERGY_SCALE = 0.12  # ours: V = DIG_ENERGY_SCALE * (V_B4 - min V_B4)
RANDOM_MAX_V = 0.6      # ours: max of the random potential, Ha
RANDOM_CANVAS = 256      # the paper builds random potentials as 256-pixel images


# --------------------------------------------------------------------------- grid and input checks
def check_grid(n, name: str = "n") -> int:
    """n must be an integer power of two >= 8; returns it as int."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 8 or n & (n - 1):
        raise ValueError(f"{name} must be a power of two >= 8 (grid points per side, paper: 256); got {n!r}")
    return int(n)


def grid(n: int = 256) -> np.ndarray:
    """The coordinates x = y = linspace(-20, 20, n) bohr."""
    return np.linspace(-BOX, BOX, check_grid(n))


def spacing(n: int) -> float:
    return 2 * BOX / (check_grid(n) - 1)


def check_potential(V, name: str = "V", n: int | None = None, batched: bool = False) -> np.ndarray:
    """Return V as a float64 array of shape (n, n) (or (B, n, n) when batched), or raise ValueError
    naming the problem: not finite, not square, not a power-of-two grid, or not the expected n."""
    a = np.asarray(V)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ValueError(f"{name} must be a real numeric array (hartree); got dtype {a.dtype}")
    want = 3 if batched else 2
    if batched and a.ndim == 2:
        a = a[None]
    if a.ndim != want or a.shape[-1] != a.shape[-2]:
        form = "(B, n, n) or (n, n)" if batched else "(n, n)"
        raise ValueError(f"{name} must have shape {form} with a square grid; got {tuple(a.shape)}")
    check_grid(a.shape[-1], f"{name}'s grid size")
    if n is not None and a.shape[-1] != n:
        raise ValueError(f"{name} must be sampled on the {n}x{n} grid x = y = linspace(-20, 20, {n}); "
                         f"got {a.shape[-2]}x{a.shape[-1]}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf; potentials must be finite (walls are 20 Ha)")
    return a.astype(np.float64, copy=False)


# --------------------------------------------------------------------------- solver
def _lap1d(n: int, h: float) -> sp.csr_matrix:
    return sp.diags([np.ones(n - 1), -2.0 * np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csr") / h ** 2


def kinetic_operator(n: int) -> sp.csr_matrix:
    """T = -1/2 Laplacian, 5-point stencil, Dirichlet walls, on the flattened (row-major) n x n grid."""
    h = spacing(n)
    D, I = _lap1d(n, h), sp.identity(n, format="csr")
    return (-0.5 * (sp.kron(I, D) + sp.kron(D, I))).tocsr()


def hamiltonian(V) -> sp.csc_matrix:
    V = check_potential(V)
    return (kinetic_operator(V.shape[0]) + sp.diags(V.ravel())).tocsc()


class Solution(NamedTuple):
    e0: float        # ground-state energy, Ha
    e1: float        # first excited state, Ha (nan if n_states == 1)
    kinetic: float   # <psi0|T|psi0>, Ha
    psi0: np.ndarray  # (n, n), positive, normalised so that sum |psi0|^2 h^2 = 1


def solve(V, n_states: int = 2) -> Solution:
    """Lowest eigenstates of H = T + V on V's grid (shift-invert Lanczos around min V)."""
    V = check_potential(V)
    if n_states < 1:
        raise ValueError(f"n_states must be >= 1; got {n_states}")
    n = V.shape[0]
    T = kinetic_operator(n)
    H = (T + sp.diags(V.ravel())).tocsc()
    v0 = np.ones(n * n)  # fixed start vector: deterministic, and it overlaps the (positive) ground state
    vals, vecs = eigsh(H, k=n_states, sigma=float(V.min()) - 1e-3, which="LM", v0=v0)
    order = np.argsort(vals)
    vals, vecs = vals[order], vecs[:, order]
    v = vecs[:, 0] / np.linalg.norm(vecs[:, 0])
    if v.sum() < 0:
        v = -v
    kin = float(v @ (T @ v))
    h = spacing(n)
    return Solution(float(vals[0]), float(vals[1]) if n_states > 1 else float("nan"), kin, (v / h).reshape(n, n))


# --------------------------------------------------------------------------- analytic references
def sho_e0(kx, ky):
    """Ground state of 1/2 [kx x^2 + ky y^2] (PRA 96, 042113, Sec. II.B; thesis L1345): (sqrt kx + sqrt ky) / 2."""
    return 0.5 * (np.sqrt(kx) + np.sqrt(ky))


def sho_e1(kx, ky):
    """First excited state: one quantum in the softer direction."""
    return sho_e0(kx, ky) + np.minimum(np.sqrt(kx), np.sqrt(ky))


def infinite_well_e0(Lx, Ly):
    """Ground state of the infinite Lx x Ly well (PRA 96, 042113, Sec. II.B; thesis L1347): pi^2/2 (Lx^-2 + Ly^-2)."""
    return 0.5 * np.pi ** 2 * (np.asarray(Lx, float) ** -2 + np.asarray(Ly, float) ** -2)


def infinite_well_e1(Lx, Ly):
    Lx, Ly = np.asarray(Lx, float), np.asarray(Ly, float)
    return 0.5 * np.pi ** 2 * np.minimum(4 / Lx ** 2 + 1 / Ly ** 2, 1 / Lx ** 2 + 4 / Ly ** 2)


# --------------------------------------------------------------------------- generators
def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _mesh(n: int):
    x = grid(n)
    return np.meshgrid(x, x, indexing="xy")  # X[iy, ix] = x[ix], Y[iy, ix] = y[iy]


def sho(seed=None, n: int = 256) -> tuple[np.ndarray, dict]:
    """Table I simple harmonic oscillator, clipped at 20 Ha.  params: kx, ky, cx, cy, e0 and e1 (analytic)."""
    r = _rng(seed)
    kx, ky = r.uniform(0.0, 0.16, 2)
    cx, cy = r.uniform(-8.0, 8.0, 2)
    X, Y = _mesh(n)
    V = np.minimum(0.5 * (kx * (X - cx) ** 2 + ky * (Y - cy) ** 2), V_MAX)
    p = dict(kx=kx, ky=ky, cx=cx, cy=cy, e0=sho_e0(kx, ky), e1=sho_e1(kx, ky))
    return V, {k: float(v) for k, v in p.items()}


def infinite_well(seed=None, n: int = 256) -> tuple[np.ndarray, dict]:
    """Eq. B2-B3 with the energy drawn first (PRA 96, 042113, App. B.2; thesis L1504); see the module docstring for our choices.
    params: E (the drawn energy = analytic e0), Lx, Ly, cx, cy, e0, e1 (analytic, infinite walls)."""
    r = _rng(seed)
    while True:
        E = r.uniform(0.0, 0.4)
        # smallest Lx for which Ly <= IW_MAX_SIDE: 1/Lx^2 <= 2E/pi^2 - 1/IW_MAX_SIDE^2
        rest = 2 * E / math.pi ** 2 - 1 / IW_MAX_SIDE ** 2
        if rest > 0 and 1 / math.sqrt(rest) <= 15.0:
            break
    while True:
        Lx = r.uniform(4.0, 15.0)
        q = 2 * E / math.pi ** 2 - 1 / Lx ** 2
        if q > 0 and 1 / math.sqrt(q) <= IW_MAX_SIDE:
            Ly = 1 / math.sqrt(q)
            break
    if r.uniform() < 0.5:
        Lx, Ly = Ly, Lx
    u = r.uniform(-1.0, 1.0, 2)
    cx = u[0] * min(8.0, BOX - 1 - Lx / 2)
    cy = u[1] * min(8.0, BOX - 1 - Ly / 2)
    X, Y = _mesh(n)
    inside = (X > cx - Lx / 2) & (X <= cx + Lx / 2) & (Y > cy - Ly / 2) & (Y <= cy + Ly / 2)
    V = np.where(inside, 0.0, V_MAX)
    p = dict(E=E, Lx=Lx, Ly=Ly, cx=cx, cy=cy, e0=infinite_well_e0(Lx, Ly), e1=infinite_well_e1(Lx, Ly))
    return V, {k: float(v) for k, v in p.items()}


def double_inverted_gaussian(seed=None, n: int = 256) -> tuple[np.ndarray, dict]:
    """Eq. B4 / Table II, then V = DIG_ENERGY_SCALE * (V - min V) (our energy convention)."""
    r = _rng(seed)
    A = r.uniform(2.0, 4.0, 2)
    c = r.uniform(-8.0, 8.0, (2, 2))   # [well, (x, y)]
    k = r.uniform(1.6, 8.0, (2, 2))
    X, Y = _mesh(n)
    raw = sum(-A[i] * np.exp(-((X - c[i, 0]) / k[i, 0]) ** 2 - ((Y - c[i, 1]) / k[i, 1]) ** 2) for i in range(2))
    # min V_B4 from a fine fixed grid (independent of n, so the same seed is the same potential at every n)
    Xf, Yf = _mesh(512)
    raw_min = float(sum(-A[i] * np.exp(-((Xf - c[i, 0]) / k[i, 0]) ** 2 - ((Yf - c[i, 1]) / k[i, 1]) ** 2)
                        for i in range(2)).min())
    V = DIG_ENERGY_SCALE * (raw - raw_min)
    p = dict(A1=A[0], A2=A[1], cx1=c[0, 0], cy1=c[0, 1], cx2=c[1, 0], cy2=c[1, 1], kx1=k[0, 0], ky1=k[0, 1],
             kx2=k[1, 0], ky2=k[1, 1], min_V_B4=raw_min, scale=DIG_ENERGY_SCALE)
    return np.maximum(V, 0.0), {k_: float(v) for k_, v in p.items()}


def _blob_mask(r: np.random.Generator, size: int = 200) -> tuple[np.ndarray, int]:
    """Table III blob: k^2 random points on a 200x200 grid, their convex-hull vertices joined by a
    closed (periodic) cubic spline, filled."""
    k = int(r.integers(2, 8))
    while True:
        pts = r.integers(0, size, (k * k, 2)).astype(float)
        try:
            hull = ConvexHull(pts)
        except QhullError:  # all points collinear: draw again
            continue
        if hull.volume > 1.0:
            break
    v = pts[hull.vertices]                      # counter-clockwise
    closed = np.vstack([v, v[:1]])
    t = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))])
    spline = CubicSpline(t, closed, bc_type="periodic")
    curve = spline(np.linspace(0, t[-1], 8 * int(t[-1]) + 64))
    ij = np.clip(np.rint(curve).astype(int), 0, size - 1)
    mask = np.zeros((size, size), bool)
    mask[ij[:, 1], ij[:, 0]] = True
    return ndimage.binary_fill_holes(mask), len(v)


def random_potential(seed=None, n: int = 256) -> tuple[np.ndarray, dict]:
    """Table III random potential (PRA 96, 042113, App. B.4; thesis L1528-1545) with our normalisation (module docstring)."""
    r = _rng(seed)
    N = RANDOM_CANVAS
    big = np.kron(r.integers(0, 2, (16, 16)), np.ones((N // 16, N // 16)))
    small = np.kron(r.integers(0, 2, (16, 16)), np.ones((N // 32, N // 32)))
    img = big.astype(float)
    o = N // 4
    img[o:o + N // 2, o:o + N // 2] -= small
    s1 = r.uniform(6.0, 10.0)
    img = ndimage.gaussian_filter(img, s1, mode="constant")
    img = (img - img.min()) / max(img.max() - img.min(), 1e-12)
    blob, n_hull = _blob_mask(r)
    R = int(r.integers(80, 181))
    blob = ndimage.zoom(blob.astype(float), R / blob.shape[0], order=1)[:R, :R]
    mask = np.zeros((N, N))
    a = (N - blob.shape[0]) // 2
    mask[a:a + blob.shape[0], a:a + blob.shape[1]] = blob
    s2 = r.uniform(10.0, 16.0)
    mask = ndimage.gaussian_filter(mask, s2, mode="constant")
    d = float(r.choice([0.1, 0.5, 1.0, 2.0]))
    V = np.clip(mask * img, 0.0, None) ** d
    V = V.max() - V
    V *= RANDOM_MAX_V / max(V.max(), 1e-12)
    if n != N:
        check_grid(n)
        idx = np.linspace(0, N - 1, n)
        V = ndimage.map_coordinates(V, np.meshgrid(idx, idx, indexing="ij"), order=3, mode="nearest")
        V = np.clip(V, 0.0, RANDOM_MAX_V)
    p = dict(sigma1=s1, k_hull_points=n_hull, R=R, sigma2=s2, d=d, max_V=RANDOM_MAX_V)
    return V, {k_: float(v) for k_, v in p.items()}


FAMILIES = {"sho": sho, "iw": infinite_well, "dig": double_inverted_gaussian, "random": random_potential}


def generate(family: str, seed=None, n: int = 256) -> tuple[np.ndarray, dict]:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {tuple(FAMILIES)}; got {family!r}")
    return FAMILIES[family](seed, n)
