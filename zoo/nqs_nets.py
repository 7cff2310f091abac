"""Restricted Boltzmann machine wave functions with the hidden units summed analytically (Carleo & Troyer,
Science 355, 602 (2017), arXiv:1606.02318, Eq. 2; the lecture's hands-on, Liu, Li & Wang, Marburg 2018, Sec. 5.5):

    psi(s) = exp(sum_i a_i s_i) prod_j 2 cosh(theta_j),   theta_j = sum_i W_ji s_i + b_j,   s_i = +-1

log psi is returned without the constant M log 2 (it cancels in every ratio and expectation).  Variants:
- dense (the lecture's: M hidden units, N + M + M N parameters) or translation-symmetric (Carleo & Troyer,
  Supplementary Materials: F = M / N filters, each applied at the N translations of the ring; a shared visible
  bias): psi(T s) = psi(s), 1 + F + F N parameters;
- real, or complex (parameters a + i a', b + i b', W + i W' held as real tensors): then log psi = A + i Phi carries
  a phase, i.e. a sign structure.

`log_derivs` gives O_k(s) = d log psi(s) / d p_k for every real parameter p_k in closed form (tanh theta times s),
vectorized over samples; tested against autograd.  For an imaginary part p' of a complex parameter, O' = i O.
"""
from __future__ import annotations

import math

import torch
from torch import nn

LOG2 = math.log(2.0)


def log_cosh(z: torch.Tensor) -> torch.Tensor:
    """log cosh z, stable for large |Re z|, real or complex (log cosh is even: reflect to Re z >= 0)."""
    if z.is_complex():
        z = torch.where(z.real < 0, -z, z)
        return z + torch.log1p(torch.exp(-2 * z)) - LOG2
    a = z.abs()
    return a + torch.log1p(torch.exp(-2 * a)) - LOG2


class RBMNet(nn.Module):
    """log psi of an RBM on N +-1 spins.

    Args:
        n_sites: N.
        n_hidden: M hidden units (symmetric: a multiple of N, F = M / N filters).
        symmetric: translation-invariant weights (see the module docstring).
        complex_weights: complex parameters (a phase) instead of real ones.
        init_std: W, b ~ init_std N(0, 1), a = 0 (the hands-on draws 0.1 N(0, 1); spec Sec. 2.4); imaginary
            parts ~ init_std_imag N(0, 1).
        seed: the initialization's seed (independent of the global RNG).
    """

    def __init__(self, n_sites: int, n_hidden: int, symmetric: bool = False, complex_weights: bool = False,
                 init_std: float = 0.01, init_std_imag: float = 0.01, seed: int = 0):
        super().__init__()
        if symmetric and n_hidden % n_sites:
            raise ValueError(f"n_hidden must be a multiple of n_sites={n_sites} for a translation-symmetric RBM "
                             f"(n_hidden / n_sites filters); got {n_hidden}")
        self.n_sites, self.symmetric, self.complex = n_sites, symmetric, complex_weights
        rows = n_hidden // n_sites if symmetric else n_hidden
        n_vis = 1 if symmetric else n_sites
        g = torch.Generator().manual_seed(seed)
        d = torch.float64
        self.a = nn.Parameter(torch.zeros(n_vis, dtype=d))
        self.b = nn.Parameter(init_std * torch.randn(rows, generator=g, dtype=d))
        self.W = nn.Parameter(init_std * torch.randn(rows, n_sites, generator=g, dtype=d))
        if complex_weights:
            self.a_im = nn.Parameter(torch.zeros(n_vis, dtype=d))
            self.b_im = nn.Parameter(init_std_imag * torch.randn(rows, generator=g, dtype=d))
            self.W_im = nn.Parameter(init_std_imag * torch.randn(rows, n_sites, generator=g, dtype=d))
        if symmetric:
            # shifts[t, i] = (i + t) mod N: row t of x[:, shifts] is x translated by t; back[t, j] = (j - t) mod N
            # expands a filter into its N translated copies, W[f, back] (F, T, N), so theta is one dense matmul
            ar = torch.arange(n_sites)
            self.register_buffer("shifts", (ar[None, :] + ar[:, None]) % n_sites, persistent=False)
            self.register_buffer("back", (ar[None, :] - ar[:, None]) % n_sites, persistent=False)

    def ordered_parameters(self) -> list[nn.Parameter]:
        """The parameters in the order of the columns of `log_derivs`."""
        ps = [self.a, self.b, self.W]
        return ps + [self.a_im, self.b_im, self.W_im] if self.complex else ps

    def _weights(self):
        if self.complex:
            return (torch.complex(self.a, self.a_im), torch.complex(self.b, self.b_im),
                    torch.complex(self.W, self.W_im))
        return self.a, self.b, self.W

    def _theta(self, x: torch.Tensor, b, W) -> torch.Tensor:
        """theta (B, M); symmetric: column f * N + t is filter f at translation t."""
        if self.symmetric:
            return x.to(W.dtype) @ W[:, self.back].reshape(-1, self.n_sites).T + b.repeat_interleave(self.n_sites)
        return x.to(W.dtype) @ W.T + b

    def forward(self, x: torch.Tensor, real_only: bool = False) -> torch.Tensor:
        """log psi(x) for x (B, N) of +-1: real (B,), or complex (B,) for complex weights (the imaginary part, the
        phase, is defined modulo 2 pi)."""
        x = x.to(self.W.dtype)
        vis = x.sum(1) * self.a[0] if self.symmetric else x @ self.a
        u = self._theta(x, self.b, self.W)
        if not self.complex:
            return vis + log_cosh(u).sum(1)
        # complex theta = u + i v in real arithmetic (complex kernels are several times slower on CPU):
        # cosh(u + iv) = cosh u cos v + i sinh u sin v, so
        # log|cosh| = log cosh u + 1/2 log(1 - sin^2 v / cosh^2 u), arg = atan2(tanh u sin v, cos v)
        v = self._theta(x, self.b_im, self.W_im)
        su, sv = torch.tanh(u), torch.sin(v)
        re = log_cosh(u) + 0.5 * torch.log1p(-sv * sv * (1 - su * su))
        if real_only:
            return vis + re.sum(1)
        im = torch.atan2(su * sv, torch.cos(v))
        vis_im = x.sum(1) * self.a_im[0] if self.symmetric else x @ self.a_im
        return torch.complex(vis + re.sum(1), vis_im + im.sum(1))

    def log_abs(self, x: torch.Tensor) -> torch.Tensor:
        """Re log psi = log |psi| (all that |psi|^2 sampling needs; skips the phase)."""
        return self.forward(x, real_only=True)

    def log_derivs(self, x: torch.Tensor) -> torch.Tensor:
        """O (B, P): d log psi / d p for every real parameter p, in `ordered_parameters` order."""
        a, b, W = self._weights()
        theta = self._theta(x, b, W)
        t = torch.tanh(theta)
        xv = x.to(W.dtype)
        B = x.shape[0]
        if self.symmetric:
            F = W.shape[0]
            t = t.view(B, F, self.n_sites)
            xs = xv[:, self.shifts]  # (B, T, N)
            cols = [xv.sum(1, keepdim=True), t.sum(2), torch.einsum("bft,bti->bfi", t, xs).reshape(B, -1)]
        else:
            cols = [xv, t, (t[:, :, None] * xv[:, None, :]).reshape(B, -1)]
        O = torch.cat(cols, 1)
        return torch.cat([O, 1j * O], 1) if self.complex else O
