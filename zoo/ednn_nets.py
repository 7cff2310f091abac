"""The extensive wrapper and the tile networks of the EDNN (Mills, Ryczko, Luchak, Domurad, Beeler & Tamblyn,
Chem. Sci. 10, 4129 (2019), arXiv:1708.06686; counting: Mills & Tamblyn, "Weakly-supervised multi-class object
localization using only object counts as labels", preprint 2021 = thesis Sec. 3.5).

Plain `nn.Module`s, no Lightning: `zoo.ednn` wraps them into tasks.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .layers import SameConv2d

PADDINGS = ("circular", "zeros")


# ===================================================================================== the wrapper
class EDNN(nn.Module):
    """Extensive wrapper around a tile network (Chem. Sci. 2019, Sec. 2, Fig. 2 and Appendix;
    thesis L1751, L1948-1978): the input is cut into non-overlapping f x f focus regions, each with a context border
    of width c taken from a periodically or zero padded copy, the tiles start at the origin with stride f; one network
    evaluates every tile and the outputs are summed.

    Args:
        net: module mapping (n, C, t, t) tiles (t = focus + 2 context) to (n, l) or (n,) contributions.
        focus: side f of the focus regions (stride of the tiling).
        context: width c of the context border.
        padding: 'circular' (periodic systems, the paper's physics EDNNs) or 'zeros' (images, the counting paper).
        max_tiles: tiles per network call when no gradient is needed (bounds memory on huge inputs).
        dedup: evaluate the network once per distinct tile and scatter the outputs back (exact: the same outputs
            and, through the gather's backward, the same gradients).  Pays off for discrete inputs: an 8 x 8 Ising
            batch of 2000 holds 128 000 3 x 3 tiles but at most 512 distinct ones.

    Inputs are (B, H, W) (one channel) or (B, C, H, W); H and W must be multiples of `focus`.
    """

    def __init__(self, net: nn.Module, focus: int, context: int, padding: str = "circular", max_tiles: int = 1 << 16,
                 dedup: bool = False):
        super().__init__()
        if int(focus) != focus or focus < 1:
            raise ValueError(f"focus must be an integer >= 1; got {focus!r}")
        if int(context) != context or context < 0:
            raise ValueError(f"context must be an integer >= 0; got {context!r}")
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}; got {padding!r}")
        self.net, self.focus, self.context, self.padding = net, int(focus), int(context), padding
        self.max_tiles, self.dedup = int(max_tiles), bool(dedup)

    @property
    def tile_size(self) -> int:
        return self.focus + 2 * self.context

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4:
            raise ValueError(f"input must be (B, H, W) or (B, C, H, W); got shape {tuple(x.shape)}")
        H, W = x.shape[-2:]
        if H % self.focus or W % self.focus or H == 0 or W == 0:
            raise ValueError(f"input side lengths must be positive multiples of focus={self.focus}; got {H}x{W}")
        return x

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H + 2c, W + 2c), periodic or zero padded (any c, also c > H)."""
        c = self.context
        if c == 0:
            return x
        if self.padding == "zeros":
            return F.pad(x, (c, c, c, c))
        H, W = x.shape[-2:]
        rows = torch.arange(-c, H + c, device=x.device) % H
        cols = torch.arange(-c, W + c, device=x.device) % W
        return x.index_select(-2, rows).index_select(-1, cols)

    def tiles(self, x: torch.Tensor) -> torch.Tensor:
        """(B, [C,] H, W) -> (B, H/f, W/f, C, t, t): tile (i, j) is rows i f - c ... i f + f + c - 1 of x."""
        x = self._check(x)
        t, f = self.tile_size, self.focus
        return self.pad(x).unfold(2, t, f).unfold(3, t, f).permute(0, 2, 3, 1, 4, 5)

    def _net(self, flat: torch.Tensor) -> torch.Tensor:
        if self.dedup and len(flat) > 1:
            rows = flat.reshape(len(flat), -1)
            if rows.shape[1] <= 62 and bool(((rows == 1) | (rows == -1)).all()):
                # +-1 rows: an exact integer key per row (bit k = element k), far faster than unique(dim=0)
                bits = 2 ** torch.arange(rows.shape[1], device=rows.device, dtype=torch.int64)
                key = ((rows > 0).long() * bits).sum(1)
                _, first, inverse = _unique_first(key)
                uniq = flat[first]
            else:
                uniq, inverse = torch.unique(rows, dim=0, return_inverse=True)
                uniq = uniq.reshape(-1, *flat.shape[1:])
            if len(uniq) < 0.8 * len(flat):
                return self._net_plain(uniq)[inverse]
        return self._net_plain(flat)

    def _net_plain(self, flat: torch.Tensor) -> torch.Tensor:
        out = self.net(flat)
        return out.unsqueeze(-1) if out.dim() == 1 else out.reshape(len(flat), -1)

    def tile_contributions(self, x: torch.Tensor) -> torch.Tensor:
        """Per-tile outputs C_{b,i,j}: (B, H/f, W/f, l)."""
        fully_conv = getattr(self.net, "fully_convolutional", None)
        if fully_conv is not None and fully_conv(self.focus):  # same outputs, shared pixels convolved once
            return self.net.dense_map(self.pad(self._check(x)), self.focus).permute(0, 2, 3, 1)
        return self.tiled_contributions(x)

    def tiled_contributions(self, x: torch.Tensor) -> torch.Tensor:
        """`tile_contributions` by cutting every tile and running the network on each (any network)."""
        X = self.tiles(x)
        B, nh, nw = X.shape[:3]
        flat = X.reshape(B * nh * nw, *X.shape[3:])
        if torch.is_grad_enabled() or len(flat) <= self.max_tiles:
            out = self._net(flat)
        else:  # chunked inference: huge lattices without materialising every hidden activation
            out = torch.cat([self._net(flat[k:k + self.max_tiles]) for k in range(0, len(flat), self.max_tiles)])
        return out.reshape(B, nh, nw, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Extensive output: the sum of the tile contributions, (B, l)."""
        return self.tile_contributions(x).sum(dim=(1, 2))


def _unique_first(key: torch.Tensor):
    """(unique keys, index of one occurrence of each, inverse) for a 1-D integer tensor."""
    uniq, inverse = torch.unique(key, return_inverse=True)
    first = torch.empty(len(uniq), dtype=torch.long, device=key.device)
    first.scatter_(0, inverse, torch.arange(len(key), device=key.device))
    return uniq, first, inverse


# ===================================================================================== tile networks
class IsingTileMLP(nn.Module):
    """Dense t^2 -> 32 t^2 -> 64 -> 64 -> 1 on the flattened +-1 tile (Chem. Sci. 2019, Sec. 2.1 (thesis L1767);
    params 25 601 / 76 289 / 183 041 for t = 3 / 5 / 7, matching "over 7 times the parameters", Sec. 3.1 (thesis
    L1812)).  ReLU: ours, the paper states no activation."""

    def __init__(self, tile: int, width_factor: int = 32, hidden: int = 64):
        super().__init__()
        n = tile * tile
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(n, width_factor * n), nn.ReLU(),
                                    nn.Linear(width_factor * n, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                    nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class _ConvStack(nn.Module):
    """Loads state dicts written before the 'same' convolutions became `zoo.layers.SameConv2d`: those stacks were
    [ZeroPad2d, Conv2d, ReLU] per layer (conv at index 3k + 1), now [SameConv2d, ReLU] (conv at 2k), the same
    padding and weights, so published safetensors and old Lightning checkpoints keep loading unchanged."""

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        old = f"{prefix}features.1.weight"
        if old in state_dict and isinstance(self.features[1], nn.ReLU):
            head = f"{prefix}features."
            for key in [k for k in state_dict if k.startswith(head)]:
                idx, rest = key[len(head):].split(".", 1)
                state_dict[f"{head}{2 * (int(idx) // 3)}.{rest}"] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class CountTileCNN(_ConvStack):
    """floor(log2(t) - 1) conv layers of `filters` k x k / stride-2 kernels, ReLU, then dense `fc_width`, dense
    `n_out` (counting paper, Sec. 2 (thesis L2141): 64 filters, k = 4, dense 1024).

    conv_padding: 'same' (TensorFlow 'SAME', zero padded inside each tile) or 'valid' (no padding); the paper states
        neither.  With 'valid' convolutions a 24 x 24 tile shrinks to 1 x 1 and the stride-2 grid of every layer lines
        up with the focus grid, so the tiles' shared pixels can be convolved once over the whole image (`dense_map`),
        about 8x less work than tile by tile for f = 8, c = 8, with identical outputs.
    zero_background: subtract the network's output on an all-zero tile, so empty image regions count exactly zero
        (ours).  Without it a small per-tile offset, harmless on the training canvas, is summed over 16x more tiles on
        a 256 x 256 test image.
    """

    def __init__(self, tile: int, in_channels: int = 1, n_out: int = 1, filters: int = 64, kernel: int = 4,
                 fc_width: int = 1024, conv_padding: str = "same", zero_background: bool = False):
        super().__init__()
        if conv_padding not in ("same", "valid"):
            raise ValueError(f"conv_padding must be 'same' or 'valid'; got {conv_padding!r}")
        n_conv = int(math.floor(math.log2(tile) - 1))
        if n_conv < 1:
            raise ValueError(f"tile side {tile} is too small for the counting CNN (needs focus + 2 context >= 4)")
        layers, c, s = [], in_channels, tile
        for _ in range(n_conv):
            if conv_padding == "same":
                s_out = math.ceil(s / 2)
                layers += [SameConv2d(c, filters, kernel, stride=2), nn.ReLU()]
            else:
                s_out = (s - kernel) // 2 + 1
                if s_out < 1:
                    raise ValueError(f"tile side {tile} is too small for {n_conv} valid {kernel}x{kernel} convolutions")
                layers += [nn.Conv2d(c, filters, kernel, stride=2), nn.ReLU()]
            c, s = filters, s_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(filters * s * s, fc_width), nn.ReLU(),
                                  nn.Linear(fc_width, n_out))
        self.n_conv, self.tile, self.out_side = n_conv, tile, s
        self.conv_padding, self.zero_background = conv_padding, bool(zero_background)

    def _background(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.new_zeros(1, x.shape[1], self.tile, self.tile)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x))
        return out - self._background(x) if self.zero_background else out

    def fully_convolutional(self, focus: int) -> bool:
        """Whether `dense_map` gives the tile outputs for this focus (valid convolutions, 1 x 1 output, aligned
        grid)."""
        return self.conv_padding == "valid" and self.out_side == 1 and focus % 2 ** self.n_conv == 0

    def dense_map(self, padded: torch.Tensor, focus: int) -> torch.Tensor:
        """Tile outputs (B, n_out, nh, nw) of a padded image whose tile (i, j) starts at pixel (i f, j f)."""
        step = focus // 2 ** self.n_conv
        h = self.features(padded)[..., ::step, ::step]
        nh, nw = (padded.shape[-2] - self.tile) // focus + 1, (padded.shape[-1] - self.tile) // focus + 1
        h = h[..., :nh, :nw]
        fc1, fc2 = self.head[1], self.head[3]
        h = F.relu(F.conv2d(h, fc1.weight[:, :, None, None], fc1.bias))  # the dense layers as 1 x 1 convolutions
        out = F.conv2d(h, fc2.weight[:, :, None, None], fc2.bias)
        if self.zero_background:
            out = out - self._background(padded)[:, :, None, None]
        return out


class AtomsTileCNN(_ConvStack):
    """The EDNN's DFT-sheet CNN (Chem. Sci. 2019, Sec. 2.1 (thesis L1767-1769)): 13 conv layers and two dense
    layers, ReLU, TensorFlow 'SAME' zero padding (activation and padding: ours, the paper states neither):

        2 x reducing 3x3 / stride 2, `filters`          (paper 64)
        6 x non-reducing 4x4 / stride 1, filters // 4  (paper 16)
        1 x reducing 3x3 / stride 2, `filters`          (paper 64)
        4 x non-reducing 3x3 / stride 1, filters // 2  (paper 32)
        dense `fc_width` (paper 1024), dense 1.

    filters = 64, fc_width = 1024 is the paper's network; the proxy configs shrink both for the CPU.  Two fixed
    constants (ours): the input is divided by Z_N = 7 (so V is O(1)) and the output multiplied by OUT_SCALE eV (tile
    energies are tens of eV).  Initialisation (ours, the paper states none): He (fan-in, ReLU) weights and zero biases,
    except the last layer: zero weights and bias `bias_init` (eV), so training starts from a constant per tile (the
    task sets the proxy's mean energy per focus) instead of spending its first thousands of steps moving one bias."""

    IN_SCALE, OUT_SCALE = 1.0 / 7.0, 10.0

    def __init__(self, tile: int, filters: int = 64, fc_width: int = 1024, bias_init: float = 0.0):
        super().__init__()
        if tile < 8:
            raise ValueError(f"tile side {tile} is too small for the atoms CNN (needs focus + 2 context >= 8)")
        if filters < 4:
            raise ValueError(f"filters must be >= 4 (non-reducing layers use filters // 4); got {filters}")
        plan = [(3, 2, filters)] * 2 + [(4, 1, filters // 4)] * 6 + [(3, 2, filters)] + [(3, 1, filters // 2)] * 4
        layers, c, s = [], 1, tile
        for k, stride, out in plan:
            layers += [SameConv2d(c, out, k, stride=stride), nn.ReLU()]
            c, s = out, math.ceil(s / stride)
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * s * s, fc_width), nn.ReLU(), nn.Linear(fc_width, 1))
        # PyTorch's default init shrinks the signal through 13 thin ReLU layers, and a random last layer makes the
        # first steps kill units while the output drifts to the label mean: training then stalls at the mean
        for mod in self.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                nn.init.zeros_(mod.bias)
        nn.init.zeros_(self.head[-1].weight)
        nn.init.constant_(self.head[-1].bias, bias_init / self.OUT_SCALE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x * self.IN_SCALE)) * self.OUT_SCALE
