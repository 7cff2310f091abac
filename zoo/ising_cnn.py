"""Ising CNN: Mills & Tamblyn, PRE 97, 032119 (2018), arXiv:1706.09779 (thesis Sec. 3.1, L990-1264).

A featureless CNN maps a raw periodic L x L spin configuration to its energy class (15 levels for 4x4, 63 for 8x8;
`IsingCNN`), or regresses its energy or magnetization (`IsingCNNRegressor`, "changing nothing about the training
process other than the loss function", Sec. IV "Regression", thesis L1109).  The lattice is upscaled by repetition to
16 x 16 and fed to 7 convolutions R-N-N-R-N-N-R (3x3/2 with 32 filters, 4x4/1 with 16), then FC 1024 and the output
layer (Sec. II.A, Fig. 1; thesis L1031-1048).

Evaluation (`measure`, the paper's numbers) lives in zoo.evaluation.ising_cnn.
"""
from __future__ import annotations

import numpy as np
import torch
import torchmetrics
from torch import nn

from datamodules.physics import ising

from datamodules import validation as V
from .base import RegressionHooks, SupervisedTask
from .layers import FP32Linear, reducing_stack
from .metrics import MedianAbsoluteError
from .registry import register_model

REGRESSION_LABELS = ("energy", "magnetization")
# the energy a regressor learns: the nearest-neighbour model, or the other Hamiltonians of Sec. IV (thesis L1135-1177)
HAMILTONIANS = ("ising", "screened_coulomb", "sinusoidal_coulomb", "potts")


class IsingCNNBase(SupervisedTask):
    """The network and domain API shared by the classifier and the regressor (not a model by itself).

    Args:
        L: lattice side the model is trained for (even, 4 <= L <= input_size); `zoo fit` fills it
            from `data.init_args.L`.
        input_size: side of the upscaled image the network sees (paper: 16).
        reducing_filters, nonreducing_filters, fc_width: paper 32, 16, 1024.
        padding: 'tf_same' (zeros, TensorFlow SAME; default: the paper's TF code) or 'circular'.
        optimizer, lr: paper 'adadelta_tf' with a global lr of 1e-3 (Sec. II.A, thesis L1044); our CPU configs
            use 'adam'.  weight_decay, lr_schedule, optimizer_args: see zoo.base.SupervisedTask.
    """

    def __init__(self, L: int | None = None, input_size: int = 16, reducing_filters: int = 32,
                 nonreducing_filters: int = 16, fc_width: int = 1024, padding: str = "tf_same",
                 optimizer: str = "adadelta_tf", lr: float = 1e-3, weight_decay: float = 0.0,
                 lr_schedule: str = "constant", optimizer_args: dict | None = None):
        if L is None:
            raise ValueError("L (lattice side) is required; `zoo fit` links it from data.init_args.L")
        ising.energy_levels(L)
        if input_size % L or input_size < 8 or input_size & (input_size - 1):
            raise ValueError(f"input_size must be a power of two >= 8 and a multiple of L={L}; got {input_size}")
        super().__init__(optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    n_outputs = 1

    @property
    def L(self) -> int:
        return self.hparams.L

    @property
    def levels(self) -> torch.Tensor:
        return self._levels

    def configure_models(self) -> None:
        hp = self.hparams
        n_reducing = int(np.log2(hp.input_size)) - 1  # 16 -> 8 -> 4 -> 2: the final map is 2 x 2
        self.features = reducing_stack(1, n_reducing, hp.reducing_filters, hp.nonreducing_filters, hp.padding)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * hp.reducing_filters, hp.fc_width), nn.ReLU(),
                                  FP32Linear(hp.fc_width, self.n_outputs))  # fp32 under bf16 autocast
        self.register_buffer("_levels", torch.as_tensor(ising.energy_levels(hp.L), dtype=torch.float32),
                             persistent=False)

    def forward(self, spins: torch.Tensor) -> torch.Tensor:
        """(B, L, L) float spins -> the head's output (B, n_outputs)."""
        # another lattice side would be upscaled by another factor and answered as if it were L x L
        V.spatial_size(spins, self.L, "spins", f"this model is trained on {self.L}x{self.L} lattices")
        r = self.hparams.input_size // spins.shape[-1]
        x = spins.to(self.dtype).unsqueeze(1)
        x = x.repeat_interleave(r, dim=-2).repeat_interleave(r, dim=-1)  # lossless upscaling by repetition
        return self.head(self.features(x))

    def _physical(self, out) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self._loss(self(x), y)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(x))
        return loss

    def predict_step(self, batch, batch_idx):
        return self._physical(self(batch[0]))

    # -- domain API -----------------------------------------------------------------------------
    def _input(self, spins) -> torch.Tensor:
        if isinstance(spins, torch.Tensor):
            spins = spins.detach().cpu().numpy()
        s = ising.check_spins(spins, L=self.L)
        return torch.as_tensor(s, dtype=self.dtype, device=self.device)

    def _batched(self, spins, batch_size: int = 8192) -> torch.Tensor:
        return self.batched_forward(self._input(spins), batch_size)

    def predict_energy(self, spins, batch_size: int = 8192) -> torch.Tensor:
        raise ValueError("this model predicts magnetization; load an energy model (IsingCNN or an energy regressor)")

    def predict_magnetization(self, spins, batch_size: int = 8192) -> torch.Tensor:
        raise ValueError("this model predicts energy; load a magnetization model (IsingCNNRegressor, "
                         "label 'magnetization')")

    def thermodynamics(self, temps, magnetization_model: "IsingCNNBase | None" = None, **mc) -> dict:
        """<E>/N, C/N and <|M|>/N vs T with this network as the energy operator.

        4x4: exact Boltzmann sums over all 65 536 states with the network's energies (and the magnetization
        model's predictions if given, else exact magnetization).  Larger L: Metropolis with the network in the loop
        (`datamodules.physics.nn_mc.metropolis_with_operator`), as in Sec. IV "Replicating the Ising model phase
        transition", Figs. 7-9 (thesis L1120-1124).
        """
        from datamodules.physics import nn_mc

        # T <= 0 or NaN would give a Boltzmann weight exp(-E/T) of the wrong sign or 0/0 (T = -1 "works"
        # and answers the T = +1 curve of the inverted spectrum)
        temps = V.positive_finite_array(temps, "temps")
        if temps.ndim > 1:
            raise ValueError(f"temps must be a scalar or a 1-D list of temperatures; got shape {temps.shape}")
        if magnetization_model is not None and magnetization_model.L != self.L:
            raise ValueError(f"magnetization_model must be trained on the same L={self.L}; "
                             f"got L={magnetization_model.L}")
        energy_fn = lambda s: self.predict_energy(s).cpu().numpy()  # noqa: E731
        mag_fn = (lambda s: magnetization_model.predict_magnetization(s).cpu().numpy()) if magnetization_model else None  # noqa: E731
        if self.L == 4:
            configs = ising.enumerate_configs(4)
            return ising.exact_thermodynamics(temps, 4, energies=energy_fn(configs),
                                              magnetizations=mag_fn(configs) if mag_fn else None)
        return nn_mc.metropolis_with_operator(energy_fn, self.L, temps, magnetization_fn=mag_fn, **mc)


@register_model("ising_cnn")
class IsingCNN(IsingCNNBase):
    """Energy classification: softmax over the allowed energy levels of the L x L lattice (Sec. II.A, thesis
    L1035).  Arguments: see `IsingCNNBase`."""

    task = "classify"

    def __init__(self, L: int | None = None, input_size: int = 16, reducing_filters: int = 32,
                 nonreducing_filters: int = 16, fc_width: int = 1024, padding: str = "tf_same",
                 optimizer: str = "adadelta_tf", lr: float = 1e-3, weight_decay: float = 0.0,
                 lr_schedule: str = "constant", optimizer_args: dict | None = None):
        super().__init__(L=L, input_size=input_size, reducing_filters=reducing_filters,
                         nonreducing_filters=nonreducing_filters, fc_width=fc_width, padding=padding,
                         optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    @classmethod
    def from_legacy_args(cls, init_args: dict) -> tuple[type, dict]:
        """Cards and checkpoints from before the split carry `task` ('classify', 'energy', 'magnetization')."""
        args = dict(init_args)
        task = args.pop("task", "classify")
        if task == "classify":
            return cls, args
        if task in REGRESSION_LABELS:
            return IsingCNNRegressor, {**args, "label": task}
        raise ValueError(f"legacy ising_cnn init args: task must be 'classify' or one of {REGRESSION_LABELS}; "
                         f"got {task!r}")

    @property
    def n_outputs(self) -> int:
        return len(ising.energy_levels(self.hparams.L))

    @property
    def class_values(self):
        return ising.energy_levels(self.L)

    target_unit = ""

    def configure_losses(self) -> None:
        self.loss_fn = nn.CrossEntropyLoss()

    def configure_metrics(self) -> None:
        make = torchmetrics.MetricCollection({
            "accuracy": torchmetrics.Accuracy(task="multiclass", num_classes=len(self.levels)),
            "energy_median_abs_error": MedianAbsoluteError(),
        })
        self.val_metrics = make.clone(prefix="val/")
        self.test_metrics = make.clone(prefix="test/")

    def _loss(self, out, y):
        return self.loss_fn(out, y)

    def _physical(self, out) -> torch.Tensor:
        return out.argmax(-1)

    def _eval_step(self, batch, metrics, stage):
        x, y = batch
        out = self(x)
        self.log_eval_loss(stage, self._loss(out, y), len(x))
        pred = self._physical(out)
        metrics["accuracy"].update(pred, y)
        metrics["energy_median_abs_error"].update(self.levels[pred], self.levels[y])
        self.log_dict(metrics, prog_bar=stage == "val")
        return {"preds": pred, "target": y}

    def predict_energy(self, spins, batch_size: int = 8192) -> torch.Tensor:
        """Total energy in units of J of (B, L, L) +-1 spins (array or tensor) -> (B,) tensor."""
        out = self._batched(spins, batch_size)
        if not len(out):  # an empty batch: (0,) energies, like every predict_* method
            return out.new_zeros(0)
        return self.levels[out.argmax(-1)]


@register_model("ising_cnn", variant=True)
class IsingCNNRegressor(RegressionHooks, IsingCNNBase):
    """Regression of the energy (J) or the magnetization (mean spin) with MSE (Sec. IV "Regression", thesis
    L1107-1109), and of the long-range and continuous-spin energies of Sec. IV "Long-range interactions" and
    "A modified Potts model" (Eqs. 1-2, thesis L1135-1177) with the same network and loss.

    Args:
        label: 'energy' (total energy, J) or 'magnetization' (mean spin); `zoo fit` links it from
            `data.init_args.label`.
        hamiltonian: whose energy ('ising': nearest neighbour, datamodules.physics.ising; 'screened_coulomb',
            'sinusoidal_coulomb': datamodules.physics.long_range; 'potts': datamodules.physics.potts); `zoo fit`
            links it from the long-range DataModule.  For 'potts' the input plane is the raw spin angle in
            radians, [0, pi), in the place of the +-1 spin (ours: the paper feeds "a continuum of spins" without
            saying how; one plane keeps the architecture unchanged).  Other arguments: see `IsingCNNBase`.
    """

    def __init__(self, L: int | None = None, label: str = "energy", input_size: int = 16,
                 reducing_filters: int = 32, nonreducing_filters: int = 16, fc_width: int = 1024,
                 padding: str = "tf_same", optimizer: str = "adadelta_tf", lr: float = 1e-3,
                 weight_decay: float = 0.0, lr_schedule: str = "constant", optimizer_args: dict | None = None,
                 hamiltonian: str = "ising"):
        if label not in REGRESSION_LABELS:
            raise ValueError(f"label must be one of {REGRESSION_LABELS}; got {label!r}")
        if hamiltonian not in HAMILTONIANS:
            raise ValueError(f"hamiltonian must be one of {HAMILTONIANS}; got {hamiltonian!r}")
        if hamiltonian != "ising" and label != "energy":
            raise ValueError(f"label must be 'energy' for hamiltonian={hamiltonian!r}; got {label!r}")
        super().__init__(L=L, input_size=input_size, reducing_filters=reducing_filters,
                         nonreducing_filters=nonreducing_filters, fc_width=fc_width, padding=padding,
                         optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    @property
    def task(self) -> str:
        return self.hparams.label

    @property
    def hamiltonian(self) -> str:
        # cards published before the long-range models carry no `hamiltonian`: they are nearest-neighbour models
        return self.hparams.get("hamiltonian", "ising")

    def _input(self, spins) -> torch.Tensor:
        if self.hamiltonian != "potts":
            return super()._input(spins)
        from datamodules.physics import potts

        return torch.as_tensor(potts.check_angles(spins, "spins", L=self.L), dtype=self.dtype, device=self.device)

    def thermodynamics(self, temps, magnetization_model=None, **mc) -> dict:
        if self.hamiltonian == "potts":
            raise ValueError("thermodynamics flips +-1 spins; a Potts model (continuous angles) has no such moves")
        if self.hamiltonian != "ising" and self.L == 4:
            raise ValueError("4x4 exact thermodynamics enumerate the nearest-neighbour model; use an 8x8 model")
        return super().thermodynamics(temps, magnetization_model, **mc)

    @property
    def class_values(self):
        return None

    @property
    def target_unit(self) -> str:
        return {"energy": "E (J)", "magnetization": "m (per spin)"}[self.hparams.label]

    @property
    def target_scale(self) -> float:
        # ours: energies are scaled to O(1) inside the loss (|E| <= 2 L^2); predictions come out in J / per spin
        return 2.0 * self.hparams.L ** 2 if self.hparams.label == "energy" else 1.0

    def forward(self, spins: torch.Tensor) -> torch.Tensor:
        """(B, L, L) float spins -> (B,) predictions in units of target_scale."""
        return super().forward(spins).squeeze(-1)

    def _loss(self, out, y):
        return self.loss_fn(out, y / self.target_scale)

    def _physical(self, out) -> torch.Tensor:
        return out * self.target_scale

    def _eval_step(self, batch, metrics, stage):
        x, y = batch
        out = self(x)
        self.log_eval_loss(stage, self._loss(out, y), len(x))
        pred = self._physical(out)
        metrics.update(pred, y)
        self.log_dict(metrics, prog_bar=stage == "val")
        return {"preds": pred, "target": y}

    def predict_energy(self, spins, batch_size: int = 8192) -> torch.Tensor:
        """Total energy in units of J of (B, L, L) +-1 spins (angles in [0, pi) for 'potts'; array or tensor)
        -> (B,) tensor."""
        if self.hparams.label != "energy":
            return super().predict_energy(spins, batch_size)
        return self._batched(spins, batch_size) * self.target_scale

    def predict_magnetization(self, spins, batch_size: int = 8192) -> torch.Tensor:
        """Mean spin (per-spin magnetization) of (B, L, L) +-1 spins -> (B,) tensor."""
        if self.hparams.label != "magnetization":
            return super().predict_magnetization(spins, batch_size)
        return self._batched(spins, batch_size)
