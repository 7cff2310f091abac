"""2-D nearest-neighbour Ising model on an L x L torus (J = 1, k_B = 1).

Pure numpy/numba: no Lightning, nothing of ours. Exact references (enumeration, transfer
matrix, Onsager) live beside the samplers they check.

Conventions (Mills & Tamblyn 2018, thesis L1013-1076):
- E = -J sum_<ij> s_i s_j over the 2 L^2 bonds of the periodic lattice, in units of J.
- M is the mean spin (per-spin magnetization), as in the paper.
- The allowed energies are -2L^2 + 4k; +-(2L^2 - 4) cannot occur (one flipped spin already
  breaks four bonds), so 4x4 has 15 levels and 8x8 has 63.
"""
from __future__ import annotations

import hashlib
import math

import numba
import numpy as np
from numba import njit, prange

__all__ = [
    "check_spins", "energy", "magnetization", "energy_levels", "energy_to_class", "class_to_energy",
    "enumerate_configs", "exact_thermodynamics", "transfer_matrix_thermodynamics",
    "onsager_energy", "onsager_magnetization", "onsager_heat_capacity", "T_C",
    "metropolis", "metropolis_sweeps", "random_configs", "targeted_sampling", "targeted_run",
    "hash_bucket", "hash_split", "seed_sequence",
]

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))


# --------------------------------------------------------------------------- input checks
def check_spins(spins, name: str = "spins", L: int | None = None) -> np.ndarray:
    """Return spins as an int8 array of shape (B, L, L), or raise ValueError saying what is expected."""
    a = np.asarray(spins)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} must have shape (B, L, L) or (L, L) with square lattices; got {tuple(np.shape(spins))}")
    if L is not None and a.shape[-1] != L:
        raise ValueError(f"{name} must be {L}x{L} lattices; got {a.shape[-2]}x{a.shape[-1]}")
    if a.size and not np.all((a == 1) | (a == -1)):
        raise ValueError(f"{name} must contain only -1 and +1 (Ising spins); found other values")
    return a.astype(np.int8, copy=False)


# --------------------------------------------------------------------------- observables
def energy(spins) -> np.ndarray:
    """Total energy in J of each configuration, periodic boundaries; (B, L, L) -> (B,)."""
    s = check_spins(spins).astype(np.int32)
    bonds = s * np.roll(s, 1, axis=-1) + s * np.roll(s, 1, axis=-2)
    return -bonds.sum(axis=(-1, -2))


def magnetization(spins) -> np.ndarray:
    """Mean spin of each configuration; (B, L, L) -> (B,) in [-1, 1]."""
    s = check_spins(spins)
    return s.astype(np.float64).mean(axis=(-1, -2))


def energy_levels(L: int) -> np.ndarray:
    """Sorted allowed total energies of the periodic L x L model (even L >= 4)."""
    if L < 4 or L % 2:
        raise ValueError(f"L must be an even integer >= 4 (checkerboard-compatible torus); got {L}")
    n = L * L
    levels = np.arange(-2 * n, 2 * n + 1, 4)
    return levels[(levels != -2 * n + 4) & (levels != 2 * n - 4)]


def energy_to_class(E, L: int) -> np.ndarray:
    """Class index of each energy in the sorted table of allowed levels (not (E + 2L^2)/4)."""
    levels = energy_levels(L)
    E = np.asarray(E)
    idx = np.searchsorted(levels, E)
    bad = (idx >= len(levels)) | (levels[np.minimum(idx, len(levels) - 1)] != E)
    if np.any(bad):
        raise ValueError(f"energies {np.unique(E[bad])[:5].tolist()} are not allowed levels of the {L}x{L} model")
    return idx


def class_to_energy(c, L: int) -> np.ndarray:
    return energy_levels(L)[np.asarray(c)]


# --------------------------------------------------------------------------- exact references
def enumerate_configs(L: int = 4) -> np.ndarray:
    """All 2^(L^2) configurations as int8 (2^N, L, L); bit k of the index is spin k (C order)."""
    n = L * L
    if n > 24:
        raise ValueError(f"enumeration of {L}x{L} would hold 2^{n} states; use L <= 4")
    idx = np.arange(2 ** n, dtype=np.int64)[:, None]
    bits = (idx >> np.arange(n)) & 1
    return (2 * bits - 1).astype(np.int8).reshape(-1, L, L)


def _boltzmann_moments(E: np.ndarray, absM: np.ndarray, temps, n_spins: int, weights=None) -> dict:
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    w0 = np.ones_like(E, dtype=np.float64) if weights is None else weights
    out = {"T": temps, "e": [], "c": [], "m": []}
    E = E.astype(np.float64)
    for T in temps:
        logw = -(E - E.min()) / T
        w = w0 * np.exp(logw)
        Z = w.sum()
        e1 = (w * E).sum() / Z
        e2 = (w * (E - e1) ** 2).sum() / Z
        out["e"].append(e1 / n_spins)
        out["c"].append(e2 / (T * T * n_spins))
        out["m"].append((w * absM).sum() / Z)
    return {k: np.asarray(v) for k, v in out.items()}


def exact_thermodynamics(temps, L: int = 4, energies=None, magnetizations=None) -> dict:
    """<E>/N, C/N and <|M|> per spin vs T by exact Boltzmann sums over all 2^(L^2) states.

    `energies` / `magnetizations` replace the exact operators (e.g. by a network's predictions
    over `enumerate_configs(L)`), which is the paper's "network as the operator" experiment done
    without Monte Carlo noise.
    """
    configs = enumerate_configs(L)
    E = energy(configs) if energies is None else np.asarray(energies, dtype=np.float64)
    M = magnetization(configs) if magnetizations is None else np.asarray(magnetizations, dtype=np.float64)
    return _boltzmann_moments(E, np.abs(M), temps, L * L)


def _row_tables(L: int):
    r = np.arange(2 ** L)
    rows = 2 * ((r[:, None] >> np.arange(L)) & 1) - 1  # (2^L, L)
    intra = -(rows * np.roll(rows, 1, axis=1)).sum(1)  # horizontal bonds inside a row
    inter = -(rows @ rows.T)  # vertical bonds between consecutive rows
    return rows, intra.astype(np.float64), inter.astype(np.float64)


def transfer_matrix_thermodynamics(temps, L: int) -> dict:
    """Exact <E>/N, C/N and <|M|> per spin of the periodic L x L model by row transfer matrices.

    T[r, r'] = exp(-beta (E_vert(r, r') + E_row(r'))).  Z = Tr T^L; <E> and <E^2> come from the
    exact derivatives of the trace (dT/dbeta = -E o T), so no finite differences are involved.
    P(M) comes from the generating function Z(theta) = Tr (T D_theta)^L with D_theta =
    diag(exp(i theta n_up(r))), inverted by a discrete Fourier transform over the L^2 + 1 values.
    Cost ~ (L^2 + 1) * log2(L) complex 2^L x 2^L products per temperature: instant for L <= 6,
    about a second per temperature for L = 8.
    """
    if L > 10:
        raise ValueError(f"transfer matrix of width 2^{L} is too large; use L <= 10")
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    rows, intra, inter = _row_tables(L)
    Erel = inter + intra[None, :]
    n, N = 2 ** L, L * L
    n_up = ((rows + 1) // 2).sum(1)
    thetas = 2 * np.pi * np.arange(N + 1) / (N + 1)
    out = {"T": temps, "e": [], "c": [], "m": []}
    for T in temps:
        beta = 1.0 / T
        shift = Erel.min()  # factor exp(-beta*shift) per row keeps entries O(1)
        Tm = np.exp(-beta * (Erel - shift))
        Tp = -(Erel - shift) * Tm
        Tpp = (Erel - shift) ** 2 * Tm
        powers = [np.eye(n)]
        for _ in range(L):
            powers.append(powers[-1] @ Tm)
        Z = np.trace(powers[L])
        Z1 = L * np.trace(powers[L - 1] @ Tp)
        Z2 = L * np.trace(powers[L - 1] @ Tpp)
        for k in range(L - 1):
            Z2 += L * np.trace(powers[k] @ Tp @ powers[L - 2 - k] @ Tp)
        # derivatives are w.r.t. beta of sum exp(-beta (E - L*shift)); shift E back
        e_rel = -Z1 / Z
        var = Z2 / Z - e_rel ** 2
        out["e"].append((e_rel + L * shift) / N)
        out["c"].append(var * beta * beta / N)
        # magnetization distribution
        A = Tm[None, :, :] * np.exp(1j * thetas[:, None, None] * n_up[None, None, :])
        Zt = np.trace(np.linalg.matrix_power(A, L), axis1=1, axis2=2)  # binary powering, any L
        p_up = np.real(np.fft.fft(Zt)) / (N + 1)  # p_up[k] = weight of states with k up spins
        p_up = np.clip(p_up, 0, None)
        M = np.abs(2 * np.arange(N + 1) - N) / N
        out["m"].append((p_up * M).sum() / p_up.sum())
    return {k: np.asarray(v) for k, v in out.items()}


def onsager_energy(T) -> np.ndarray:
    """Infinite-lattice energy per spin (Onsager), J = 1."""
    from scipy.special import ellipkm1

    T = np.asarray(T, dtype=np.float64)
    b = 1.0 / T
    s2 = np.sinh(2 * b) ** 2
    # 1 - k^2 = ((sinh^2 2b - 1) / cosh^2 2b)^2 exactly; computing it this way keeps K finite next to
    # T_c, where it diverges only logarithmically while its prefactor vanishes linearly
    m1 = ((s2 - 1) / (1 + s2)) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(m1 == 0, 0.0, (2 * np.tanh(2 * b) ** 2 - 1) * ellipkm1(m1))
    return -1.0 / np.tanh(2 * b) * (1 + 2 / np.pi * term)


def onsager_magnetization(T) -> np.ndarray:
    """Spontaneous magnetization per spin (Yang), zero above T_c."""
    T = np.asarray(T, dtype=np.float64)
    x = 1 - np.sinh(2 / T) ** -4.0
    return np.where(T < T_C, np.clip(x, 0, None) ** 0.125, 0.0)


def onsager_heat_capacity(T, dT: float = 1e-4) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    return (onsager_energy(T + dT) - onsager_energy(T - dT)) / (2 * dT)


# --------------------------------------------------------------------------- seeding
def seed_sequence(*keys) -> np.random.SeedSequence:
    """A SeedSequence from any mix of ints and strings (e.g. a recipe hash and a shard index)."""
    ints = []
    for k in keys:
        if isinstance(k, str):
            ints.append(int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "little"))
        else:
            ints.append(int(k))
    return np.random.SeedSequence(ints)


# --------------------------------------------------------------------------- RNG for numba kernels
@njit(inline="always")
def _next(state):
    # splitmix64: each chain owns one 64-bit state, so results do not depend on threading
    z = state + np.uint64(0x9E3779B97F4A7C15)
    x = z
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return z, x


@njit(inline="always")
def _uniform(x):
    return np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


# --------------------------------------------------------------------------- Metropolis
@njit(parallel=True, cache=True)
def _metropolis_kernel(spins, betas, n_sweeps, rng, checkerboard, E_rec, M_rec, every):
    C, L, _ = spins.shape
    N = L * L
    for c in prange(C):
        st = rng[c]
        # acceptance for dE = 4, 8 (dE <= 0 always accepted)
        w4 = math.exp(-4.0 * betas[c])
        w8 = math.exp(-8.0 * betas[c])
        s = spins[c]
        rec = 0
        # Checkerboard fast path, bit-identical to the plain loop (same site order, same draws):
        # flat unsigned indices (no negative-index wraparound code), the two wrapping columns
        # peeled off the row loop, and a branch-free site update.  The 53-bit integer draw r
        # compares as r < ceil(w 2^53) exactly when _uniform(x) = r 2^-53 < w.  Every site draws
        # a candidate value, but the chain state only advances when dE > 0, as before.
        one53 = np.uint64(9007199254740992)
        t4 = np.uint64(0) if not w4 > 0.0 else (one53 if w4 >= 1.0 else np.uint64(math.ceil(w4 * 9007199254740992.0)))
        t8 = np.uint64(0) if not w8 > 0.0 else (one53 if w8 >= 1.0 else np.uint64(math.ceil(w8 * 9007199254740992.0)))
        f = s.reshape(N)
        uL = np.uint64(L)
        one = np.uint64(1)
        two = np.uint64(2)
        for sweep in range(n_sweeps):
            if checkerboard:
                for parity in range(2):
                    for i in range(L):
                        r = np.uint64(i) * uL
                        u = np.uint64(i - 1 if i > 0 else L - 1) * uL
                        dd = np.uint64(i + 1 if i < L - 1 else 0) * uL
                        j = np.uint64((i + parity) % 2)
                        if j == 0:  # column 0: left neighbour wraps to column L - 1
                            sk = f[r]
                            d = sk * (f[u] + f[dd] + f[r + uL - one] + f[r + (one if L > 1 else np.uint64(0))])
                            z, x = _next(st)
                            st = z if d > 0 else st
                            thr = one53 if d <= 0 else (t4 if d == 2 else t8)
                            f[r] = -sk if (x >> np.uint64(11)) < thr else sk
                            j = two
                        while j < uL - one:  # interior columns 1 .. L - 2
                            k = r + j
                            sk = f[k]
                            d = sk * (f[u + j] + f[dd + j] + f[k - one] + f[k + one])
                            z, x = _next(st)
                            st = z if d > 0 else st
                            thr = one53 if d <= 0 else (t4 if d == 2 else t8)
                            f[k] = -sk if (x >> np.uint64(11)) < thr else sk
                            j += two
                        if j == uL - one:  # column L - 1: right neighbour wraps to column 0
                            k = r + j
                            sk = f[k]
                            d = sk * (f[u + j] + f[dd + j] + f[k - one] + f[r])
                            z, x = _next(st)
                            st = z if d > 0 else st
                            thr = one53 if d <= 0 else (t4 if d == 2 else t8)
                            f[k] = -sk if (x >> np.uint64(11)) < thr else sk
            else:  # random site with replacement, as in the paper's Appendix B.1
                for _ in range(N):
                    st, x = _next(st)
                    i = np.int64(x % np.uint64(L))
                    j = np.int64((x >> np.uint64(20)) % np.uint64(L))
                    up = i - 1 if i > 0 else L - 1
                    dn = i + 1 if i < L - 1 else 0
                    lf = j - 1 if j > 0 else L - 1
                    rt = j + 1 if j < L - 1 else 0
                    d = s[i, j] * (s[up, j] + s[dn, j] + s[i, lf] + s[i, rt])
                    if d <= 0:
                        s[i, j] = -s[i, j]
                    else:
                        st, x = _next(st)
                        if _uniform(x) < (w4 if d == 2 else w8):
                            s[i, j] = -s[i, j]
            if every > 0 and (sweep + 1) % every == 0 and rec < E_rec.shape[1]:
                e = 0
                m = 0
                for i in range(L):
                    for j in range(L):
                        e -= s[i, j] * (s[(i + 1) % L, j] + s[i, (j + 1) % L])
                        m += s[i, j]
                E_rec[c, rec] = e
                M_rec[c, rec] = m
                rec += 1
        rng[c] = st


# --------------------------------------------------------------------------- Metropolis, vectorized over chains
# Chains are the innermost (contiguous) axis, so the loop over chains at one lattice site is a plain SIMD loop:
# spins are uint8 0/1 (sigma = (s + 1) / 2), the two checkerboard sublattices live in separate arrays (an update of
# one reads only the other; with both in one array the same loop measured ~8x slower, consistent with LLVM's
# runtime alias check sending it to the scalar fallback), each (column pair, chain) owns a 32-bit xorshift128
# stream (Marsaglia, J. Stat. Softw. 8(14), 2003), so a whole sublattice row is one contiguous run, and acceptance
# is an integer comparison against a per-chain threshold.  Only the law of the chain matches the scalar kernel,
# not its draws.
_P31 = 2.0 ** 31


def _threshold31(w: np.ndarray) -> np.ndarray:
    """round(w 2^31) as uint32, clipped to [0, 2^31]: a 31-bit draw r is accepted when r < threshold, so
    probability 1 is exact (2^31 > every r), 0 is exact, and any other probability is off by at most 2^-32."""
    return np.clip(np.rint(np.asarray(w, dtype=np.float64) * _P31), 0, _P31).astype(np.uint32)


@njit(inline="always")
def _vec_run(U, V, X, t4, t8, k, ku, kd, kl, kr, xa, xw, kt, n):
    """Update n consecutive (site, chain) lanes of sublattice U: U[k + c] with neighbours V[ku + c] ... V[kr + c],
    xorshift128 words X[xa + c] (oldest, replaced) and X[xw + c] (newest), thresholds t4 / t8[kt + c]."""
    for c in range(n):
        sk = U[k + c]
        e1 = sk ^ V[ku + c]  # 1 where the bond is broken
        e2 = sk ^ V[kd + c]
        e3 = sk ^ V[kl + c]
        e4 = sk ^ V[kr + c]
        o12 = e1 | e2
        o34 = e3 | e4
        ge1 = o12 | o34  # >= 1 broken bond: dE <= 4
        ge2 = (e1 & e2) | (e3 & e4) | (o12 & o34)  # >= 2 broken: dE <= 0, always accepted
        a = X[xa + c]
        w = X[xw + c]
        t = np.uint32(a ^ np.uint32(a << np.uint32(11)))
        nw = np.uint32(np.uint32(w ^ np.uint32(w >> np.uint32(19))) ^ np.uint32(t ^ np.uint32(t >> np.uint32(8))))
        X[xa + c] = nw
        r = np.uint32(nw >> np.uint32(1))  # 31 bits; the lowest bit of xorshift is the weakest
        b4 = np.uint8(r < t4[kt + c])  # accept dE = 4
        b8 = np.uint8(r < t8[kt + c])  # accept dE = 8 (t8 <= t4, so b8 implies b4)
        U[k + c] = np.uint8(sk ^ (ge2 | (ge1 & b4) | b8))


@njit(cache=True, boundscheck=False)
def _vec_block(A, B, X, t4, t8, L, S, n_sweeps, phase, D_rec, M_rec, every):
    """Sweeps of one block of S chains. A / B: flat (L, L/2, S) uint8 sublattices ((i + j) even / odd, h = j // 2);
    X: flat (4, L/2, S) uint32: one xorshift128 stream per (column pair h, chain), its 4 words used as a ring
    (word phase & 3 is the oldest); t4 / t8: flat (L/2, S).  A whole row of a sublattice is then one contiguous run
    of L/2 * S lanes (two runs: the column pair whose left or right neighbour wraps around is done apart).
    Records the number of broken bonds and of up spins every `every` sweeps.  Returns the phase."""
    H = L // 2
    uS = np.uint64(S)
    run = np.uint64(H) * uS
    uH = np.uint64(H)
    ph = phase
    rec = 0
    for sweep in range(n_sweeps):
        for parity in range(2):
            U = A if parity == 0 else B  # sublattice updated now
            V = B if parity == 0 else A  # its neighbours
            for i in range(L):
                row = np.uint64(i) * run
                rup = np.uint64((i - 1) % L) * run
                rdn = np.uint64((i + 1) % L) * run
                xa = np.uint64(ph & 3) * run  # oldest word of every stream, replaced by the new one
                xw = np.uint64((ph + 3) & 3) * run  # newest word
                ph += 1
                last = (uH - np.uint64(1)) * uS
                if (i + parity) % 2 == 0:  # sites j = 2h: left neighbour (h - 1), wrapping at h = 0
                    _vec_run(U, V, X, t4, t8, row, rup, rdn, row + last, row, xa, xw, np.uint64(0), uS)
                    _vec_run(U, V, X, t4, t8, row + uS, rup + uS, rdn + uS, row, row + uS, xa + uS, xw + uS, uS,
                             run - uS)
                else:  # sites j = 2h + 1: right neighbour (h + 1), wrapping at h = H - 1
                    _vec_run(U, V, X, t4, t8, row, rup, rdn, row, row + uS, xa, xw, np.uint64(0), run - uS)
                    _vec_run(U, V, X, t4, t8, row + last, rup + last, rdn + last, row + last, row, xa + last,
                             xw + last, last, uS)
        if every > 0 and (sweep + 1) % every == 0 and rec < D_rec.shape[1]:
            for i in range(L):
                row = np.uint64(i) * run
                rup = np.uint64((i - 1) % L) * run
                rdn = np.uint64((i + 1) % L) * run
                for h in range(H):
                    # every bond joins an A site to a B site: the 4 bonds of all A sites are all 2N bonds
                    uh = np.uint64(h) * uS
                    hl = np.uint64((h - 1) % H if i % 2 == 0 else h) * uS
                    hr = np.uint64(h if i % 2 == 0 else (h + 1) % H) * uS
                    for c in range(S):
                        sa = A[row + uh + c]
                        D_rec[c, rec] += (np.int64(sa ^ B[rup + uh + c]) + np.int64(sa ^ B[rdn + uh + c])
                                          + np.int64(sa ^ B[row + hl + c]) + np.int64(sa ^ B[row + hr + c]))
                        M_rec[c, rec] += np.int64(sa) + np.int64(B[row + uh + c])
            rec += 1
    return ph


@njit(parallel=True, cache=True)
def _vec_kernel(A, B, X, t4, t8, L, n_sweeps, phase, D_rec, M_rec, every):
    """Blocks of chains (first axis of every array) on threads: each chain is its own stream, so the result does
    not depend on the number of threads."""
    G = A.shape[0]
    for g in prange(G):
        _vec_block(A[g].reshape(-1), B[g].reshape(-1), X[g].reshape(-1), t4[g].reshape(-1), t8[g].reshape(-1), L,
                   A.shape[3], n_sweeps, phase, D_rec[g], M_rec[g], every)
    return (phase + n_sweeps * L) & 3


class _VecState:
    """Chains in the vectorized layout, G blocks of S chains (the last block padded with spare chains):
    sublattices A, B (G, L, L/2, S) uint8 0/1, streams X (G, 4, L/2, S), thresholds t4, t8 (G, L/2, S)."""

    def __init__(self, spins: np.ndarray, betas: np.ndarray, seed, blocks: int | None = None):
        C, L, _ = spins.shape
        if L % 2 or L < 2:
            raise ValueError(f"method='vectorized' needs an even L (two-sublattice checkerboard); got L = {L}")
        self.C, self.L, H = C, L, L // 2
        # one block per thread when there are chains enough to fill vectors; otherwise one block
        G = blocks or max(1, min(numba.get_num_threads(), C // 64))
        S = -(-C // (16 * G)) * 16  # a multiple of 16 lanes
        self.G, self.S = G, S
        self.A = np.zeros((G, L, H, S), dtype=np.uint8)
        self.B = np.zeros((G, L, H, S), dtype=np.uint8)
        self.put(((spins.reshape(C, L, L) + 1) >> 1).astype(np.uint8))
        ss = seed if isinstance(seed, np.random.SeedSequence) else seed_sequence(seed)
        # chain c owns the L/2 streams (h, c), words X0[c, :, h]: chain-major, so a chain's streams do not depend
        # on the padding or the number of blocks (threads); spare chains get a fixed nonzero state
        X0 = ss.generate_state(4 * H * C, dtype=np.uint32).reshape(C, 4, H)
        X0[:, 0][~X0.any(axis=1)] = 1  # the all-zero state is xorshift's fixed point (probability 2^-128)
        X = np.ones((4, H, G * S), dtype=np.uint32)
        X[:, :, :C] = X0.transpose(1, 2, 0)
        self.X = np.ascontiguousarray(X.reshape(4, H, G, S).transpose(2, 0, 1, 3))
        b = np.zeros(G * S)
        b[:C] = np.asarray(betas, dtype=np.float64)
        self.t4 = np.ascontiguousarray(np.broadcast_to(_threshold31(np.exp(-4.0 * b)).reshape(G, 1, S), (G, H, S)))
        self.t8 = np.ascontiguousarray(np.broadcast_to(_threshold31(np.exp(-8.0 * b)).reshape(G, 1, S), (G, H, S)))
        self.phase = 0

    def _masks(self):
        i, j = np.indices((self.L, self.L))
        return ((self.A, (i + j) % 2 == 0), (self.B, (i + j) % 2 == 1))

    def put(self, sig):
        pad = np.zeros((self.G * self.S, self.L, self.L), dtype=np.uint8)
        pad[:self.C] = sig
        for U, m in self._masks():  # pad[:, m] is (chains, sites of the sublattice in (i, h) order)
            U[...] = pad[:, m].reshape(self.G, self.S, self.L, self.L // 2).transpose(0, 2, 3, 1)

    def spins(self) -> np.ndarray:
        sig = np.empty((self.G * self.S, self.L, self.L), dtype=np.uint8)
        for U, m in self._masks():
            sig[:, m] = U.transpose(0, 3, 1, 2).reshape(self.G * self.S, -1)
        return (2 * sig[:self.C].astype(np.int8) - 1).astype(np.int8)

    def run(self, n_sweeps: int, E_rec=None, M_rec=None, every: int = 0):
        n_rec = 0 if E_rec is None else E_rec.shape[1]
        D = np.zeros((self.G, self.S, n_rec), dtype=np.int64)
        M = np.zeros((self.G, self.S, n_rec), dtype=np.int64)
        self.phase = int(_vec_kernel(self.A, self.B, self.X, self.t4, self.t8, self.L, int(n_sweeps), self.phase,
                                     D, M, int(every)))
        if n_rec:
            N = self.L * self.L
            E_rec[...] = 2 * D.reshape(-1, n_rec)[:self.C] - 2 * N
            M_rec[...] = 2 * M.reshape(-1, n_rec)[:self.C] - N

def _chain_states(n: int, seed) -> np.ndarray:
    ss = seed if isinstance(seed, np.random.SeedSequence) else seed_sequence(seed)
    return ss.generate_state(n, dtype=np.uint64)


def metropolis_sweeps(spins: np.ndarray, betas, n_sweeps: int, seed=0, algorithm: str = "checkerboard",
                      method: str = "scalar") -> np.ndarray:
    """Advance many chains by `n_sweeps` sweeps (N proposals each) and return the updated array.

    spins: (C, L, L) +-1; updated in place only when it is already a C-contiguous int8 array
    (otherwise a converted copy is advanced: use the return value).  betas: (C,) inverse temperatures.
    method: 'scalar' (default; one chain at a time, splitmix64 streams) or 'vectorized' (checkerboard
    only, even L: all chains at once per site, xorshift128 streams, acceptance probabilities rounded to
    multiples of 2^-31).  Both sample the same Markov chain in law, not draw for draw.
    """
    if algorithm not in ("checkerboard", "random_site"):
        raise ValueError(f"algorithm must be 'checkerboard' or 'random_site'; got {algorithm!r}")
    _check_method(method, algorithm)
    spins = np.ascontiguousarray(check_spins(spins))
    betas = np.broadcast_to(np.asarray(betas, dtype=np.float64), (len(spins),)).copy()
    if method == "vectorized":
        st = _VecState(spins, betas, seed)
        st.run(int(n_sweeps))
        spins[...] = st.spins()
        return spins
    rng = _chain_states(len(spins), seed)
    dummy = np.zeros((len(spins), 0), dtype=np.int64)
    _metropolis_kernel(spins, betas, int(n_sweeps), rng, algorithm == "checkerboard", dummy, dummy, 0)
    return spins


def _check_method(method: str, algorithm: str) -> None:
    if method not in ("scalar", "vectorized"):
        raise ValueError(f"method must be 'scalar' or 'vectorized'; got {method!r}")
    if method == "vectorized" and algorithm != "checkerboard":
        raise ValueError("method='vectorized' runs the checkerboard algorithm only")


def metropolis(L: int, temps, n_chains: int = 64, n_equil: int = 1000, n_samples: int = 200, every: int = 10,
               seed=0, algorithm: str = "checkerboard", start: str = "ordered", return_configs: bool = False,
               method: str = "scalar") -> dict:
    """Thermodynamics by Metropolis: for each T, `n_chains` independent chains, `n_samples` records each.

    Returns per-T arrays e (energy per spin), c (C/N from the energy variance), m (<|M|> per spin),
    chi (per spin), each with a standard error over chains ('*_err'), and optionally the final configs.
    method: 'scalar' or 'vectorized', as in `metropolis_sweeps`.
    """
    if L < 2:
        raise ValueError(f"L must be >= 2; got {L}")
    temps = np.atleast_1d(np.asarray(temps, dtype=np.float64))
    if np.any(temps <= 0):
        raise ValueError("temperatures must be positive")
    _check_method(method, algorithm)
    ss = seed_sequence(seed) if not isinstance(seed, np.random.SeedSequence) else seed
    C = len(temps) * n_chains
    # a child key derived without ss.spawn(), which would mutate a caller's SeedSequence
    init_rng = np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (1,)))
    if start == "ordered":
        spins = np.ones((C, L, L), dtype=np.int8)
    elif start == "random":
        spins = (2 * init_rng.integers(0, 2, size=(C, L, L)) - 1).astype(np.int8)
    else:
        raise ValueError(f"start must be 'ordered' or 'random'; got {start!r}")
    betas = np.repeat(1.0 / temps, n_chains)
    empty = np.zeros((C, 0), dtype=np.int64)
    E = np.zeros((C, n_samples), dtype=np.int64)
    M = np.zeros((C, n_samples), dtype=np.int64)
    if method == "vectorized":
        st = _VecState(spins, betas, ss)
        st.run(int(n_equil))
        st.run(int(n_samples * every), E, M, int(every))
        spins = st.spins()
    else:
        rng = _chain_states(C, ss)
        _metropolis_kernel(spins, betas, int(n_equil), rng, algorithm == "checkerboard", empty, empty, 0)
        _metropolis_kernel(spins, betas, int(n_samples * every), rng, algorithm == "checkerboard", E, M, int(every))
    N = L * L
    E = E.reshape(len(temps), n_chains, n_samples).astype(np.float64)
    aM = np.abs(M.reshape(len(temps), n_chains, n_samples)).astype(np.float64)
    out = {"T": temps}
    T3 = temps[:, None]
    per_chain = {
        "e": E.mean(-1) / N,
        "c": E.var(-1) / (T3 ** 2 * N),
        "m": aM.mean(-1) / N,
        "chi": aM.var(-1) / (T3 * N),
    }
    for k, v in per_chain.items():
        out[k] = v.mean(1)
        out[k + "_err"] = v.std(1, ddof=1) / math.sqrt(n_chains) if n_chains > 1 else np.full(len(temps), np.nan)
    if return_configs:
        out["configs"] = spins.reshape(len(temps), n_chains, L, L)
    return out


def random_configs(n: int, L: int, seed=0) -> np.ndarray:
    """Uniform random configurations: each spin -1 or +1 with probability 1/2 (PRE 97, 032119, Sec. III; thesis L1059)."""
    rng = np.random.default_rng(seed if isinstance(seed, np.random.SeedSequence) else seed_sequence(seed))
    return (2 * rng.integers(0, 2, size=(n, L, L), dtype=np.int8) - 1).astype(np.int8)


# --------------------------------------------------------------------------- targeted sampling (App. B.2)
@njit(cache=True)
def _ts_run(s, E, target, kT, scale, n_steps, every, rng, counts, cap, e_min, out):
    """One TS run (Eq. B.2) on one chain from state `s` with energy `E`; records every `every` steps
    into energy bins of width 4 starting at e_min, up to `cap` per bin.  Returns (E, rng)."""
    L = s.shape[0]
    for step in range(n_steps):
        rng, x = _next(rng)
        i = np.int64(x % np.uint64(L))
        j = np.int64((x >> np.uint64(20)) % np.uint64(L))
        h = s[(i - 1) % L, j] + s[(i + 1) % L, j] + s[i, (j - 1) % L] + s[i, (j + 1) % L]
        dE = 2 * s[i, j] * h
        Eb = E + dE
        if abs(Eb - target) < abs(E - target):
            accept = True
        else:
            # p(reject) = 1 - exp(-(E_B - E_A)^2 / kT): the squared step, not the distance to target
            d = dE * scale
            rng, x = _next(rng)
            accept = _uniform(x) < math.exp(-(d * d) / kT)
        if accept:
            s[i, j] = -s[i, j]
            E = Eb
        if (step + 1) % every == 0:
            b = (E - e_min) // 4
            if counts[b] < cap:
                out[b, counts[b]] = s
                counts[b] += 1
    return E, rng


def _energy_scale(energy_scale, N: int) -> float:
    """Multiplier applied to energies inside Eq. B.2: 'per_spin' (1/N), 'total' (1) or a number."""
    if energy_scale == "per_spin":
        return 1.0 / N
    if energy_scale == "total":
        return 1.0
    if isinstance(energy_scale, (int, float)) and energy_scale > 0:
        return float(energy_scale)
    raise ValueError(f"energy_scale must be 'per_spin', 'total' or a positive number; got {energy_scale!r}")


def _lattice_energy(s: np.ndarray) -> int:
    return int(energy(s[None])[0])


def targeted_run(L: int, target: float, n_steps: int, kT: float = 0.01, energy_scale: str = "per_spin",
                 every: int = 1, seed=0, start: np.ndarray | None = None) -> np.ndarray:
    """A single targeted-sampling run (App. B.2 steps 1-7); returns the recorded configurations."""
    rng = np.random.default_rng(seed_sequence(seed))
    s = (start.copy() if start is not None else (2 * rng.integers(0, 2, size=(L, L)) - 1)).astype(np.int8)
    n_bins = L * L + 1
    cap = n_steps // every + 1
    counts = np.zeros(n_bins, dtype=np.int64)
    out = np.zeros((n_bins, cap, L, L), dtype=np.int8)
    scale = _energy_scale(energy_scale, L * L)
    _ts_run(s, _lattice_energy(s), float(target), kT, scale, n_steps, every,
            np.uint64(rng.integers(0, 2 ** 63)), counts, cap, -2 * L * L, out)
    return np.concatenate([out[b, :counts[b]] for b in range(n_bins)])


def targeted_sampling(L: int, per_bin: int, seed=0, kT_discovery: float = 0.1, kT_sweep: float = 0.01,
                      energy_scale: float | str = 0.05, t_corr: int | None = None, n_iter0: int | None = None,
                      max_passes: int = 60, return_counts: bool = False):
    """Multi-pass targeted-sampling builder of the paper's Appendix B.2 (Phases I-III).

    Bins are evenly spaced, width 4 J, centred on -2L^2, -2L^2 + 4, ..., 2L^2 (L^2 + 1 bins); the two
    bins at +-(2L^2 - 4) hold no state and stay empty, every other bin fills to `per_bin`.
    energy_scale: multiplier of the energies inside Eq. B.2 (the text leaves the units of kT open).
    'per_spin' (E/N) is the literal reading, but on 8x8 a step away from the target is then rejected
    only 32 % (dE = 4) of the time and the tails (|E| >= 68) never fill; 'total' (raw E) rejects every
    step away, so chains move only through zero-energy flips.  Our default 0.05 (kT in units of 20 J)
    rejects 98 % of dE = 4 steps away: every level fills in seconds with diverse states.  t_corr (record interval) defaults to N = L^2 proposals (one
    sweep); N_iter of Phase III starts at n_iter0 (default 2 t_corr, Mills PhD thesis (2021), App. B, targeted sampling; thesis L3362) and doubles each pass.
    Returns configurations (n, L, L) int8 sorted by bin, and optionally the bin counts.
    """
    energy_levels(L)  # validates L
    N = L * L
    scale = _energy_scale(energy_scale, N)
    t_corr = N if t_corr is None else int(t_corr)
    n_iter = 2 * t_corr if n_iter0 is None else int(n_iter0)
    max_iter = 4 * per_bin * t_corr  # doubling stops once one run could fill a bin four times over
    e_min, e_max = -2 * N, 2 * N
    n_bins = N + 1
    centres = e_min + 4 * np.arange(n_bins)
    possible = np.isin(centres, energy_levels(L))
    counts = np.zeros(n_bins, dtype=np.int64)
    out = np.zeros((n_bins, per_bin, L, L), dtype=np.int8)
    rng = np.random.default_rng(seed if isinstance(seed, np.random.SeedSequence) else seed_sequence(seed))
    state = np.uint64(rng.integers(0, 2 ** 63))

    def run(s, E, target, kT, n_steps):
        nonlocal state
        E, state = _ts_run(s, E, float(target), kT, scale, int(n_steps), t_corr, state, counts, per_bin, e_min, out)
        state = np.uint64(state)
        return E

    # Phase I: discovery from random starts, wide envelope, 4 seeds per target, no equilibration
    s = np.empty((L, L), dtype=np.int8)
    for target in (e_min, e_max, 0.5 * (e_min + e_max)):
        for _ in range(4):
            s[:] = 2 * rng.integers(0, 2, size=(L, L)) - 1
            run(s, _lattice_energy(s), target, kT_discovery, N * t_corr)
    # Phase II: sweep 10 then 100 evenly spaced targets, narrow envelope, continuing the chain
    E = _lattice_energy(s)
    for n_targets in (10, 100):
        for target in np.linspace(e_min, e_max, n_targets):
            E = run(s, E, target, kT_sweep, 2 * t_corr)
    # Phase III: target every partially filled bin, doubling N_iter each pass.  Our reading (not
    # stated in the text): each run starts from a recorded configuration of the filled bin nearest
    # to the target, so the rare extreme bins are reached from their neighbours instead of from
    # wherever the chain happens to be.
    for _ in range(max_passes):
        todo = np.nonzero(possible & (counts < per_bin))[0]
        if len(todo) == 0:
            break
        filled = np.nonzero(counts > 0)[0]
        for b in todo:
            src = filled[np.argmin(np.abs(filled - b))]
            s[:] = out[src, rng.integers(0, counts[src])]
            run(s, _lattice_energy(s), centres[b], kT_sweep, n_iter)
        n_iter = min(2 * n_iter, max_iter)
    if np.any(possible & (counts < per_bin)):
        raise RuntimeError(f"targeted sampling left bins unfilled after {max_passes} passes: "
                           f"{centres[possible & (counts < per_bin)].tolist()}")
    configs = np.concatenate([out[b, :counts[b]] for b in range(n_bins)])
    return (configs, counts) if return_counts else configs


# --------------------------------------------------------------------------- hash split (PRE 97, 032119, Appendix 'Training-testing division'; thesis L1222-1228)
def hash_bucket(spins) -> np.ndarray:
    """12 most significant bits of SHA3-512 of each configuration encoded as int8 +-1, C order."""
    s = np.ascontiguousarray(check_spins(spins))
    return np.fromiter((int(hashlib.sha3_512(x.tobytes()).hexdigest()[:3], 16) for x in s), dtype=np.int64, count=len(s))


def hash_split(spins, fractions: dict[str, float]) -> dict[str, np.ndarray]:
    """Indices per split, assigned by hash bucket so a duplicated configuration is on one side only.

    fractions: e.g. {"test": 0.3125, "val": 0.0625, "train": rest}; resolution 1/4096; the
    remainder goes to the last key.
    """
    b = hash_bucket(spins)
    out, lo = {}, 0
    keys = list(fractions)
    for k in keys[:-1]:
        hi = lo + int(round(fractions[k] * 4096))
        out[k] = np.nonzero((b >= lo) & (b < hi))[0]
        lo = hi
    if lo > 4096:
        raise ValueError(f"split fractions sum to more than 1: {fractions}")
    out[keys[-1]] = np.nonzero(b >= lo)[0]
    return out
