"""A few eigenvectors of a dense real symmetric matrix, chosen after seeing all its eigenvalues.

Used by the MBL ED (`spin_chain.point_states`, ed='band'): every eigenvalue of a parity block is needed to merge,
trim and draw the kept states, but only ~20 of its 2048 eigenvectors at L = 12.  `np.linalg.eigh` (LAPACK dsyevd)
spends its time in the one-stage Householder tridiagonalization (dsytrd: half of it matrix-vector products, memory
bound) and in the back-transform of all n vectors.  Here instead (Haidar, Ltaief & Dongarra, SC'11, the two-stage
reduction that LAPACK >= 3.7 ships as dsytrd_2stage):

1. dsytrd_sy2sb: dense -> band of half-width kd by blocked (matrix-matrix) Householder steps, Q1 kept as reflectors;
2. dsytrd_sb2st + dsterf: band -> tridiagonal (bulge chasing, O(n^2 kd)) and its eigenvalues, no vectors;
3. the chosen eigenvectors of the band matrix by inverse iteration (banded LU, O(n kd^2) each), re-orthogonalized
   within clusters of close chosen eigenvalues as LAPACK dstein does on a tridiagonal;
4. Q1 applied to those columns only (dormqr on the stage-1 reflectors, 4 n^2 k flops).

LAPACK has no back-transform for stage 2 (its dsyevd_2stage computes eigenvalues only), hence step 3 on the band
matrix.  The eigenvalues agree with eigh's to ~n eps ||A|| but not bit for bit; `spin_chain` checks where that could
change which states are kept and then falls back to eigh-identical eigenvalues.

Stage 1 and 2 are not wrapped by scipy.linalg.lapack: they are called through ctypes from the OpenBLAS that numpy
(or scipy) ships.  `available()` says whether that worked; callers fall back to the one-stage path otherwise.
"""
from __future__ import annotations

import ctypes
import functools

import numpy as np
from scipy.linalg import lapack

__all__ = ["available", "band_reduce", "band_eigvalsh", "band_eigvecs", "back_transform", "BandEigh"]

KD = 32  # band half-width: the fastest of 16 / 32 / 64 at n = 2048 on this CPU (stage 1 + stage 2, interleaved)


@functools.lru_cache(maxsize=1)
def _lib():
    """(sy2sb, sb2st, int type) from a loaded OpenBLAS exporting the two-stage routines, or None."""
    try:
        from threadpoolctl import threadpool_info
        paths = [i["filepath"] for i in threadpool_info() if i.get("internal_api") == "openblas"]
    except Exception:  # noqa: BLE001 - no threadpoolctl: no fast path
        return None
    # The bits of a stored shard depend on the library: the variant order is fixed (numpy's ILP64 OpenBLAS first,
    # then scipy's LP64 one, then a plain LAPACK), not the order in which the libraries happened to be loaded.
    libs = []
    for path in paths:
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            continue
    for prefix, suffix, itype in (("scipy_", "_64_", ctypes.c_int64), ("scipy_", "_", ctypes.c_int),
                                  ("", "_", ctypes.c_int), ("", "64_", ctypes.c_int64)):
        for lib in libs:
            try:
                f1 = getattr(lib, f"{prefix}dsytrd_sy2sb{suffix}")
                f2 = getattr(lib, f"{prefix}dsytrd_sb2st{suffix}")
            except AttributeError:
                continue
            return f1, f2, itype
    return None


def available() -> bool:
    return _lib() is not None


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.c_void_p)


_LEN1 = ctypes.c_size_t(1)  # gfortran's hidden length of each CHARACTER*1 argument


def band_reduce(A: np.ndarray, kd: int = KD):
    """Stage 1 (lower triangle used): returns (reflectors (n, n) F-order, tau (n - kd,), AB (kd + 1, n) the band in
    LAPACK lower band storage AB[r, j] = B[j + r, j])."""
    sy2sb, _, it = _lib()
    n = A.shape[0]
    kd = max(1, min(kd, n - 1))
    A = np.array(A, dtype=np.float64, order="F")
    AB = np.zeros((kd + 1, n), order="F")
    tau = np.zeros(max(1, n - kd))
    info, w = it(0), np.empty(1)
    ref = ctypes.byref
    sy2sb(b"L", ref(it(n)), ref(it(kd)), _ptr(A), ref(it(n)), _ptr(AB), ref(it(kd + 1)), _ptr(tau), _ptr(w),
          ref(it(-1)), ref(info), _LEN1)
    w = np.empty(max(1, int(w[0])))
    sy2sb(b"L", ref(it(n)), ref(it(kd)), _ptr(A), ref(it(n)), _ptr(AB), ref(it(kd + 1)), _ptr(tau), _ptr(w),
          ref(it(len(w))), ref(info), _LEN1)
    if info.value:
        raise np.linalg.LinAlgError(f"dsytrd_sy2sb failed (info={info.value})")
    return A, tau, AB


def band_eigvalsh(AB: np.ndarray) -> np.ndarray:
    """All eigenvalues (ascending) of the symmetric band matrix in lower band storage: stage 2 + dsterf."""
    _, sb2st, it = _lib()
    kd, n = AB.shape[0] - 1, AB.shape[1]
    work_ab = np.array(AB, order="F")  # sb2st overwrites it
    d, e = np.empty(n), np.empty(max(1, n - 1))
    info, h, w = it(0), np.empty(1), np.empty(1)
    ref = ctypes.byref

    def call(lh, lw):
        sb2st(b"N", b"N", b"L", ref(it(n)), ref(it(kd)), _ptr(work_ab), ref(it(kd + 1)), _ptr(d), _ptr(e), _ptr(h),
              ref(it(lh)), _ptr(w), ref(it(lw)), ref(info), _LEN1, _LEN1, _LEN1)

    call(-1, -1)
    h, w = np.empty(max(1, int(h[0]))), np.empty(max(1, int(w[0])))
    call(len(h), len(w))
    if info.value:
        raise np.linalg.LinAlgError(f"dsytrd_sb2st failed (info={info.value})")
    ev, info2 = lapack.dsterf(d, e[:n - 1])[:2]
    if info2:
        raise np.linalg.LinAlgError(f"dsterf did not converge (info={info2})")
    return ev


def _general_band(AB: np.ndarray) -> np.ndarray:
    """Symmetric lower band storage -> LAPACK general band storage for dgbtrf (kl = ku = kd, 2 kd extra rows)."""
    kd, n = AB.shape[0] - 1, AB.shape[1]
    G = np.zeros((3 * kd + 1, n), order="F")
    for r in range(kd + 1):  # G[2kd + i - j, j] = B[i, j]
        G[2 * kd + r, :n - r] = AB[r, :n - r]
        G[2 * kd - r, r:] = AB[r, :n - r]
    return G


def band_eigvecs(AB: np.ndarray, w: np.ndarray, iters: int = 3, seed: int = 0) -> np.ndarray:
    """Eigenvectors (n, m) of the band matrix for its eigenvalues w (ascending), by inverse iteration.

    As LAPACK dstein: a random start, `iters` solves with the LU of (B - w_j I) (a zero pivot replaced by
    eps ||B||), and modified Gram-Schmidt against the vectors already found whose eigenvalues lie within
    1e-3 ||B||_1 (dstein's ORTOL), so close chosen eigenvalues give orthogonal vectors."""
    kd, n = AB.shape[0] - 1, AB.shape[1]
    w = np.asarray(w, dtype=np.float64)
    if len(w) > 1 and np.any(np.diff(w) < 0):
        raise ValueError("w (eigenvalues) must be ascending")
    G = _general_band(AB)
    norm1 = np.abs(G).sum(0).max()
    eps = np.finfo(np.float64).eps
    ortol = 1e-3 * norm1
    rng = np.random.default_rng(seed)
    X = np.empty((n, len(w)), order="F")
    start = 0  # first vector of the current cluster
    for j, lam in enumerate(w):
        if j and lam - w[j - 1] > ortol:
            start = j
        Gj = G.copy(order="F")
        Gj[2 * kd] -= lam
        lu, piv, info = lapack.dgbtrf(Gj, kd, kd)
        if info < 0:
            raise np.linalg.LinAlgError(f"dgbtrf: illegal argument {-info}")
        diag = lu[2 * kd]
        diag[diag == 0.0] = eps * norm1  # exactly singular shift: perturb the pivot, as dstein perturbs the shift
        x = rng.uniform(-1.0, 1.0, n)
        for _ in range(iters):
            if j > start:
                Q = X[:, start:j]
                x -= Q @ (Q.T @ x)
            x, info = lapack.dgbtrs(lu, kd, kd, x, piv)
            if info:
                raise np.linalg.LinAlgError(f"dgbtrs failed (info={info})")
            x /= np.linalg.norm(x)
        if j > start:  # final orthogonalization, then renormalize
            Q = X[:, start:j]
            x -= Q @ (Q.T @ x)
            x /= np.linalg.norm(x)
        X[:, j] = x
    return X


def back_transform(reflectors: np.ndarray, tau: np.ndarray, kd: int, X: np.ndarray) -> np.ndarray:
    """Q1 @ X for the stage-1 reflectors (lower: the QR factors of the panels below the band, dormqr on rows kd..)."""
    X = np.array(X, dtype=np.float64, order="F")
    n = X.shape[0]
    if n > kd and X.shape[1]:
        X[kd:], _, info = lapack.dormqr("L", "N", reflectors[kd:, :n - kd], tau[:n - kd], X[kd:],
                                        lwork=max(1, 64 * X.shape[1]))
        if info:
            raise np.linalg.LinAlgError(f"dormqr failed (info={info})")
    return X


class BandEigh:
    """All eigenvalues of a symmetric A (lower triangle) now, any eigenvectors later: `.w`, `.vectors(cols)`."""

    def __init__(self, A: np.ndarray, kd: int = KD):
        A = np.asarray(A)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 2:
            raise ValueError(f"A must be a square matrix of size >= 2; got shape {A.shape}")
        self.reflectors, self.tau, self.AB = band_reduce(A, kd)
        self.kd = self.AB.shape[0] - 1
        self.w = band_eigvalsh(self.AB)

    def vectors(self, cols) -> np.ndarray:
        """(n, len(cols)) eigenvectors for the eigenvalue indices cols (ascending ints)."""
        cols = np.asarray(cols, dtype=np.int64)
        if len(cols) > 1 and np.any(np.diff(cols) <= 0):
            raise ValueError("cols must be strictly ascending eigenvalue indices")
        return back_transform(self.reflectors, self.tau, self.kd, band_eigvecs(self.AB, self.w[cols]))
