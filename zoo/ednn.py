"""EDNN: extensive deep neural networks (Mills, Ryczko, Luchak, Domurad, Beeler & Tamblyn, Chem. Sci. 10, 4129
(2019), arXiv:1708.06686, DOI 10.1039/c8sc04578j; thesis Sec. 3.3-3.4) and weakly supervised counting with an EDNN
(Mills & Tamblyn, "Weakly-supervised multi-class object localization using only object counts as labels", preprint
2021; thesis Sec. 3.5).

`EDNNTask` is the shared task around the extensive wrapper `zoo.ednn_nets.EDNN`: the loss is the MSE on the summed
output, never per tile (Chem. Sci. 2019, Sec. 2, Fig. 2 and Appendix;
thesis L1751, L1948-1978), so a model trained on 8 x 8
predicts any multiple of f at O(N).  Its three tasks are subclasses, each with its tile network and its domain API:
- `IsingEDNN` ('ednn', the default class): Ising energy from +-1 spins, dense tile network (Sec. 3.1);
- `CountingEDNN`: per-class object counts and density maps of images, the counting CNN (counting paper, Sec. 2);
- `AtomsEDNN`: total energy of rendered atom sheets, the DFT-sheet CNN (Sec. 3.2), on the "atoms as pictures" PROXY
  data of `datamodules.atoms` (synthetic pair energies, not DFT).
Cards written before the subclasses carry `net` ('ising_mlp' / 'count_cnn' / 'atoms_cnn'): `from_legacy_args`.
"""
from __future__ import annotations

import inspect

import numpy as np
import torch
import torchmetrics
from torch import nn

from datamodules import validation
from .base import RegressionHooks, SupervisedTask
from .ednn_nets import EDNN, AtomsTileCNN, CountTileCNN, IsingTileMLP
from .registry import register_model

# initial per-pixel energy of the atoms tile net: about the mean label per pixel of the PROXY data
# (datamodules.atoms: -368 eV per 64 x 64 cell of 0.2 Angstrom pixels, -2.25 eV / Angstrom^2); an initial value only
ATOMS_REF_EV_PER_PIXEL = -0.09
# float count images must be on the training scale [0, 1]; the slack admits resampling overshoot
IMAGE_RANGE_TOL = 1e-3
# init args of the cards and runs from before the subclasses: `net` picked the class, some args were unused by it
LEGACY_NETS = {"ising_mlp": "IsingEDNN", "count_cnn": "CountingEDNN", "atoms_cnn": "AtomsEDNN"}


class EDNNTask(RegressionHooks, SupervisedTask):
    """What the three EDNN tasks share: the wrapper, MSE on the sum, eval steps.  Subclasses set `tile_net()`,
    `scalar` (one extensive output, squeezed) and `dedup` (+-1 inputs: evaluate each distinct tile once), and take
    focus, context, padding and the optimizer arguments (paper: Adam 1e-4, Chem. Sci. 2019 Table 1 (thesis
    L1783-1788) and counting preprint Sec. 2 (thesis L2145); configs state what they use)."""

    registry_name = "ednn"
    scalar = True
    dedup = False
    target_unit = ""

    @classmethod
    def from_legacy_args(cls, init_args: dict) -> tuple[type, dict]:
        """(class, init args) of a card or checkpoint written with the `net` switch; args without it pass through.
        Dropped with the switch: args the chosen class does not take (the old signature gave every net every arg;
        they were unused, or had to equal the one value the class fixes), and padding=None (the class's default is
        the old per-net default)."""
        args = dict(init_args)
        net = args.pop("net", None)
        if net is None:
            return cls, args
        if net not in LEGACY_NETS:
            raise ValueError(f"legacy EDNN init args: net must be one of {sorted(LEGACY_NETS)}; got {net!r}")
        target = globals()[LEGACY_NETS[net]]
        if args.get("padding", "") is None:
            args.pop("padding")
        takes = set(inspect.signature(target.__init__).parameters)
        for k in [k for k in args if k not in takes]:
            if k in ("n_outputs", "in_channels") and args[k] != 1:
                raise ValueError(f"legacy EDNN init args: net={net!r} takes {k}=1 only; got {args[k]!r}")
            args.pop(k)
        return target, args

    # -- structure ------------------------------------------------------------------------------
    @property
    def focus(self) -> int:
        return self.hparams.focus

    @property
    def context(self) -> int:
        return self.hparams.context

    def tile_net(self, tile: int) -> nn.Module:
        raise NotImplementedError

    def configure_models(self) -> None:
        hp = self.hparams
        self.ednn = EDNN(self.tile_net(hp.focus + 2 * hp.context), hp.focus, hp.context, hp.padding, dedup=self.dedup)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, [C,] H, W) -> (B,) for a scalar EDNN, else (B, l)."""
        out = self.ednn(x.to(self.dtype))
        return out.squeeze(-1) if self.scalar else out

    def tile_contributions(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H/f, W/f) for a scalar EDNN, else (B, H/f, W/f, l)."""
        out = self.ednn.tile_contributions(x.to(self.dtype))
        return out.squeeze(-1) if self.scalar else out

    # -- training -------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.loss_fn(self(x), y.to(self.dtype))  # on the sum over tiles (Chem. Sci. 2019, Sec. 2)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(x))
        return loss

    def _eval_step(self, batch, metrics, stage):
        x, y = batch
        pred = self(x)
        y = y.to(pred.dtype)
        self.log_eval_loss(stage, self.loss_fn(pred, y), len(x))
        metrics.update(pred, y)
        self.log_dict(metrics, prog_bar=stage == "val")
        return {"preds": pred, "target": y}

    def predict_step(self, batch, batch_idx):
        return self(batch[0])


# ===================================================================================== Ising energy
@register_model("ednn")
class IsingEDNN(EDNNTask):
    """Total Ising energy (J) of +-1 spins (Chem. Sci. 2019, Sec. 3.1): dense tile network `IsingTileMLP` on the raw
    tile, periodic padding.

    Args:
        focus, context: f and c (paper f = 1, c = 1 / 2 / 3, Sec. 3.1 (thesis L1812)).
        padding: 'circular' (the periodic lattice) or 'zeros'.
        optimizer, lr, weight_decay, lr_schedule, optimizer_args: `SupervisedTask`'s.
    """

    dedup = True  # +-1 spins: all 3 x 3 tiles of a batch are among 2^9, so evaluate each once
    target_unit = "E (J)"

    def __init__(self, focus: int = 1, context: int = 1, padding: str = "circular", optimizer: str = "adam",
                 lr: float = 1e-4, weight_decay: float = 0.0, lr_schedule: str = "constant",
                 optimizer_args: dict | None = None):
        super().__init__(optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    def tile_net(self, tile: int) -> nn.Module:
        return IsingTileMLP(tile)

    # +-1 tiles with at most this many states are read from the tabulated network (`tile_table`) instead of running
    # the network on every tile: the same per-tile values, the sum in float64 (`EDNN.table_forward`); f = 1, c = 1
    # is 512 entries.  0 turns the table off (the network path, e.g. as the reference in tests and benchmarks).
    table_max_entries = 1 << 20

    def _spins(self, spins) -> torch.Tensor:
        """Checked +-1 spins as an int8 (B, L, L) tensor on the model's device."""
        from datamodules.physics import ising

        if isinstance(spins, torch.Tensor):
            spins = spins.detach().cpu().numpy()
        s = ising.check_spins(spins)
        if s.shape[-1] % self.focus:
            raise ValueError(f"lattice side must be a multiple of focus={self.focus}; got {s.shape[-1]}")
        return torch.as_tensor(s, device=self.device)

    def _table_for(self, s: torch.Tensor) -> torch.Tensor | None:
        """The tile table for lattices s, or None where the network path is the one to take: the table would exceed
        `table_max_entries`, a zero-padded lattice has no tile free of the padding, or the table is not built yet
        and has more entries than s has tiles (building it would cost more than the network on s)."""
        n_states = 1 << (self.ednn.tile_size ** 2) if self.ednn.tile_size ** 2 <= 62 else None
        if n_states is None or n_states > self.table_max_entries or not len(s):
            return None
        nh, nw = s.shape[-2] // self.focus, s.shape[-1] // self.focus
        if self.ednn._border(nh, nw) is None:
            return None
        # the weights' identity and in-place version counters (optimizer steps and load_state_dict bump them):
        # a table from other weights, dtype or device is never reused
        stamp = (self.dtype, str(self.device), tuple((p.data_ptr(), p._version) for p in self.parameters()))
        cached = self.__dict__.get("_tile_table_cache")
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if n_states > len(s) * nh * nw:
            return None
        table = self._tile_table_tensor()
        self.__dict__["_tile_table_cache"] = (stamp, table)
        return table

    @torch.no_grad()
    def predict_energy(self, spins, batch_size: int | None = None) -> torch.Tensor:
        """Total energy in J of (B, L, L) (or (L, L)) +-1 spins, any L that is a multiple of f -> (B,).  Small tiles
        (up to `table_max_entries` states) are read from the tabulated network, the sum taken in float64 and then
        rounded to the model's dtype; otherwise the network runs on the tiles (a float32 sum)."""
        s = self._spins(spins)
        bs = validation.optional_positive_int(batch_size, "batch_size")
        bs = bs or max(1, (1 << 18) // max(1, s.shape[1:].numel()))  # shape[1:]: an empty batch has no x[0]
        table = self._table_for(s)
        if table is None:
            return self.batched_forward(s.to(self.dtype), bs)
        return torch.cat([self.ednn.table_forward(s[i:i + bs], table) for i in range(0, len(s), bs)]).to(self.dtype)

    @torch.no_grad()
    def energy_map(self, spins) -> torch.Tensor:
        """Per-tile energy contributions (B, L/f, L/f) in J."""
        s = self._spins(spins)
        table = self._table_for(s)
        if table is None:
            return self.tile_contributions(s.to(self.dtype))
        return self.ednn.table_contributions(s, table)

    def tile_energy_fn(self):
        """Callable (n, t, t) +-1 tiles -> (n,) contributions, for `datamodules.physics.ednn_mc`."""
        ednn = self.ednn

        @torch.no_grad()
        def fn(tiles: torch.Tensor) -> torch.Tensor:
            return ednn._net(tiles.to(self.device, self.dtype).unsqueeze(1)).reshape(-1)
        return fn

    @torch.no_grad()
    def _tile_table_tensor(self) -> torch.Tensor:
        """The network on every +-1 tile (2^(t^2),) in the model's dtype, by key, `max_tiles` tiles per call."""
        t = self.ednn.tile_size
        n = t * t
        if n > 20:
            raise ValueError(f"a {t}x{t} tile has 2^{n} states: too many to tabulate (t^2 <= 20)")
        bits = torch.arange(n, device=self.device)
        out = []
        for k in range(0, 1 << n, self.ednn.max_tiles):  # tile k has key k (`all_binary_tiles`' order)
            keys = torch.arange(k, min(1 << n, k + self.ednn.max_tiles), device=self.device)
            tiles = (((keys[:, None] >> bits) & 1) * 2 - 1).to(self.dtype).reshape(-1, 1, t, t)
            out.append(self.ednn._net_plain(tiles).reshape(-1))
        return torch.cat(out)

    @torch.no_grad()
    def tile_table(self) -> np.ndarray:
        """The tile network's output on every +-1 tile, indexed by tile key (bit k = element k > 0, row-major):
        an exact tabulation of the EDNN energy for small tiles (t^2 <= 20, e.g. f = 1, c = 1: 512 entries), used by
        `predict_energy` / `energy_map` and `datamodules.physics.ednn_mc.metropolis_table`."""
        return self._tile_table_tensor().double().cpu().numpy()


# ===================================================================================== counting
@register_model("ednn", variant=True)
class CountingEDNN(EDNNTask):
    """Per-class object counts of images and their density maps (counting paper, Sec. 2-3): the counting CNN
    `CountTileCNN` on zero-padded tiles.

    Args:
        focus, context: f and c (paper MNIST: f = 8, c = 8, counting paper Sec. 2 (thesis L2137-2139)).
        padding: 'zeros' (the paper's) or 'circular'.
        n_outputs: l, the number of counted classes.
        in_channels: image channels.
        filters, fc_width: counting CNN widths (paper 64, 1024).
        conv_padding, zero_background: see `CountTileCNN` (defaults 'same' / False: the first published recipe).
        optimizer, lr, weight_decay, lr_schedule, optimizer_args: `SupervisedTask`'s.
    """

    scalar = False
    target_unit = "count"

    def __init__(self, focus: int = 8, context: int = 8, padding: str = "zeros", n_outputs: int = 1,
                 in_channels: int = 1, filters: int = 64, fc_width: int = 1024, conv_padding: str = "same",
                 zero_background: bool = False, optimizer: str = "adam", lr: float = 1e-4, weight_decay: float = 0.0,
                 lr_schedule: str = "constant", optimizer_args: dict | None = None):
        if n_outputs < 1:
            raise ValueError(f"n_outputs must be >= 1; got {n_outputs}")
        super().__init__(optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    def tile_net(self, tile: int) -> nn.Module:
        hp = self.hparams
        return CountTileCNN(tile, in_channels=hp.in_channels, n_out=hp.n_outputs, filters=hp.filters,
                            fc_width=hp.fc_width, conv_padding=hp.conv_padding, zero_background=hp.zero_background)

    def configure_metrics(self) -> None:
        make = lambda: torchmetrics.MetricCollection({  # noqa: E731
            "mean_abs_error": torchmetrics.MeanAbsoluteError(), "count_accuracy": _RoundedCountAccuracy()})
        self.val_metrics = make().clone(prefix="val/")
        self.test_metrics = make().clone(prefix="test/")

    def _images(self, images) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
        if x.dim() == 2:
            x = x[None]
        if x.dim() == 3 and self.hparams.in_channels == 1:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] != self.hparams.in_channels:
            raise ValueError(f"images must be (B, H, W) or (B, {self.hparams.in_channels}, H, W); got {tuple(x.shape)}")
        if not torch.isfinite(x.float()).all():
            raise ValueError("images contain NaN or inf")
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        elif x.numel() and (x.min() < -IMAGE_RANGE_TOL or x.max() > 1 + IMAGE_RANGE_TOL):
            # the network learned [0, 1] grey levels (uint8 / 255, datamodules.digits); float 0-255 pictures
            # (or any other scale) would be counted as ~255x brighter digits and answered with nonsense
            raise ValueError(f"images must be uint8 (0-255, rescaled here) or float in [0, 1] (the training "
                             f"scale); got float values in [{float(x.min()):.4g}, {float(x.max()):.4g}] - "
                             f"divide 0-255 pictures by 255 or pass them as uint8")
        return x.to(self.device, self.dtype)

    @torch.no_grad()
    def count(self, images) -> torch.Tensor:
        """Per-class counts (B, l) (real-valued; round for integer counts)."""
        return self.ednn(self._images(images))

    @torch.no_grad()
    def density_map(self, images, upsample: bool = True) -> torch.Tensor:
        """Tile contributions C (B, l, H/f, W/f), or upsampled to (B, l, H, W) with each tile's value spread
        evenly over its f x f focus (so region sums of the map are region counts)."""
        C = self.ednn.tile_contributions(self._images(images)).permute(0, 3, 1, 2)
        if not upsample:
            return C
        f = self.focus
        return C.repeat_interleave(f, -2).repeat_interleave(f, -1) / (f * f)

    @torch.no_grad()
    def region_count(self, images, box: tuple[int, int, int, int]) -> torch.Tensor:
        """Sum of the density map inside box = (top, left, bottom, right) in pixels -> (B, l)."""
        D = self.density_map(images)
        # a reversed or out-of-image box slices to nothing (or wraps with negative indices) and sums to 0
        top, left, bottom, right = validation.box(box, *D.shape[-2:])
        return D[..., top:bottom, left:right].sum(dim=(-2, -1))


class _RoundedCountAccuracy(torchmetrics.Metric):
    """Fraction of (image, class) pairs whose rounded predicted count equals the true count."""

    full_state_update = False
    higher_is_better = True

    def __init__(self, **kw):
        super().__init__(**kw)
        self.add_state("correct", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.correct += (preds.round() == target.round()).float().sum()
        self.total += target.numel()

    def compute(self) -> torch.Tensor:
        return self.correct / self.total.clamp(min=1)


# ===================================================================================== atoms as pictures (PROXY)
@register_model("ednn", variant=True)
class AtomsEDNN(EDNNTask):
    """Total energy (eV) of rendered atom sheets V(x, y) (Chem. Sci. 2019, Sec. 3.2.1, Eq. (2)): the DFT-sheet CNN
    `AtomsTileCNN` on periodic tiles, here for the PROXY data of `datamodules.atoms`.  With focus = the cell and
    context 0 it is one tile per training cell: the non-extensive CNN baseline (`ednn/atoms-proxy-cnn`).

    Args:
        focus, context: f and c in pixels (paper f = 64, c = 32 on 256 x 256, Sec. 3.2.1 (thesis L1836)).
        padding: 'circular' (the periodic cell) or 'zeros'.
        filters, fc_width: widths (paper 64 / 1024).
        optimizer, lr, weight_decay, lr_schedule, optimizer_args: `SupervisedTask`'s.
    """

    target_unit = "E (eV)"

    def __init__(self, focus: int = 64, context: int = 32, padding: str = "circular", filters: int = 64,
                 fc_width: int = 1024, optimizer: str = "adam", lr: float = 1e-4, weight_decay: float = 0.0,
                 lr_schedule: str = "constant", optimizer_args: dict | None = None):
        super().__init__(optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    def tile_net(self, tile: int) -> nn.Module:
        hp = self.hparams
        return AtomsTileCNN(tile, filters=hp.filters, fc_width=hp.fc_width,
                            bias_init=ATOMS_REF_EV_PER_PIXEL * hp.focus ** 2)

    def _atoms_images(self, images) -> torch.Tensor:
        x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images, dtype=np.float32))
        if x.dim() == 2:
            x = x[None]
        if x.dim() != 3:
            raise ValueError(f"V images must be (B, H, W) or (H, W); got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("V images contain NaN or inf")
        H, W = x.shape[-2:]
        if H % self.focus or W % self.focus:
            raise ValueError(f"image sides must be multiples of focus={self.focus} pixels; got {H}x{W}")
        return x.to(self.device, self.dtype)

    @torch.no_grad()
    def predict_atoms_energy(self, images, batch_size: int | None = None) -> torch.Tensor:
        """Total energy (eV) of (B, H, W) V(x, y) images rendered at the training pixel size
        (`datamodules.physics.atoms.render`), any H, W that are multiples of the focus -> (B,)."""
        x = self._atoms_images(images)
        bs = validation.optional_positive_int(batch_size, "batch_size")
        bs = bs or max(1, (1 << 17) // max(1, x.shape[1:].numel()))  # shape[1:]: an empty batch has no x[0]
        return self.batched_forward(x, bs)

    predict_energy = predict_atoms_energy  # the energy API name the Ising EDNN has

    @torch.no_grad()
    def energy_map(self, images) -> torch.Tensor:
        """Per-tile energy contributions (B, H/f, W/f) in eV of V images."""
        return self.tile_contributions(self._atoms_images(images))
