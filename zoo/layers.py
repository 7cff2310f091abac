"""Layers shared by the models."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PADDINGS = ("tf_same", "circular")


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow-style 'SAME' padding: output size ceil(n / stride).

    The total padding max((ceil(n/s) - 1) s + k - n, 0) is split with the extra pixel after, as
    TensorFlow does (an even 4x4 kernel gets 1 before and 2 after).  padding='circular' uses the
    same amounts but wraps around (periodic lattices).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: str = "tf_same"):
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}; got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0)
        self.pad_mode = "constant" if padding == "tf_same" else "circular"

    def _pads(self, n: int, k: int, s: int) -> tuple[int, int]:
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        top, bottom = self._pads(x.shape[-2], kh, sh)
        left, right = self._pads(x.shape[-1], kw, sw)
        x = F.pad(x, (left, right, top, bottom), mode=self.pad_mode)
        return super().forward(x)


def reducing_stack(in_channels: int, n_reducing: int, reducing_filters: int, nonreducing_filters: int,
                   padding: str = "tf_same") -> nn.Sequential:
    """The Mills & Tamblyn stack R-(N-N-R)x(n-1): 3x3/stride-2 reducing convolutions with two
    4x4/stride-1 non-reducing ones between each pair, ReLU after every convolution.  Shared by the
    Ising CNN (32 reducing filters, 3 reducing layers) and the Schrodinger CNN (64, log2 n - 1)."""
    layers: list[nn.Module] = []
    c = in_channels
    for i in range(n_reducing):
        if i > 0:
            for _ in range(2):
                layers += [SameConv2d(c, nonreducing_filters, 4, 1, padding), nn.ReLU()]
                c = nonreducing_filters
        layers += [SameConv2d(c, reducing_filters, 3, 2, padding), nn.ReLU()]
        c = reducing_filters
    return nn.Sequential(*layers)


class FP32Linear(nn.Linear):
    """A Linear layer that computes in float32 even inside a bfloat16 autocast (`--trainer.precision bf16-mixed`).

    The output layer of a regression network: its value *is* the physical prediction, and bf16 keeps 8 bits of
    mantissa, so a bf16 output would round an 8x8 Ising energy (scale ~64 J) to ~0.25 J, twice the card's median
    error.  The hidden layers run on the bf16 matrix units; this one (a few hundred weights) stays exact.  Same
    parameters and state-dict keys as nn.Linear, and the same arithmetic outside autocast, so fp32 checkpoints load
    and evaluate bit for bit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_autocast_enabled(x.device.type):
            return super().forward(x)
        with torch.autocast(x.device.type, enabled=False):
            return F.linear(x.float(), self.weight.float(), None if self.bias is None else self.bias.float())
