"""Coupling-layer normalizing flows (plain nn.Modules; the tasks are in zoo/flows.py).

Conventions of Wang's lecture note (Liu, Li & Wang, Marburg 2018, Sec. 3.2.3, Eqs. 41, 43-44, and Sec. 5.3, Eq. 65):
the flow generates x = g(z) from the prior z ~ N(0, I), and each coupling layer keeps the masked half and moves the
other,

    RealNVP (Dinh et al., arXiv:1605.08803; note Eq. 43):  x_> = z_> * exp(s(z_<)) + t(z_<),  ln|det dx/dz| = sum s
    NICE    (Dinh et al., arXiv:1410.8516;  note Eq. 65):  x_> = z_> + t(z_<),                  ln|det dx/dz| = 0

so ln q(x) = ln N(z; 0, I) - sum_layers ln|det dx/dz| (note Eq. 44), with the -(d/2) ln 2 pi of the prior kept (the
hands-on notebooks drop it; spec-wang-lecture.md Sec. 4.2: NLLs must be comparable to entropies).
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["mlp", "Coupling", "CouplingFlow", "alternating_masks", "checkerboard_masks"]

KINDS = ("affine", "additive")
TANH_SCALES = ("none", "last", "all")


def mlp(d_in: int, hidden: list[int], d_out: int, tanh_out: bool = False) -> nn.Sequential:
    """Linear-ReLU stacks (the hands-on's Linear(1, 10)-ReLU-Linear(10, 1) for hidden = [10]); Tanh at the end
    for a bounded scale (the RealNVP solution notebook's fix "to avoid exp() blowing up")."""
    layers, d = [], d_in
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        d = h
    layers.append(nn.Linear(d, d_out))
    if tanh_out:
        layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def alternating_masks(dim: int, n: int) -> list[torch.Tensor]:
    """First half kept, then second half kept, alternating (the Ring2D hands-on: d = 2, so each half is 1-D)."""
    first = torch.zeros(dim)
    first[: dim // 2] = 1
    return [first if k % 2 == 0 else 1 - first for k in range(n)]


def checkerboard_masks(L: int, n: int) -> list[torch.Tensor]:
    """Checkerboard masks of the L x L lattice (sites in C order), alternating parity (NeuralRG's
    disentangler-free baseline, ours: a plain stack of couplings, no hierarchy)."""
    i, j = torch.meshgrid(torch.arange(L), torch.arange(L), indexing="ij")
    even = ((i + j) % 2 == 0).float().reshape(-1)
    return [even if k % 2 == 0 else 1 - even for k in range(n)]


class Coupling(nn.Module):
    """One coupling layer: `mask` = 1 on the conditioning half z_<, 0 on the half it moves.  The conditioner nets
    read the masked vector (dim d) and write all d outputs, of which only the moved half is used."""

    def __init__(self, mask: torch.Tensor, hidden: list[int], kind: str = "affine", tanh_scale: bool = False):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        d = mask.numel()
        self.kind = kind
        self.register_buffer("mask", mask.clone().float())
        self.t = mlp(d, hidden, d)
        self.s = mlp(d, hidden, d, tanh_out=tanh_scale) if kind == "affine" else None

    def _st(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        move = 1 - self.mask
        t = self.t(kept) * move
        s = self.s(kept) * move if self.s is not None else torch.zeros_like(t)
        return s, t

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x = g(z) and ln|det dx/dz| per sample."""
        kept = z * self.mask
        s, t = self._st(kept)
        x = kept + (1 - self.mask) * (z * torch.exp(s) + t)
        return x, s.sum(-1)

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = g^-1(x) and ln|det dz/dx| = -sum s per sample."""
        kept = x * self.mask
        s, t = self._st(kept)
        z = kept + (1 - self.mask) * ((x - t) * torch.exp(-s))
        return z, -s.sum(-1)


class CouplingFlow(nn.Module):
    """A stack of couplings on a standard-normal prior: generation g(z), inference g^-1(x), exact ln q(x)."""

    def __init__(self, masks: list[torch.Tensor], hidden: list[int], kind: str = "affine", tanh_scale: str = "none"):
        super().__init__()
        if tanh_scale not in TANH_SCALES:
            raise ValueError(f"tanh_scale must be one of {TANH_SCALES}; got {tanh_scale!r}")
        if not masks:
            raise ValueError("a flow needs at least one coupling layer")
        n = len(masks)
        self.dim = masks[0].numel()
        self.layers = nn.ModuleList(
            Coupling(m, hidden, kind, tanh_scale == "all" or (tanh_scale == "last" and k == n - 1))
            for k, m in enumerate(masks))

    def prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return -0.5 * (z * z).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x = g(z) and the summed ln|det dx/dz|."""
        logdet = z.new_zeros(z.shape[:-1])
        for layer in self.layers:
            z, ld = layer(z)
            logdet = logdet + ld
        return z, logdet

    def inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = g^-1(x) and the summed ln|det dz/dx|."""
        logdet = x.new_zeros(x.shape[:-1])
        for layer in reversed(self.layers):
            x, ld = layer.inverse(x)
            logdet = logdet + ld
        return x, logdet

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """ln q(x) = ln N(g^-1(x)) + ln|det dz/dx| in nats."""
        z, logdet = self.inverse(x)
        return self.prior_log_prob(z) + logdet

    def sample_with_log_prob(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x = g(z) for given prior draws z, and ln q(x) = ln N(z) - ln|det dx/dz| (reparametrized)."""
        x, logdet = self(z)
        return x, self.prior_log_prob(z) - logdet
