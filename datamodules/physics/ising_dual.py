"""The periodic 2-D Ising model and its continuous Hubbard-Stratonovich dual, as NeuralRG samples it (Li & Wang,
"Neural Network Renormalization Group", PRL 121, 260601 (2018), arXiv:1802.02840; Wang's Marburg 2018 lecture,
seed L1913-1969).

Ising:  pi(s) = exp(+1/2 s^T K s),  K_ij = beta for nearest neighbours of the L x L torus (H = -sum_<ij> s_i s_j).
With A = K + alpha I positive definite (alpha = 0.1 - lambda_min(K), the NeuralRG code's choice) and s^T s = N,

    exp(1/2 s^T A s) = (2 pi)^(-N/2) det(A)^(-1/2) int dx exp(-1/2 x^T A^-1 x + s^T x),

and summing s gives the dual density on R^N

    pi(x) = exp(-1/2 x^T A^-1 x) prod_i cosh(x_i),      pi(s | x) = prod_i (1 + exp(-2 s_i x_i))^-1,
    ln Z_Ising = ln Z_x + N/2 (ln 4 - alpha - ln 2 pi) - 1/2 ln det A.

The joint p(s, x) = exp(-1/2 x^T A^-1 x + s^T x) / const has pi(s) and pi(x) as marginals, so drawing s from
pi(s | x) at every state x of a chain on pi(x) gives a chain whose spins sample the Ising model exactly.

Exact references: ln Z_Ising by enumeration (L <= 4), by a row transfer matrix (L <= 10) and by Kaufman's
finite-size formula (any L; Kaufman, Phys. Rev. 76, 1232 (1949), eq. as in Beale, PRL 76, 78 (1996), eq. 3); the
exact energy distribution by enumeration.  numpy/scipy only.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from .ising import T_C, energy as ising_energy, enumerate_configs

__all__ = ["T_C", "coupling_matrix", "dual_shift", "dual_constant", "dual_log_density", "spin_conditional_logits",
           "sample_spins_given_x", "log_z_enumeration", "log_z_transfer_matrix", "log_z_kaufman", "log_z_exact",
           "energy_distribution", "flat_energy", "local_metropolis", "integrated_autocorrelation_time"]


def _check_L(L) -> int:
    if int(L) != L or L < 3:
        raise ValueError(f"L must be an integer >= 3 (L = 2 doubles the periodic bonds); got {L!r}")
    return int(L)


def coupling_matrix(L: int, beta: float) -> np.ndarray:
    """K (N, N): beta on each nearest-neighbour pair of the L x L torus, sites in C order."""
    L = _check_L(L)
    if not beta > 0:
        raise ValueError(f"beta must be > 0; got {beta!r}")
    idx = np.arange(L * L).reshape(L, L)
    K = np.zeros((L * L, L * L))
    for nb in (np.roll(idx, 1, 0), np.roll(idx, 1, 1)):
        K[idx.ravel(), nb.ravel()] = beta
        K[nb.ravel(), idx.ravel()] = beta
    return K


def dual_shift(K: np.ndarray, margin: float = 0.1) -> float:
    """alpha = margin - lambda_min(K): A = K + alpha I has smallest eigenvalue `margin` (NeuralRG's 0.1)."""
    return float(margin - np.linalg.eigvalsh(K).min())


def dual_constant(K: np.ndarray, alpha: float) -> float:
    """C with ln Z_Ising = ln Z_x + C: N/2 (ln 4 - alpha - ln 2 pi) - 1/2 ln det(K + alpha I)."""
    N = len(K)
    _, logdet = np.linalg.slogdet(K + alpha * np.eye(N))
    return 0.5 * N * (math.log(4) - alpha - math.log(2 * math.pi)) - 0.5 * logdet


def log_cosh(x):
    """ln cosh x, stable for large |x| (|x| + log1p(exp(-2|x|)) - ln 2); numpy or torch."""
    if isinstance(x, np.ndarray) or np.isscalar(x):
        a = np.abs(x)
        return a + np.log1p(np.exp(-2 * a)) - math.log(2)
    import torch

    a = x.abs()
    return a + torch.log1p(torch.exp(-2 * a)) - math.log(2)


def dual_log_density(x, A_inv):
    """ln pi(x) = -1/2 x^T A^-1 x + sum_i ln cosh x_i (unnormalized) for x (B, N); numpy or torch alike."""
    return -0.5 * ((x @ A_inv) * x).sum(-1) + log_cosh(x).sum(-1)


def spin_conditional_logits(x):
    """ln P(s_i = +1 | x) - ln P(s_i = -1 | x) = 2 x_i."""
    return 2 * x


def sample_spins_given_x(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """s ~ pi(s | x) = prod_i (1 + exp(-2 s_i x_i))^-1 as int8 +-1, same shape as x."""
    p_up = 0.5 * (1 + np.tanh(np.asarray(x, dtype=np.float64)))  # = sigmoid(2x)
    return np.where(rng.random(p_up.shape) < p_up, 1, -1).astype(np.int8)


# --------------------------------------------------------------------------- exact ln Z of the Ising model
def flat_energy(s: np.ndarray, L: int) -> np.ndarray:
    """Ising energy (J = 1, periodic) of flat spins (B, L*L)."""
    return ising_energy(np.asarray(s).reshape(-1, L, L))


def log_z_enumeration(L: int, beta: float) -> float:
    """ln sum_s exp(-beta E(s)) over all 2^(L^2) states (L <= 4)."""
    L = _check_L(L)
    E = ising_energy(enumerate_configs(L)).astype(np.float64)
    return float(logsumexp(-beta * E))


def energy_distribution(L: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """(energy levels, exact Boltzmann probabilities) by enumeration (L <= 4)."""
    L = _check_L(L)
    E = ising_energy(enumerate_configs(L)).astype(np.int64)
    levels, counts = np.unique(E, return_counts=True)
    logw = np.log(counts) - beta * levels
    return levels, np.exp(logw - logsumexp(logw))


def log_z_transfer_matrix(L: int, beta: float) -> float:
    """ln Tr T^L with the row-to-row transfer matrix of the L x L torus (L <= 10); rescaled products keep it finite."""
    L = _check_L(L)
    if L > 10:
        raise ValueError(f"transfer matrix of width 2^{L} is too large; use L <= 10")
    r = np.arange(2 ** L)
    rows = 2 * ((r[:, None] >> np.arange(L)) & 1) - 1
    intra = (rows * np.roll(rows, 1, axis=1)).sum(1)
    T = np.exp(beta * (rows @ rows.T + intra[None, :]))
    log_scale, P = 0.0, np.eye(len(r))
    for _ in range(L):
        P = P @ T
        m = np.abs(P).max()
        P /= m
        log_scale += math.log(m)
    return float(log_scale + math.log(np.trace(P)))


def log_z_kaufman(L: int, beta: float) -> float:
    """Kaufman's exact ln Z of the n x n periodic model (n = L), J = 1:

    Z = 1/2 (2 sinh 2K)^(N/2) (Z1 + Z2 + Z3 + Z4),  Z1,2 = prod_{k odd} 2 cosh / sinh(n gamma_k / 2),
    Z3,4 = prod_{k even} 2 cosh / sinh(n gamma_k / 2),  k = 0 .. 2n - 1,
    cosh gamma_k = cosh 2K coth 2K - cos(pi k / n),  gamma_0 = 2K + ln tanh K (signed),
    summed in logs (Z4 carries the sign of gamma_0, negative below T_c)."""
    L = _check_L(L)
    K, n = float(beta), L
    if not K > 0:
        raise ValueError(f"beta must be > 0; got {beta!r}")
    k = np.arange(2 * n)
    c = math.cosh(2 * K) / math.tanh(2 * K) - np.cos(np.pi * k / n)
    gamma = np.arccosh(c)
    gamma[0] = 2 * K + math.log(math.tanh(K))
    half = 0.5 * n * gamma
    odd, even = half[1::2], half[0::2]

    def log_prod_cosh(h):
        return float(np.sum(np.log(2 * np.cosh(h))))

    def log_prod_sinh(h):  # (log |prod|, sign)
        return float(np.sum(np.log(2 * np.abs(np.sinh(h))))), float(np.prod(np.sign(h)))

    l1 = log_prod_cosh(odd)
    l2, s2 = log_prod_sinh(odd)
    l3 = log_prod_cosh(even)
    l4, s4 = log_prod_sinh(even)
    terms = np.array([l1, l2, l3, l4])
    signs = np.array([1.0, s2, 1.0, s4])
    total = logsumexp(terms, b=signs)
    return float(-math.log(2) + 0.5 * n * n * math.log(2 * math.sinh(2 * K)) + total)


def log_z_exact(L: int, beta: float) -> float:
    """Enumeration for L <= 4, Kaufman's formula otherwise."""
    return log_z_enumeration(L, beta) if _check_L(L) <= 4 else log_z_kaufman(L, beta)


# --------------------------------------------------------------------------- the local reference sampler
def local_metropolis(L: int, beta: float, n_chains: int, n_sweeps: int, rng: np.random.Generator,
                     n_equil: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Single-spin Metropolis at random sites (a sweep = N proposals), all chains at once in numpy; chains start
    random and run n_equil sweeps first.  Returns the energy and the magnetization after each sweep, each
    (n_chains, n_sweeps).  Random sites, not checkerboard sweeps: with acceptance 1 at dE <= 0 a checkerboard
    sweep maps some E = 0 stripe states deterministically onto each other, and a chain caught there never leaves
    (we saw a 4 x 4 chain at T_c stuck so).  The baseline the flow's independence sampler is compared with
    (lecture slides seed L1180-1198: local vs global updates)."""
    L = _check_L(L)
    N = L * L
    idx = np.arange(N).reshape(L, L)
    nbrs = np.stack([np.roll(idx, sh, ax).ravel() for sh in (1, -1) for ax in (0, 1)], 1)  # (N, 4)
    s = np.where(rng.random((n_chains, N)) < 0.5, 1, -1).astype(np.int64)
    rows = np.arange(n_chains)
    accept = np.exp(-2.0 * beta * np.arange(-4, 5))  # by s_i h_i in [-4, 4]: dE = 2 s_i h_i
    E = np.empty((n_chains, n_sweeps))
    M = np.empty((n_chains, n_sweeps))
    bonds = np.stack([idx.ravel(), np.roll(idx, 1, 0).ravel(), np.roll(idx, 1, 1).ravel()], 1)
    for t in range(n_equil + n_sweeps):
        sites = rng.integers(0, N, size=(N, n_chains))
        u = rng.random((N, n_chains))
        for k in range(N):
            i = sites[k]
            sh = s[rows, i] * s[rows[:, None], nbrs[i]].sum(1)
            s[rows, i] *= np.where(u[k] < accept[sh + 4], -1, 1)
        if t >= n_equil:
            E[:, t - n_equil] = -(s[:, bonds[:, 0]] * (s[:, bonds[:, 1]] + s[:, bonds[:, 2]])).sum(1)
            M[:, t - n_equil] = s.sum(1)
    return E, M


# --------------------------------------------------------------------------- MCMC statistics
def integrated_autocorrelation_time(series, c: float = 5.0) -> float:
    """tau_int = 1/2 + sum_{t>=1} rho(t) with Sokal's automatic window (smallest W >= c tau_int(W)), in steps of
    the series; (T,) one chain or (C, T) chains sharing the mean.  tau_int = 1/2 for independent draws."""
    y = np.atleast_2d(np.asarray(series, dtype=np.float64))
    y = y - y.mean()
    T = y.shape[1]
    if T < 4:
        raise ValueError(f"series must have at least 4 steps; got {T}")
    f = np.fft.rfft(y, n=2 * T, axis=1)
    acf = np.fft.irfft(f * np.conj(f), axis=1)[:, :T].sum(0)
    if acf[0] <= 0:
        return 0.5
    rho = acf / acf[0]
    tau = np.cumsum(rho) - 0.5
    for W in range(1, T):
        if W >= c * tau[W]:
            return float(tau[W])
    return float(tau[-1])
