"""The RUGAN networks (Casert, Mills, Vieijra, Ryckebusch, Tamblyn, arXiv:2002.07055, Supp. A.2 and Fig. 4; thesis
App. A, L3141-3154): residual, fully convolutional, circular padding everywhere, and the WGAN gradient penalty.

Residual blocks (Supp. A.2, Fig. 4C), average-pool down-sampling in the critic and nearest-neighbour x2 up-sampling in
the generator (Fig. 4 caption, thesis L3148), no dense layer in the generator and a tanh output (Supp. A.2, L3150),
no batch norm in the critic (L3148).  Widths, LeakyReLU(0.2) and the critic's global average pool (which makes it
size-agnostic) are ours: the paper leaves the layer lists to its code (Supp. A.2, L3154).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2, padding_mode="circular" if k > 1 else "zeros")


def _circular_pad1(x: torch.Tensor) -> torch.Tensor:
    """x (B, C, H, W) wrapped by one site on each side: the same values as F.pad(x, (1, 1, 1, 1), "circular") (a
    copy), in two whole-row concatenations and in x's memory format (channels-last stays channels-last, where
    F.pad's strided slice copies were the generator's biggest cost after the convolutions in bf16)."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        v = x.permute(0, 2, 3, 1)  # contiguous (B, H, W, C): rows and columns are whole blocks of memory
        v = torch.cat([v[:, -1:], v, v[:, :1]], 1)
        return torch.cat([v[:, :, -1:], v, v[:, :, :1]], 2).permute(0, 3, 1, 2)
    v = torch.cat([x[..., -1:, :], x, x[..., :1, :]], -2)
    return torch.cat([v[..., -1:], v, v[..., :1]], -1)


def _act_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """conv(leaky_relu(x, 0.2)) for a 3x3 circular `conv`, bit for bit in fp32: pad first, then activate the padded
    copy in place (an elementwise map commutes with the copy), and convolve without padding as nn.Conv2d does after
    its own circular pad - one full pass over the activations fewer than activate, pad, convolve."""
    return F.conv2d(F.leaky_relu_(_circular_pad1(x), 0.2), conv.weight, conv.bias)


def _add_upsampled_(h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """h += nearest-x2-up-sampled x, in place, as a broadcast onto h's 2x2 blocks in h's memory layout."""
    B, C, H, W = x.shape
    if h.is_contiguous():
        h.view(B, C, H, 2, W, 2).add_(x[:, :, :, None, :, None])
    elif h.is_contiguous(memory_format=torch.channels_last):
        h.permute(0, 2, 3, 1).view(B, H, 2, W, 2, C).add_(x.permute(0, 2, 3, 1)[:, :, None, :, None, :])
    else:
        h.add_(F.interpolate(x, scale_factor=2, mode="nearest"))
    return h


class GenBlock(nn.Module):
    """Pre-activation residual block, optional nearest-neighbour x2 up-sampling first."""

    def __init__(self, cin: int, cout: int, up: bool):
        super().__init__()
        self.up = up
        self.conv1, self.conv2 = _conv(cin, cout), _conv(cout, cout)
        self.skip = _conv(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        if self.up and isinstance(self.skip, nn.Identity):
            # nearest x2 only copies values, so activating before up-sampling gives the same numbers for a quarter
            # of the work, and the identity skip is added onto each 2x2 block by broadcasting (same sums, no
            # up-sampled copy of x)
            a = F.interpolate(F.leaky_relu(x, 0.2), scale_factor=2, mode="nearest")
            h = _act_conv(self.conv2, F.conv2d(_circular_pad1(a), self.conv1.weight, self.conv1.bias))
            return _add_upsampled_(h, x)
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = _act_conv(self.conv2, _act_conv(self.conv1, x))
        return h.add_(self.skip(x))  # = skip(x) + h exactly (addition commutes), without a new tensor


class CriticBlock(nn.Module):
    """Pre-activation residual block, optional 2x2 average-pool down-sampling last, optional dropout."""

    def __init__(self, cin: int, cout: int, down: bool, dropout: float):
        super().__init__()
        self.down = down
        self.conv1, self.conv2 = _conv(cin, cout), _conv(cout, cout)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.skip = _conv(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.drop(self.conv2(F.leaky_relu(self.conv1(F.leaky_relu(x, 0.2)), 0.2)))
        s = self.skip(x)
        if self.down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return s + h


def _label_planes(y: torch.Tensor, H: int, W: int) -> torch.Tensor:
    return y[:, :, None, None].expand(-1, -1, H, W)


class Generator(nn.Module):
    def __init__(self, n_labels: int, latent_channels: int, width: int):
        super().__init__()
        self.latent_channels = latent_channels
        self.inp = _conv(latent_channels + n_labels, width)
        self.blocks = nn.Sequential(GenBlock(width, width, True), GenBlock(width, width, True),
                                    GenBlock(width, width, False))
        self.out = _conv(width, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """z (B, C_z, l, l), y (B, n_labels) normalized labels -> (B, 4l, 4l) in (-1, 1)."""
        zy = torch.cat([z, _label_planes(y, *z.shape[-2:])], 1)
        if z.is_contiguous(memory_format=torch.channels_last) and not z.is_contiguous():
            zy = zy.contiguous(memory_format=torch.channels_last)  # keep the caller's layout (cat may not)
        h = self.blocks(F.conv2d(_circular_pad1(zy), self.inp.weight, self.inp.bias))
        # the output layer and tanh in fp32 even under a bf16 autocast (RUGANTask.sample(precision="bf16")): the
        # sign of this pre-activation is the spin, so it is not rounded to bf16's 8 bits (one output channel: cheap)
        with torch.autocast(h.device.type, enabled=False):
            out = _act_conv(self.out, h.float())
        return torch.tanh(out).squeeze(1)


class Critic(nn.Module):
    def __init__(self, n_labels: int, width: int, dropout: float):
        super().__init__()
        self.inp = _conv(1 + n_labels, width)
        self.blocks = nn.Sequential(CriticBlock(width, width, True, dropout), CriticBlock(width, width, True, dropout),
                                    CriticBlock(width, width, False, 0.0))
        self.head = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x (B, L, L), y (B, n_labels) -> (B,) scores."""
        h = self.inp(torch.cat([x.unsqueeze(1), _label_planes(y, *x.shape[-2:])], 1))
        h = F.leaky_relu(self.blocks(h), 0.2).mean(dim=(-2, -1))
        return self.head(h).squeeze(-1)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor,
                     eps: torch.Tensor | None = None) -> torch.Tensor:
    """E[(||grad_x C(x_hat, y)||_2 - 1)^2], x_hat = eps real + (1 - eps) fake, eps ~ U[0, 1] per sample
    (uniformly on straight lines between the pair, with the pair's label y: arXiv:2002.07055 Supp. A.1, Eq. (7b),
    thesis L3135)."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape; got {tuple(real.shape)} and {tuple(fake.shape)}")
    if eps is None:
        eps = torch.rand(len(real), device=real.device, dtype=real.dtype)
    e = eps.view(-1, *([1] * (real.dim() - 1)))
    x_hat = (e * real + (1 - e) * fake).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat, y).sum(), x_hat, create_graph=True)
    return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
