"""Disordered interacting transverse-field Ising chain: Durr & Chakravarty, PRB 100, 075102 (2019), arXiv:1903.05755
[DC19], adapted as ch. 1 of Durr's thesis ("thesis Sec. 1.x, Lnnn" = section and line of
shared/papers/durr-2022-thesis.txt).

    H = - sum_i [ J_i Z_i Z_{i+1} + h_i X_i + lambda ( hbar X_i X_{i+1} + Jbar Z_i Z_{i+2} ) ]   (thesis Sec. 1.3, L371)

Pauli matrices (eigenvalues +-1), open chain: L-1 nearest-neighbour bonds (J_i and the X X terms), L-2
next-nearest Z Z terms, L fields.  J_i and h_i are log-normal with std(log) = 1 and
Delta = mean log J - mean log h; we set mu_J = +Delta/2, mu_h = -Delta/2 (ours: only the difference matters, a
common shift rescales H).  Jbar and hbar are the means of those distributions (not of the sample):
`mean_convention="arithmetic"` (default, the literal reading of "means" in thesis Sec. 1.3, L373:
Jbar = exp(mu_J + 1/2)) or "geometric" (Jbar = exp(mu_J)); the two differ by e^{1/2} in the effective lambda.

Basis: computational Z basis, site 0 is the most significant bit, bit 0 -> Z = +1, bit 1 -> Z = -1.

Exact diagonalization is resolved into the two sectors of the parity P = prod_i X_i, which commutes with H
(thesis Sec. 1.3, L373).  P flips every bit, i.e. reverses the index (s -> 2^L - 1 - s).  Sector basis:
(|s> +- |~s>)/sqrt2 for the 2^(L-1) states s with bit 0 (site 0) = 0.  Without parity resolution, the SG cat-state
doublets (split by ~ prod h/J, far below double precision deep in the SG) come out of a full `eigh` as arbitrary
symmetry-broken mixtures: product-like states whose entanglement spectrum mimics the paramagnet (ours; the likely
origin of the asymmetry of DC19 Fig. 1.12, thesis L481).  `resolve_parity=False` keeps that form to show the
artifact.

Feature (thesis Sec. 1.3.1, L389): the 2^|A| eigenvalues of rho_A = Tr_B |psi><psi| for A = the middle 4 sites
(B, the outer sites, is not contiguous), sorted in descending order; the lowest and highest floor(0.1 n) states of
the spectrum are trimmed (thesis Sec. 1.3.1, footnote, L399).
"""
from __future__ import annotations

import math

import numpy as np

from .ising import seed_sequence  # one seeding rule for every simulator: (recipe hash, indices) -> stream

__all__ = ["MEAN_CONVENTIONS", "check_chain", "middle_region", "sample_couplings", "mean_couplings",
           "hamiltonian_kron", "hamiltonian_dense", "parity_blocks", "sector_to_full", "eigenstates",
           "rdm_spectrum", "entanglement_entropy", "entanglement_energies", "trim_count", "point_states",
           "js_distance_matrix", "js_distance", "confusion", "seed_sequence", "parity_expectation"]

MEAN_CONVENTIONS = ("arithmetic", "geometric")
ED_PATHS = ("exact", "chosen", "band")  # point_states(vectors=...): see _chosen_states
MAX_L = 16


# ----------------------------------------------------------------------------------------- validation
def check_chain(L: int) -> int:
    if not isinstance(L, (int, np.integer)) or isinstance(L, bool) or L < 3 or L > MAX_L:
        raise ValueError(f"L (chain length) must be an integer in [3, {MAX_L}]; got {L!r}")
    return int(L)


def middle_region(L: int, size: int = 4) -> tuple[int, ...]:
    """The `size` middle sites of an open chain of L sites (L=12, size 4 -> sites 4..7, 0-indexed;
    DC19 thesis Sec. 1.3.1, L389).

    The cut must leave at least one site of B on each side, and be centred: L - size must be even
    (an 'odd cut' has no middle), else ValueError."""
    L = check_chain(L)
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"region size must be a positive integer; got {size!r}")
    if L < size + 2:
        raise ValueError(f"L={L} is too small for a middle region of {size} sites (need L >= {size + 2}: "
                         f"one site of B on each side)")
    if (L - size) % 2:
        raise ValueError(f"odd cut: L - region size = {L - size} must be even to centre the region; "
                         f"got L={L}, size={size}")
    start = (L - size) // 2
    return tuple(range(start, start + size))


def _check_region(L: int, region) -> tuple[int, ...]:
    region = tuple(int(i) for i in region)
    if not region or len(set(region)) != len(region) or min(region) < 0 or max(region) >= L:
        raise ValueError(f"region must be distinct site indices in [0, {L}); got {region}")
    if len(region) >= L:
        raise ValueError(f"region {region} leaves no sites for B in a chain of L={L}")
    return tuple(sorted(region))


def _finite(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (no NaN/inf); got {x}")
    return x


# ----------------------------------------------------------------------------------------- couplings
def mean_couplings(delta: float, convention: str = "arithmetic") -> tuple[float, float]:
    """(Jbar, hbar): the means of the log-normal J and h distributions with mu_J = Delta/2, mu_h = -Delta/2."""
    if convention not in MEAN_CONVENTIONS:
        raise ValueError(f"mean_convention must be one of {MEAN_CONVENTIONS}; got {convention!r}")
    delta = float(_finite("delta", delta))
    shift = 0.5 if convention == "arithmetic" else 0.0  # E[e^X] = e^{mu + sigma^2/2}, sigma = 1
    return math.exp(delta / 2 + shift), math.exp(-delta / 2 + shift)


def sample_couplings(L: int, delta: float, lam: float, rng: np.random.Generator, n: int = 1,
                     mean_convention: str = "arithmetic", sigma: float = 1.0) -> dict:
    """n disorder realizations: J (n, L-1), h (n, L), lam_h = lambda*hbar, lam_J = lambda*Jbar (scalars).

    J is drawn first, then h, from `rng` (the order is part of the dataset definition)."""
    L = check_chain(L)
    lam = float(_finite("lam", lam))
    if lam < 0:
        raise ValueError(f"lam must be >= 0; got {lam}")
    if sigma <= 0:
        raise ValueError(f"sigma (std of log couplings) must be > 0; got {sigma}")
    Jbar, hbar = mean_couplings(delta, mean_convention)
    J = np.exp(rng.normal(delta / 2, sigma, size=(n, L - 1)))
    h = np.exp(rng.normal(-delta / 2, sigma, size=(n, L)))
    return {"J": J, "h": h, "lam_h": lam * hbar, "lam_J": lam * Jbar}


def _couplings_arrays(L, J, h, lam_h, lam_J, n=None):
    J = np.atleast_2d(_finite("J", J))
    h = np.atleast_2d(_finite("h", h))
    if J.shape[-1] != L - 1 or h.shape[-1] != L:
        raise ValueError(f"J must have L-1={L - 1} and h L={L} entries per realization; got {J.shape}, {h.shape}")
    if J.shape[0] != h.shape[0]:
        raise ValueError(f"J and h must hold the same number of realizations; got {J.shape[0]} and {h.shape[0]}")
    lam_h = np.broadcast_to(_finite("lam_h", lam_h), (J.shape[0],)).astype(np.float64)
    lam_J = np.broadcast_to(_finite("lam_J", lam_J), (J.shape[0],)).astype(np.float64)
    return J, h, lam_h, lam_J


# ----------------------------------------------------------------------------------------- Hamiltonians
_PAULI = {"I": np.eye(2), "X": np.array([[0.0, 1.0], [1.0, 0.0]]), "Z": np.diag([1.0, -1.0])}


def _kron_op(L: int, ops: dict[int, str]) -> np.ndarray:
    out = np.ones((1, 1))
    for i in range(L):
        out = np.kron(out, _PAULI[ops.get(i, "I")])
    return out


def hamiltonian_kron(L: int, J, h, lam_h: float, lam_J: float) -> np.ndarray:
    """Reference: the dense 2^L x 2^L H of one realization from Kronecker products of Pauli matrices
    (site 0 = leftmost factor = most significant bit).  Slow, independent of the fast builders."""
    L = check_chain(L)
    J, h, lam_h, lam_J = _couplings_arrays(L, J, h, lam_h, lam_J)
    J, h, lam_h, lam_J = J[0], h[0], lam_h[0], lam_J[0]
    H = np.zeros((2 ** L, 2 ** L))
    for i in range(L - 1):
        H -= J[i] * _kron_op(L, {i: "Z", i + 1: "Z"}) + lam_h * _kron_op(L, {i: "X", i + 1: "X"})
    for i in range(L):
        H -= h[i] * _kron_op(L, {i: "X"})
    for i in range(L - 2):
        H -= lam_J * _kron_op(L, {i: "Z", i + 2: "Z"})
    return H


def _zvals(L: int, states: np.ndarray) -> np.ndarray:
    """(n_states, L) Z eigenvalues (+1 for bit 0), site 0 = most significant bit."""
    bits = (states[:, None] >> (L - 1 - np.arange(L))[None, :]) & 1
    return 1.0 - 2.0 * bits


def _diagonal(L, states, J, lam_J):
    z = _zvals(L, states)
    zz1 = z[:, :-1] * z[:, 1:]  # (S, L-1)
    zz2 = (z[:, :-2] * z[:, 2:]).sum(1) if L > 2 else np.zeros(len(states))
    return -(J @ zz1.T) - lam_J[:, None] * zz2[None, :]  # (R, S)


def _flip_ops(L: int):
    """(mask, kind, index): X_i (kind 'h', i) and X_i X_{i+1} (kind 'xx')."""
    ops = [(1 << (L - 1 - i), "h", i) for i in range(L)]
    ops += [((1 << (L - 1 - i)) | (1 << (L - 2 - i)), "xx", i) for i in range(L - 1)]
    return ops


def hamiltonian_dense(L: int, J, h, lam_h, lam_J) -> np.ndarray:
    """(R, 2^L, 2^L) dense H in the full Z basis for R realizations (J: (R, L-1), h: (R, L))."""
    L = check_chain(L)
    J, h, lam_h, lam_J = _couplings_arrays(L, J, h, lam_h, lam_J)
    N = 2 ** L
    s = np.arange(N)
    H = np.zeros((J.shape[0], N, N))
    H[:, s, s] = _diagonal(L, s, J, lam_J)
    for mask, kind, i in _flip_ops(L):
        c = h[:, i] if kind == "h" else lam_h
        H[:, s ^ mask, s] -= c[:, None]
    return H


def parity_blocks(L: int, J, h, lam_h, lam_J) -> tuple[np.ndarray, np.ndarray]:
    """(H_+, H_-), each (R, 2^(L-1), 2^(L-1)), in the basis (|s> +- |~s>)/sqrt2, s = 0 .. 2^(L-1)-1.

    Built directly (never the full matrix): a flip operator maps |s>_+- to |s'>_+- where s' = s ^ mask,
    and to +-|~s'>_+- when s' lies in the other half (site 0 flipped)."""
    L = check_chain(L)
    J, h, lam_h, lam_J = _couplings_arrays(L, J, h, lam_h, lam_J)
    half = 2 ** (L - 1)
    full = 2 ** L - 1
    s = np.arange(half)
    diag = _diagonal(L, s, J, lam_J)
    Hp = np.zeros((J.shape[0], half, half))
    Hm = np.zeros_like(Hp)
    Hp[:, s, s] = diag
    Hm[:, s, s] = diag
    for mask, kind, i in _flip_ops(L):
        c = (h[:, i] if kind == "h" else lam_h)[:, None]
        t = s ^ mask
        wrap = t >= half
        t = np.where(wrap, full - t, t)
        sign = np.where(wrap, -1.0, 1.0)
        Hp[:, t, s] -= c
        Hm[:, t, s] -= c * sign
    return Hp, Hm


def sector_to_full(u: np.ndarray, parity: int) -> np.ndarray:
    """Sector eigenvectors u (..., 2^(L-1)) with P = parity (+1/-1) -> full-basis vectors (..., 2^L)."""
    if parity not in (1, -1):
        raise ValueError(f"parity must be +1 or -1; got {parity}")
    return np.concatenate([u, parity * u[..., ::-1]], axis=-1) / np.sqrt(2.0)


def parity_expectation(psi: np.ndarray) -> np.ndarray:
    """<P> = <psi| prod X |psi> of full-basis real vectors (..., 2^L)."""
    return np.einsum("...i,...i->...", psi, psi[..., ::-1])


def trim_count(n: int, trim: float) -> int:
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5); got {trim}")
    return int(math.floor(trim * n + 1e-9))


def eigenstates(L: int, J, h, lam_h, lam_J, resolve_parity: bool = True, trim: float = 0.1):
    """Eigenpairs of R realizations with the lowest and highest floor(trim * 2^L) states removed.

    Returns (E (R, M), psi (R, M, 2^L), parity (R, M) int8: +1/-1, or 0 when not resolved), sorted by
    energy within each realization.  With resolve_parity, both sectors are diagonalized separately and
    merged before trimming (the trim applies to the whole spectrum)."""
    L = check_chain(L)
    J, h, lam_h, lam_J = _couplings_arrays(L, J, h, lam_h, lam_J)
    N = 2 ** L
    k = trim_count(N, trim)
    if resolve_parity:
        Hp, Hm = parity_blocks(L, J, h, lam_h, lam_J)
        ep, up = np.linalg.eigh(Hp)
        em, um = np.linalg.eigh(Hm)
        E = np.concatenate([ep, em], axis=1)
        psi = np.concatenate([sector_to_full(np.swapaxes(up, 1, 2), 1), sector_to_full(np.swapaxes(um, 1, 2), -1)],
                             axis=1)
        par = np.concatenate([np.ones_like(ep, dtype=np.int8), -np.ones_like(em, dtype=np.int8)], axis=1)
        order = np.argsort(E, axis=1, kind="stable")
        E = np.take_along_axis(E, order, 1)
        psi = np.take_along_axis(psi, order[:, :, None], 1)
        par = np.take_along_axis(par, order, 1)
    else:
        E, V = np.linalg.eigh(hamiltonian_dense(L, J, h, lam_h, lam_J))
        psi = np.swapaxes(V, 1, 2)
        par = np.zeros(E.shape, dtype=np.int8)
    sl = slice(k, N - k)
    return E[:, sl], psi[:, sl], par[:, sl]


# ----------------------------------------------------------------------------------------- entanglement
def rdm_spectrum(psi: np.ndarray, L: int, region=None) -> np.ndarray:
    """Eigenvalues of rho_A = Tr_B |psi><psi| for states psi (..., 2^L), sorted descending, shape (..., 2^|A|).

    The tensor axes are transposed to (A, B) before the reshape, so B need not be contiguous (B = the outer
    sites, DC19 thesis Sec. 1.3.1, L389).
    Default region: the middle 4 sites."""
    L = check_chain(L)
    region = middle_region(L) if region is None else _check_region(L, region)
    psi = np.asarray(psi)
    if psi.shape[-1] != 2 ** L:
        raise ValueError(f"psi must have last dimension 2^L = {2 ** L}; got shape {psi.shape}")
    if not np.all(np.isfinite(psi)):
        raise ValueError("psi contains NaN or inf")
    lead = psi.shape[:-1]
    B = [i for i in range(L) if i not in region]
    t = psi.reshape(-1, *([2] * L)).transpose(0, *[1 + i for i in region], *[1 + i for i in B])
    M = t.reshape(-1, 2 ** len(region), 2 ** len(B))
    if M.shape[1] <= M.shape[2]:
        rho = M @ np.swapaxes(M.conj(), 1, 2)
        ev = np.linalg.eigvalsh(rho).real
    else:
        ev = np.linalg.svd(M, compute_uv=False) ** 2
        ev = np.concatenate([ev, np.zeros((len(ev), M.shape[1] - ev.shape[1]))], 1)
    ev = np.clip(ev, 0.0, None)
    ev = -np.sort(-ev, axis=1)
    return ev.reshape(*lead, 2 ** len(region))


def _check_probs(p) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim < 1 or not np.all(np.isfinite(p)) or np.any(p < -1e-9):
        raise ValueError("spectra must be finite non-negative probability vectors")
    return np.clip(p, 0.0, None)


def entanglement_entropy(p) -> np.ndarray:
    """Von Neumann entropy -sum p log p (nats) of rho_A spectra (..., n)."""
    p = _check_probs(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)


def entanglement_energies(p, floor: float = 1e-12) -> np.ndarray:
    """-log(max(p_k, floor)), ascending when p is descending."""
    return -np.log(np.maximum(_check_probs(p), floor))


# ----------------------------------------------------------------------------------------- one grid point
def _block_eigvals_and_tridiagonal(A: np.ndarray):
    """The steps of LAPACK dsyevd (what np.linalg.eigh runs) before its back-transform: Householder
    tridiagonalization (dsytrd, lower triangle, as numpy's UPLO='L') and divide and conquer on the tridiagonal
    (dstedc via dstevd, with vectors: its eigenvalues, unlike dsterf's, are bit-identical to eigh's).

    Returns (w ascending, Z tridiagonal eigenvectors, reflectors, tau)."""
    from scipy.linalg import lapack

    n = A.shape[0]
    # dsyevd's own workspace split (LAPACK dsyevd: LWMIN = 1 + 6n + 2n^2, dsytrd gets LWORK - 2n), so dsytrd
    # picks the same block size as inside eigh
    lwork = max(1 + 6 * n + 2 * n * n, 2 * n + 32 * n)
    c, d, e, tau, info = lapack.dsytrd(A, lower=1, lwork=lwork - 2 * n)
    if info:
        raise np.linalg.LinAlgError(f"dsytrd failed (info={info})")
    w, Z, info = lapack.dstevd(d, e)
    if info:
        raise np.linalg.LinAlgError(f"dstedc did not converge (info={info})")
    return w, Z, c, tau


def _back_transform(c: np.ndarray, tau: np.ndarray, Zc: np.ndarray) -> np.ndarray:
    """Q @ Zc for the tridiagonalization Q of `c` (dormtr with uplo 'L' = dormqr on rows 2..n), only the
    columns Zc: 2 n^2 k flops instead of eigh's 2 n^3."""
    from scipy.linalg import lapack

    X = np.asfortranarray(Zc)
    if X.shape[0] > 1 and X.shape[1]:
        X[1:], _, info = lapack.dormqr("L", "N", c[1:, :-1], tau, X[1:], lwork=max(1, 64 * X.shape[1]))
        if info:
            raise np.linalg.LinAlgError(f"dormqr failed (info={info})")
    return X


# Selection guard of ed='band': its eigenvalues differ from eigh's by ~1e-13 at L = 12 (two backward-stable
# reductions; measured <= 7e-13 = ~80 eps ||H||).  Only an eigenvalue pair from different sectors closer than this
# bound can swap in the merged order; `_selection_is_robust` finds such pairs where they would matter.
SELECTION_TOL_ULPS = 4.0  # tol = SELECTION_TOL_ULPS * n * eps * ||H|| (7e-11 at L = 12): ~100x the largest measured


def _selection_is_robust(E: np.ndarray, half: int, k: int, positions: np.ndarray) -> bool:
    """Whether the merged, trimmed selection from eigenvalues E = [E_+ (half), E_- (half)] (each ascending) is the
    same for any eigenvalues within tol of these.

    Within a sector the order is fixed (index order); only a + / - pair closer than tol can swap.  Adjacent sorted
    values with gaps <= tol form clusters; a swap stays inside a cluster with both sectors ("mixed").  The kept
    positions (k + `positions`) must not fall into a mixed cluster, nor may one straddle a trim boundary."""
    N = len(E)
    tol = SELECTION_TOL_ULPS * half * np.finfo(np.float64).eps * max(1.0, float(np.abs(E).max()))
    order = np.argsort(E, kind="stable")
    minus = order >= half
    cid = np.concatenate([[0], np.cumsum(np.diff(E[order]) > tol)])
    n_c = int(cid[-1]) + 1
    mixed = (np.bincount(cid, weights=minus, minlength=n_c) > 0) & (np.bincount(cid, weights=~minus, minlength=n_c) > 0)
    if mixed[cid[k + np.asarray(positions, dtype=np.int64)]].any():
        return False
    return not (k and any(cid[a] == cid[a + 1] and mixed[cid[a]] for a in (k - 1, N - k - 1)))


def _chosen_states(Hp: np.ndarray, Hm: np.ndarray, k: int, pick, vectors: str):
    """Parity-resolved states of one realization (sector blocks Hp, Hm from `parity_blocks`) at positions
    pick(M) of the trimmed, merged spectrum.

    Selection exactly as `eigenstates`: both sectors' eigenvalues, merged by a stable argsort of
    [E_+, E_-], the lowest and highest k cut, then the positions `pick(M)` (the random draw only depends on M).
    Only the chosen eigenvectors are mapped to the full basis (eigenstates copies all 2^L of them).
    vectors='exact': np.linalg.eigh per sector, bit-identical to `eigenstates` (same calls on the same blocks);
    'chosen': the eigenvalues from the same dsytrd + dstedc as eigh (bit-identical, so the same selection), and
    only the chosen columns back-transformed (their last bits may differ from eigh's full back-transform);
    'band': two-stage reduction, eigenvalues without vectors, the chosen vectors by inverse iteration
    (`selected_eigh`); its eigenvalues differ from eigh's in the last bits, so where that could change the
    selection (`_selection_is_robust`) the realization falls back to 'chosen' (eigh-identical eigenvalues).

    Returns (psi (m, 2^L), parity (m,), positions (m,), path used: 'exact' / 'chosen' / 'band')."""
    from . import selected_eigh as se

    half = Hp.shape[0]
    idx = pick(2 * half - 2 * k)  # M is fixed by the size: draw once, whichever path runs
    if vectors == "band" and half > 1 and se.available():
        parts = [se.BandEigh(H) for H in (Hp, Hm)]
        E = np.concatenate([parts[0].w, parts[1].w])
        if not _selection_is_robust(E, half, k, idx):
            vectors = "chosen"
    elif vectors == "band":
        vectors = "chosen"
    if vectors != "band":
        parts = [np.linalg.eigh(H) if vectors == "exact" else _block_eigvals_and_tridiagonal(H) for H in (Hp, Hm)]
        E = np.concatenate([parts[0][0], parts[1][0]])
    order = np.argsort(E, kind="stable")[k:2 * half - k]
    src = order[idx]  # < half: sector +, else sector - (column src - half)
    psi = np.empty((len(idx), 2 * half))
    par = np.where(src < half, 1, -1).astype(np.int8)
    for s, (lo, sign) in enumerate(((0, 1), (half, -1))):
        sel = np.flatnonzero((src >= lo) & (src < lo + half))
        if not len(sel):
            continue
        cols = src[sel] - lo  # ascending: src follows the merged order, ascending in energy within a sector
        if vectors == "exact":
            u = parts[s][1][:, cols]
        elif vectors == "band":
            u = parts[s].vectors(cols)
        else:
            _, Z, c, tau = parts[s]
            u = _back_transform(c, tau, Z[:, cols])
        psi[sel] = sector_to_full(u.T, sign)
    return psi, par, idx, vectors


def point_states(L: int, delta: float, lam: float, n_realizations: int, seeds, states_per_realization: int | None,
                 region=None, resolve_parity: bool = True, trim: float = 0.1,
                 mean_convention: str = "arithmetic", max_chunk_bytes: float = 1.5e9,
                 vectors: str = "exact") -> dict:
    """Spectra of kept eigenstates at one (Delta, lambda): realization r uses `seeds[r]` (a SeedSequence) to draw
    its couplings and then which `states_per_realization` of its kept states to keep (None: all, in energy order).

    vectors (parity-resolved only; the MBL recipe's `ed`): 'exact' (default) gives the bytes of the
    all-eigenvectors path (`_point_states_all_vectors`), diagonalizing each sector by eigh but building only the
    chosen states; 'chosen' back-transforms only the chosen eigenvectors; 'band' computes eigenvalues by the
    two-stage reduction and only the chosen eigenvectors (`selected_eigh`), falling back to 'chosen' where the
    selection could differ.  All three keep the same states; 'chosen' and 'band' spectra equal 'exact' to ~1e-12
    but not bit for bit (a float32 last bit may differ): a stored dataset is reproduced only by its own path.

    Returns spectra (n, 2^|A|) float32 descending, entropy (n,) float32, realization (n,) int32,
    parity (n,) int8, energy_density (n,) float32 (position in the realization's spectrum, 0 = ground)."""
    if vectors not in ED_PATHS:
        raise ValueError(f"vectors must be one of {ED_PATHS}; got {vectors!r}")
    if not resolve_parity or states_per_realization is None:
        # all kept states (or the full-eigh artifact path): every eigenvector is used anyway
        return _point_states_all_vectors(L, delta, lam, n_realizations, seeds, states_per_realization, region,
                                         resolve_parity, trim, mean_convention, max_chunk_bytes)
    if n_realizations < 1 or len(seeds) != n_realizations:
        raise ValueError(f"need n_realizations >= 1 seeds; got {n_realizations} and {len(seeds)} seeds")
    L = check_chain(L)
    rngs = [np.random.default_rng(s) for s in seeds]
    draws = [sample_couplings(L, delta, lam, g, 1, mean_convention) for g in rngs]  # all couplings first, as before
    J = np.concatenate([d["J"] for d in draws])
    h = np.concatenate([d["h"] for d in draws])
    k = trim_count(2 ** L, trim)
    # The sector blocks are built for the same chunks of realizations as `_point_states_all_vectors`: their
    # diagonals come from one (R, L-1) @ (L-1, 2^(L-1)) product whose last bits depend on R (BLAS gemv for R = 1,
    # gemm otherwise), and the stored bytes must not change.  Two blocks per realization: 4^L / 2 doubles.
    chunk = max(1, int(max_chunk_bytes // (4 * 8 * 4 ** L)))
    spectra, par, idx = [], [], []
    for lo in range(0, n_realizations, chunk):
        sl = slice(lo, min(lo + chunk, n_realizations))
        Hp, Hm = parity_blocks(L, J[sl], h[sl], draws[0]["lam_h"], draws[0]["lam_J"])
        for r, g in enumerate(rngs[sl]):
            def pick(M, g=g):  # the draw of `_point_states_all_vectors`, from the same stream at the same point
                if states_per_realization >= M:
                    return np.arange(M)
                return np.sort(g.choice(M, states_per_realization, replace=False))
            psi, p, i, _ = _chosen_states(Hp[r], Hm[r], k, pick, vectors)
            spectra.append(rdm_spectrum(psi, L, region))
            par.append(p)
            idx.append(i)
        del Hp, Hm
    spectra, par, idx = np.stack(spectra), np.stack(par), np.stack(idx)
    return _states_record(spectra, par, idx, k, L)


def _states_record(spectra, par, idx, k: int, L: int) -> dict:
    """The arrays a grid point's shard stores, flattened over (realization, kept state), in their stored dtypes."""
    n_realizations, n_keep = idx.shape
    return {"spectra": spectra.reshape(-1, spectra.shape[-1]).astype(np.float32),
            "entropy": entanglement_entropy(spectra).reshape(-1).astype(np.float32),
            "realization": np.repeat(np.arange(n_realizations, dtype=np.int32), n_keep),
            "parity": par.reshape(-1).astype(np.int8),
            "energy_index": ((idx + k) / (2 ** L - 1)).reshape(-1).astype(np.float32)}


def _point_states_all_vectors(L: int, delta: float, lam: float, n_realizations: int, seeds,
                              states_per_realization: int | None, region=None, resolve_parity: bool = True,
                              trim: float = 0.1, mean_convention: str = "arithmetic",
                              max_chunk_bytes: float = 1.5e9) -> dict:
    """`point_states` through `eigenstates` (every eigenvector in the full basis): the path the published
    datasets were generated with, kept as the reference and for states_per_realization=None / resolve_parity=False."""
    if n_realizations < 1 or len(seeds) != n_realizations:
        raise ValueError(f"need n_realizations >= 1 seeds; got {n_realizations} and {len(seeds)} seeds")
    rngs = [np.random.default_rng(s) for s in seeds]
    draws = [sample_couplings(L, delta, lam, g, 1, mean_convention) for g in rngs]
    J = np.concatenate([d["J"] for d in draws])
    h = np.concatenate([d["h"] for d in draws])
    k = trim_count(2 ** L, trim)
    # Diagonalize a few realizations at a time: the eigenvector stack is 4^L doubles per realization (134 MB at
    # L = 12) and is copied a few times, so all 60-100 realizations of a training point at once do not fit in RAM.
    # Each matrix is diagonalized on its own either way, so the result does not depend on the chunk size.
    chunk = max(1, int(max_chunk_bytes // (4 * 8 * 4 ** L)))
    parts = []
    for lo in range(0, n_realizations, chunk):
        sl = slice(lo, min(lo + chunk, n_realizations))
        _, psi, par = eigenstates(L, J[sl], h[sl], draws[0]["lam_h"], draws[0]["lam_J"], resolve_parity, trim)
        M = psi.shape[1]
        if states_per_realization is None or states_per_realization >= M:
            idx = np.tile(np.arange(M), (psi.shape[0], 1))
        else:
            idx = np.stack([np.sort(g.choice(M, states_per_realization, replace=False)) for g in rngs[sl]])
        spectra = rdm_spectrum(np.take_along_axis(psi, idx[:, :, None], 1), L, region)
        del psi
        parts.append((spectra, np.take_along_axis(par, idx, 1), idx))
    spectra = np.concatenate([p[0] for p in parts])
    par = np.concatenate([p[1] for p in parts])
    idx = np.concatenate([p[2] for p in parts])
    return _states_record(spectra, par, idx, k, L)


# ----------------------------------------------------------------------------------------- distances, C
def js_distance(p, q, base: float = 2.0) -> np.ndarray:
    """Jensen-Shannon distance sqrt(0.5 KL(p||m) + 0.5 KL(q||m)), m = (p+q)/2, 0 log 0 = 0 (reference form)."""
    p, q = _check_probs(p), _check_probs(q)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = lambda a: np.sum(np.where(a > 0, a * np.log(a / m), 0.0), -1)  # noqa: E731
        js = 0.5 * kl(p) + 0.5 * kl(q)
    return np.sqrt(np.clip(js, 0, None) / np.log(base))


def js_distance_matrix(X, Y=None, base: float = 2.0, chunk_elems: int = 1 << 21, dtype=None):
    """Pairwise JS distances (torch, chunked): JS = H(m) - (H(p) + H(q))/2 with H the Shannon entropy.

    X (n, d), Y (m, d) probability vectors (arrays or tensors); returns an (n, m) tensor (float32 unless dtype).
    Chunks of ~chunk_elems intermediate elements (cache-sized); for Y = X only the upper block triangle is computed."""
    import torch

    def _t(a):
        return a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))

    X = _t(X)
    dtype = dtype or (X.dtype if X.dtype in (torch.float32, torch.float64) else torch.float32)
    X = X.to(dtype)
    same = Y is None
    Y = X if same else _t(Y).to(dtype)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must be (n, d) and (m, d); got {tuple(X.shape)} and {tuple(Y.shape)}")
    if not (torch.isfinite(X).all() and torch.isfinite(Y).all()) or (X < -1e-6).any() or (Y < -1e-6).any():
        raise ValueError("JS distance needs finite non-negative probability vectors")
    X, Y = X.clamp_min(0), Y.clamp_min(0)
    hx = -torch.special.xlogy(X, X).sum(1)
    hy = hx if same else -torch.special.xlogy(Y, Y).sum(1)
    n, m, d = X.shape[0], Y.shape[0], X.shape[1]
    out = torch.empty(n, m, dtype=dtype)
    bi = max(1, int(math.sqrt(chunk_elems / d)))
    for i in range(0, n, bi):
        xi = X[i:i + bi, None, :]
        for j in range(i if same else 0, m, bi):
            mm = 0.5 * (xi + Y[None, j:j + bi, :])
            blk = -torch.special.xlogy(mm, mm).sum(-1) - 0.5 * (hx[i:i + bi, None] + hy[None, j:j + bi])
            out[i:i + bi, j:j + bi] = blk
            if same and j != i:
                out[j:j + bi, i:i + bi] = blk.T
    out = torch.sqrt(out.clamp_min_(0) / math.log(base))
    if same:
        out.fill_diagonal_(0.0)
    return out


_Q = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def confusion(p) -> np.ndarray:
    """C = 1 - sqrt(2) d_min, d_min = distance of p (..., 3) to the nearest of the four maximal-confusion points
    (edge midpoints and the centroid of the simplex); max d_min = 1/sqrt2 at the vertices (DC19 thesis
    Sec. 1.4.1, Figs. 1.6-1.7)."""
    p = np.asarray(p, dtype=np.float64)
    if p.shape[-1] != 3 or not np.all(np.isfinite(p)) or np.any(p < -1e-9) or np.any(np.abs(p.sum(-1) - 1) > 1e-6):
        raise ValueError(f"p must be (..., 3) probability vectors (non-negative, summing to 1); got shape {p.shape}")
    d = np.linalg.norm(p[..., None, :] - _Q, axis=-1).min(-1)
    return 1.0 - np.sqrt(2.0) * d
