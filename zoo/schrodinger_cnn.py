"""Schrodinger CNN: Mills, Spanner & Tamblyn, PRA 96, 042113 (2017), arXiv:1702.01361 (thesis Sec. 3.2, L1280-1612).

A CNN maps a 2-D confining potential V(x, y), sampled on x = y = linspace(-20, 20, n) bohr, to the
ground-state energy e0 (or e1, or <T>) of one electron, bypassing the eigenproblem.  The network
(Sec. II.C; thesis L1358-1366): (log2 n - 1) reducing 3x3/stride-2 convolutions with 64 filters, two non-reducing
4x4/stride-1 convolutions with 16 filters between each pair (R-(N-N-R)x(n-1); 19 convolutions at
256^2), ReLU after each, final map 2x2x64, FC 1024 + ReLU, one output; MSE loss.

Evaluation (`measure`, the paper's numbers) lives in zoo.evaluation.schrodinger_cnn.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from datamodules.physics import schrodinger as S

from datamodules import validation
from .base import RegressionHooks, SupervisedTask
from .layers import FP32Linear, reducing_stack
from .registry import register_model

LABELS = ("e0", "e1", "kinetic")
# the potentials of all four training families lie in [0, V_MAX] Ha (datamodules.physics.schrodinger)
TRAIN_V_RANGE = (0.0, S.V_MAX)
LABEL_NAMES = {"e0": "ground-state energy e0", "e1": "first excited energy e1", "kinetic": "kinetic energy <T>"}


@register_model("schrodinger_cnn")
class SchrodingerCNN(RegressionHooks, SupervisedTask):
    """Args:
        grid: points per side of the input potential (power of two >= 8; paper 256); `zoo fit`
            fills it from `data.init_args.grid`.  The network has log2(grid) - 1 reducing layers.
        label: what the output is: 'e0', 'e1' or 'kinetic' (all in hartree); linked from the data.
        reducing_filters, nonreducing_filters, fc_width: paper 64, 16, 1024.
        padding: 'tf_same' (zeros, TensorFlow SAME; the potentials are not periodic).
        input_scale: V is divided by this before the network (20 Ha, the clip / wall value, maps
            potentials to a [0, 1] grey-scale image as in the paper).  Ours: the paper does not state
            its input normalisation.
        energy_scale: the output is (energy / energy_scale), so targets are O(1) (ours; unstated).
        optimizer, lr: paper 'adadelta_tf' with a global lr of 1e-3 (Sec. II.C, thesis L1368); our CPU configs use
            'adam'.  weight_decay, lr_schedule, optimizer_args: see zoo.base.SupervisedTask.
    """

    def __init__(self, grid: int | None = None, label: str = "e0", reducing_filters: int = 64,
                 nonreducing_filters: int = 16, fc_width: int = 1024, padding: str = "tf_same",
                 input_scale: float = 20.0, energy_scale: float = 0.1, optimizer: str = "adadelta_tf",
                 lr: float = 1e-3, weight_decay: float = 0.0, lr_schedule: str = "constant",
                 optimizer_args: dict | None = None):
        if grid is None:
            raise ValueError("grid (points per side) is required; `zoo fit` links it from data.init_args.grid")
        S.check_grid(grid, "grid")
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}; got {label!r}")
        if not (input_scale > 0 and energy_scale > 0):
            raise ValueError(f"input_scale and energy_scale must be > 0; got {input_scale}, {energy_scale}")
        super().__init__(optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    # -- structure ------------------------------------------------------------------------------
    @property
    def grid(self) -> np.ndarray:
        """Coordinates x = y = linspace(-20, 20, n) (bohr) on which inputs must be sampled;
        a potential is V[iy, ix] = V(x[ix], y[iy])."""
        return S.grid(self.hparams.grid)

    @property
    def grid_size(self) -> int:
        return self.hparams.grid

    @property
    def target_unit(self) -> str:
        return f"{self.hparams.label} (mHa)"

    def configure_models(self) -> None:
        hp = self.hparams
        n_reducing = int(np.log2(hp.grid)) - 1  # 256 -> 128 -> ... -> 2: the final map is 2 x 2
        self.features = reducing_stack(1, n_reducing, hp.reducing_filters, hp.nonreducing_filters, hp.padding)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * hp.reducing_filters, hp.fc_width), nn.ReLU(),
                                  FP32Linear(hp.fc_width, 1))  # the energy itself: fp32 under bf16 autocast

    def forward(self, V: torch.Tensor) -> torch.Tensor:
        """(B, n, n) potentials in Ha -> (B,) energies in units of energy_scale."""
        # another grid would reach the dense head with another feature-map size (a raw matmul error)
        V_ = self.hparams.grid
        validation.spatial_size(V, V_, "V", f"potentials sampled on this model's {V_}x{V_} grid")
        x = (V.to(self.dtype) / self.hparams.input_scale).unsqueeze(1)
        return self.head(self.features(x)).squeeze(-1)

    # -- training -------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        V, y = batch
        loss = self.loss_fn(self(V), y / self.hparams.energy_scale)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(V))
        return loss

    def _eval_step(self, batch, metrics, stage):
        V, y = batch
        out = self(V)
        self.log_eval_loss(stage, self.loss_fn(out, y / self.hparams.energy_scale), len(V))
        pred = out * self.hparams.energy_scale * 1e3  # mHa, the paper's unit
        target = y * 1e3
        metrics.update(pred, target)
        self.log_dict(metrics, prog_bar=stage == "val")
        return {"preds": pred, "target": target}

    def predict_step(self, batch, batch_idx):
        return self(batch[0]) * self.hparams.energy_scale

    # -- domain API -----------------------------------------------------------------------------
    def _input(self, V) -> torch.Tensor:
        if isinstance(V, torch.Tensor):
            V = V.detach().cpu().numpy()
        a = S.check_potential(V, name="V", n=self.hparams.grid, batched=True)
        # Every training family draws V in [0, V_MAX = 20 Ha] (SHO clipped at 20, IW 0 inside / 20 walls,
        # DIG shifted to min 0 and scaled to < 1 Ha, random scaled to max 0.6 Ha; `mixed` is their union),
        # and input_scale = 20 Ha maps that range onto the [0, 1] grey scale the network learned.  Outside it
        # the answer is an extrapolation (1e6 Ha walls, or a -100 Ha well, were answered without a word).
        validation.warn_outside("V (potential, Ha)", a, TRAIN_V_RANGE[0], TRAIN_V_RANGE[1],
                                "every training family draws V in [0, 20] Ha")
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    @torch.no_grad()
    def predict_energy(self, V, batch_size: int = 1024) -> torch.Tensor:
        """The model's energy (its `label`: e0, e1 or <T>) in hartree for (B, n, n) potentials in
        hartree sampled on `model.grid` (a single (n, n) potential is a batch of one) -> (B,)."""
        return self.batched_forward(self._input(V), batch_size) * self.hparams.energy_scale
