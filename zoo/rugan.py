"""RUGAN, the Regressive Upscaling GAN (Casert, Mills, Vieijra, Ryckebusch, Tamblyn 2020; Mills thesis
section 4.2 L2430-2452 and App. A L3016-3278; spec `spec-mills-ch4-5-gan-rl.md` section 4).

A label-conditioned WGAN-GP with a consistency term (CT).  Both networks are fully convolutional
with circular padding, so a generator trained at L = 16 samples any L that is a multiple of 4 from a
larger latent block (spec 4.3, section 7 item 17), and the critic (global average pooling) scores any
size.

    generator  cat(z ~ N(0,1)^{C_z x L/4 x L/4}, label planes) -> conv3 -> ResUp -> ResUp -> Res
               -> LeakyReLU -> conv3 -> tanh                                     (no dense layer)
    critic     cat(x, label planes) -> conv3 -> ResDown(dropout) -> ResDown(dropout) -> Res
               -> LeakyReLU -> global average pool -> Linear(1)                 (no batch norm)

Loss (spec 4.2, section 7 item 13): critic  -E_r C(x, y) + E_g C(G(z, y), y) + lambda1 GP + lambda2 CT,
generator -E_g C(G(z, y), y); GP on straight-line interpolates with the pair's label (L3135), CT =
E_r |C(x) - C'(x)| from two dropout passes of the same real batch (L3137, no margin).  Adam
(beta1, beta2) = (0, 0.9), lr 1e-4, lambda1 = 10, lambda2 = 2, n_critic = 10 (paper, L3152) - all
arguments.  Layer widths, latent channels, LeakyReLU(0.2) and the absence of batch norm in the
generator are ours (the thesis gives no layer lists, L3154).  The critic stays in train mode
(dropout on) during the generator step too (ours; the thesis does not say, section 7 item 14).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import validation
from .base import ZooTask
from .metrics import GatheredRows
from .registry import register_model

LABEL_KINDS = ("temperature", "em")


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2, padding_mode="circular" if k > 1 else "zeros")


class GenBlock(nn.Module):
    """Pre-activation residual block, optional nearest-neighbour x2 up-sampling first."""

    def __init__(self, cin: int, cout: int, up: bool):
        super().__init__()
        self.up = up
        self.conv1, self.conv2 = _conv(cin, cout), _conv(cout, cout)
        self.skip = _conv(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv2(F.leaky_relu(self.conv1(F.leaky_relu(x, 0.2)), 0.2))
        return self.skip(x) + h


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
        h = self.inp(torch.cat([z, _label_planes(y, *z.shape[-2:])], 1))
        return torch.tanh(self.out(F.leaky_relu(self.blocks(h), 0.2))).squeeze(1)


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
    (straight lines between the pair, with the pair's label y; spec 4.2, L3135)."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape; got {tuple(real.shape)} and {tuple(fake.shape)}")
    if eps is None:
        eps = torch.rand(len(real), device=real.device, dtype=real.dtype)
    e = eps.view(-1, *([1] * (real.dim() - 1)))
    x_hat = (e * real + (1 - e) * fake).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat, y).sum(), x_hat, create_graph=True)
    return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


@register_model("rugan")
class RUGAN(ZooTask):
    """Args:
        labels: 'temperature' (one label plane, T normalized linearly to [-1, 1] over `label_range`)
            or 'em' (two planes: E/L^2 / 2 and m, both already in [-1, 1]).
        train_temperatures: the training temperatures (`zoo fit` links them from the DataModule);
            they define the default `label_range` and the range outside which `sample()` refuses to
            extrapolate unless asked.
        train_windows: the (E/L^2, m) model's training windows [[e_lo, e_hi, m_lo, m_hi], ...] (`zoo fit` links
            them from the DataModule); `sample()` warns for labels outside them.  Default: the published card's
            windows, else `datamodules.rugan_em.DEFAULT_WINDOWS` (the DataModule's default).
        label_range: [lo, hi] of the temperature normalization (default: min/max of train_temperatures).
        latent_channels, g_width, c_width: ours (thesis: not given, L3154).
        dropout: critic dropout in the two down-sampling blocks (paper 0.25, L3152).
        lambda_gp, lambda_ct: paper 10 and 2 (L3152).  n_critic: paper 10 (L3152).
        lr, betas: paper 1e-4 and (0, 0.9) (L3152).
        lr_final, decay_start, decay_steps: optional geometric decay of both learning rates from `lr` to
            `lr_final` over generator steps [decay_start, decay_start + decay_steps], then constant (ours; off by
            default). A WGAN trained at a high rate oscillates around the target; a late decay settles it.
        augment: random torus symmetries of the real batch (global spin flip, translations, 90-degree
            rotations, transposition) - each preserves the Boltzmann weight (ours; the FH data were
            augmented by rotations, L3218).
    """

    # critic and generator steps each backpropagate through one network, so plain DDP's reducer would stop at
    # "parameters that were not used"; `zoo fit --trainer.strategy ddp` switches these models to the variant
    # that allows it (zoo.cli)
    ddp_find_unused_parameters = True

    def __init__(self, labels: str = "temperature", train_temperatures: list[float] | None = None,
                 label_range: list[float] | None = None, latent_channels: int = 16, g_width: int = 32,
                 c_width: int = 32, dropout: float = 0.25, lambda_gp: float = 10.0, lambda_ct: float = 2.0,
                 n_critic: int = 10, lr: float = 1e-4, betas: list[float] = (0.0, 0.9), augment: bool = True,
                 lr_final: float | None = None, decay_start: int = 0, decay_steps: int = 0,
                 train_windows: list[list[float]] | None = None):
        if labels not in LABEL_KINDS:
            raise ValueError(f"labels must be one of {LABEL_KINDS}; got {labels!r}")
        if labels == "temperature":
            if label_range is None:
                if not train_temperatures:
                    raise ValueError("temperature RUGAN needs train_temperatures (linked by `zoo fit` from the data) "
                                     "or label_range")
                label_range = [float(min(train_temperatures)), float(max(train_temperatures))]
            if len(label_range) != 2 or not 0 < label_range[0] < label_range[1]:
                raise ValueError(f"label_range must be [lo, hi] with 0 < lo < hi; got {label_range}")
            label_range = [float(v) for v in label_range]
        if train_windows is not None:
            if labels != "em":
                raise ValueError("train_windows applies to the (E/L^2, m) model (labels='em') only")
            from datamodules.rugan_em import check_windows

            train_windows = check_windows(train_windows)
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1; got {n_critic}")
        if min(latent_channels, g_width, c_width) < 1 or not 0 <= dropout < 1:
            raise ValueError("latent_channels, g_width, c_width must be >= 1 and dropout in [0, 1)")
        if len(betas) != 2:
            raise ValueError(f"betas must be [beta1, beta2]; got {betas}")
        if lr_final is not None and (lr_final <= 0 or decay_start < 0 or decay_steps < 0):
            raise ValueError("lr_final must be > 0 and decay_start, decay_steps >= 0")
        self._init = dict(labels=labels, train_temperatures=None if train_temperatures is None else
                          [float(t) for t in train_temperatures], label_range=label_range,
                          latent_channels=latent_channels, g_width=g_width, c_width=c_width, dropout=dropout,
                          lambda_gp=lambda_gp, lambda_ct=lambda_ct, n_critic=n_critic, betas=[float(b) for b in betas],
                          augment=augment, lr_final=lr_final, decay_start=int(decay_start),
                          decay_steps=int(decay_steps), train_windows=train_windows)
        super().__init__(optimizer="adam", lr=lr)
        self.automatic_optimization = False

    def configure_model(self) -> None:
        # Lightning calls configure_model() again at fit start: build once (idempotent, as Lightning asks)
        if hasattr(self, "generator"):
            return
        self.save_hyperparameters(self._init)
        for k in ("optimizer", "weight_decay", "lr_schedule"):  # ZooTask's single-optimizer args do not apply
            self.hparams.pop(k, None)
        hp = self.hparams
        self.n_labels = 1 if hp.labels == "temperature" else 2
        self.generator = Generator(self.n_labels, hp.latent_channels, hp.g_width)
        self.critic = Critic(self.n_labels, hp.c_width, hp.dropout)
        self.register_buffer("generator_steps", torch.zeros((), dtype=torch.long))

    def configure_optimizers(self):
        hp = self.hparams
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=hp.lr, betas=tuple(hp.betas))
        opt_c = torch.optim.Adam(self.critic.parameters(), lr=hp.lr, betas=tuple(hp.betas))
        return [opt_g, opt_c]

    def current_lr(self, generator_steps: int | None = None) -> float:
        """The learning rate at a generator step (both optimizers): `lr`, or the geometric decay to `lr_final`."""
        hp = self.hparams
        g = int(self.generator_steps) if generator_steps is None else generator_steps
        if hp.get("lr_final") is None or g <= hp.decay_start:
            return float(hp.lr)
        frac = 1.0 if hp.decay_steps == 0 else min(1.0, (g - hp.decay_start) / hp.decay_steps)
        return float(hp.lr * (hp.lr_final / hp.lr) ** frac)

    # -- labels -------------------------------------------------------------------------------------
    def normalize_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Physical labels -> network label planes: T -> [-1, 1] over label_range; (E/L^2, m) -> (E/2L^2, m)."""
        labels = labels.to(self.device, torch.float32)
        if self.hparams.labels == "temperature":
            lo, hi = self.hparams.label_range
            return ((labels.reshape(-1) - (lo + hi) / 2) / ((hi - lo) / 2)).unsqueeze(-1)
        return labels.reshape(-1, 2) * torch.tensor([0.5, 1.0], device=self.device)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Raw generator output in (-1, 1) for latent z (B, C_z, l, l) and physical labels."""
        C = self.hparams.latent_channels
        if z.dim() != 4 or z.shape[1] != C:
            raise ValueError(f"z must have shape (B, {C}, l, l) (latent_channels={C}; `latent(n, L)` makes one); "
                             f"got {tuple(z.shape)}")
        if labels.numel() != len(z) * self.n_labels:
            raise ValueError(f"labels must hold {self.n_labels} value(s) per latent sample ({len(z)} samples); "
                             f"got shape {tuple(labels.shape)}")
        return self.generator(z, self.normalize_labels(labels))

    def latent(self, n: int, L: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if L < 4 or L % 4:
            raise ValueError(f"L must be a positive multiple of 4 (latent side L/4); got {L}")
        return torch.randn(n, self.hparams.latent_channels, L // 4, L // 4, generator=generator).to(self.device)

    @property
    def train_windows(self) -> list[list[float]] | None:
        """The (E/L^2, m) model's training windows: its own hparam, else the card's data args, else the
        DataModule's default (the published model was trained on those)."""
        if self.hparams.labels != "em":
            return None
        if self.hparams.get("train_windows"):
            return self.hparams.train_windows
        from datamodules.rugan_em import DEFAULT_WINDOWS

        card_args = ((getattr(self, "card", None) or {}).get("dataset") or {}).get("init_args") or {}
        return card_args.get("train_windows") or DEFAULT_WINDOWS

    def _check_labels(self, n: int, temperature=None, energy=None, magnetization=None,
                      extrapolate: bool = False, L: int = 16) -> torch.Tensor:
        hp = self.hparams
        if hp.labels == "temperature":
            if temperature is None or energy is not None or magnetization is not None:
                raise ValueError("this RUGAN is conditioned on temperature: pass temperature= (and not energy=/"
                                 "magnetization=)")
            T = np.broadcast_to(np.asarray(temperature, dtype=np.float64), (n,))
            if np.any(~np.isfinite(T)) or np.any(T <= 0):
                raise ValueError(f"temperature must be positive and finite; got {temperature}")
            lo, hi = hp.label_range
            if not extrapolate and T.size and (T.min() < lo - 1e-9 or T.max() > hi + 1e-9):  # n = 0: no labels
                raise ValueError(f"temperature {temperature} is outside the training range [{lo}, {hi}]; "
                                 f"pass extrapolate=True to sample there anyway")
            return torch.as_tensor(np.array(T), dtype=torch.float32)
        if energy is None or magnetization is None or temperature is not None:
            raise ValueError("this RUGAN is conditioned on (E/L^2, m): pass energy= and magnetization=")
        from datamodules.rugan_em import em_feasible, energy_bounds, in_windows

        # NaN labels gave all -1 lattices without a word: never meaningful, extrapolate or not
        e = np.broadcast_to(validation.finite_array(energy, "energy"), (n,))
        m = np.broadcast_to(validation.finite_array(magnetization, "magnetization"), (n,))
        if not extrapolate:
            bad = ~em_feasible(e, m, L)
            if bad.any():
                i = int(np.argmax(bad))
                if abs(m[i]) > 1:
                    need = "magnetization must be in [-1, 1]"
                else:
                    lo, hi = (float(v) for v in energy_bounds(m[i], L))
                    need = f"at magnetization {m[i]:g} the energy (E/L^2) must be in [{lo:g}, {hi:g}]"
                raise ValueError(
                    f"(energy, magnetization) = ({e[i]:g}, {m[i]:g}) is impossible on a periodic {L}x{L} lattice: "
                    f"{need} (no configuration has it; datamodules.rugan_em.em_feasible); "
                    f"pass extrapolate=True to sample anyway")
            windows = self.train_windows
            out = ~in_windows(np.stack([e, m], -1), windows)
            if out.any():
                warnings.warn(f"{int(out.sum())} of {n} requested (energy, magnetization) labels lie outside the "
                              f"training windows {windows} ([e_lo, e_hi, m_lo, m_hi]); the samples are an "
                              f"extrapolation (pass extrapolate=True to silence this)",
                              validation.OutOfTrainingRangeWarning, stacklevel=3)
        return torch.as_tensor(np.stack([e, m], -1), dtype=torch.float32)

    @torch.no_grad()
    def sample(self, n: int, L: int = 16, temperature=None, energy=None, magnetization=None, extrapolate: bool = False,
               seed: int | None = None, batch_size: int = 1024, raw: bool = False) -> torch.Tensor:
        """n configurations (n, L, L) int8 +-1 (the sign of the tanh output; `raw=True` returns it).

        Labels are scalars or length-n arrays.  L must be a multiple of 4; a bigger L uses a bigger
        latent block (upscaling).  Temperature model: labels outside the training range raise unless
        `extrapolate`.  (E/L^2, m) model: non-finite labels always raise; labels no L x L configuration
        has (`datamodules.rugan_em.em_feasible`) raise and labels outside the training windows warn
        (`OutOfTrainingRangeWarning`), both unless `extrapolate`.  n = 0 gives an empty (0, L, L) batch.
        """
        n = validation.count(n, "n")
        batch_size = validation.positive_int(batch_size, "batch_size")
        if not isinstance(L, (int, np.integer)) or L < 4 or L % 4:
            raise ValueError(f"L must be a positive multiple of 4 (latent side L/4); got {L!r}")
        labels = self._check_labels(n, temperature, energy, magnetization, extrapolate, L=int(L))
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        was_training = self.generator.training
        self.generator.eval()
        out = []
        for i in range(0, n, batch_size):
            k = min(batch_size, n - i)
            x = self(self.latent(k, L, g), labels[i:i + k])
            out.append(x if raw else torch.where(x >= 0, 1, -1).to(torch.int8))
        self.generator.train(was_training)
        if not out:
            return torch.zeros(0, L, L, dtype=torch.float32 if raw else torch.int8)
        return torch.cat(out)

    # -- training -----------------------------------------------------------------------------------
    def _augment(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        """Random torus symmetry per batch; with `labels` (the em model) returns (x, labels) with m
        negated where the spins were flipped (E is invariant under all of them)."""
        B, L = x.shape[0], x.shape[-1]
        flip = torch.randint(0, 2, (B, 1, 1), device=x.device) * 2 - 1
        x = x * flip
        if labels is not None:
            labels = labels.reshape(B, -1).clone()
            labels[:, -1] *= flip.reshape(B).to(labels.device, labels.dtype)
        dx, dy = (int(v) for v in torch.randint(0, L, (2,)))
        x = torch.roll(x, (dx, dy), dims=(-2, -1))
        k = int(torch.randint(0, 4, (1,)))
        x = torch.rot90(x, k, dims=(-2, -1))
        if int(torch.randint(0, 2, (1,))):
            x = x.transpose(-2, -1)
        return x.contiguous() if labels is None else (x.contiguous(), labels)

    def critic_loss(self, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor) -> dict:
        """The critic objective and its parts for real x, fake samples, normalized labels y."""
        hp = self.hparams
        c1, c2 = self.critic(x, y), self.critic(x, y)  # two dropout passes of the same real batch
        c_fake = self.critic(fake, y)
        gp = gradient_penalty(self.critic, x, fake, y)
        ct = (c1 - c2).abs().mean()
        c_real = 0.5 * (c1 + c2)
        loss = -c_real.mean() + c_fake.mean() + hp.lambda_gp * gp + hp.lambda_ct * ct
        return {"loss": loss, "wasserstein": c_real.mean() - c_fake.mean(), "gp": gp, "ct": ct}

    def training_step(self, batch, batch_idx):
        x, labels = batch
        x = x.to(self.dtype)
        if self.hparams.augment:
            if self.hparams.labels == "em":
                x, labels = self._augment(x, labels)
            else:
                x = self._augment(x)
        y = self.normalize_labels(labels)
        opt_g, opt_c = self.optimizers()
        if self.hparams.get("lr_final") is not None:
            lr = self.current_lr()  # set every step: a resumed optimizer state carries the old rate
            for opt in (opt_g, opt_c):
                for group in opt.optimizer.param_groups if hasattr(opt, "optimizer") else opt.param_groups:
                    group["lr"] = lr
        z = self.latent(len(x), x.shape[-1])
        with torch.no_grad():
            fake = self.generator(z, y)
        parts = self.critic_loss(x, y, fake)
        opt_c.zero_grad()
        self.manual_backward(parts["loss"])
        opt_c.step()
        self.log_dict({f"train/critic_{k}" if k == "loss" else f"train/{k}": v.detach() for k, v in parts.items()},
                      prog_bar=False, on_step=True, on_epoch=False, batch_size=len(x))
        if (batch_idx + 1) % self.hparams.n_critic == 0:
            self.critic.requires_grad_(False)
            fake = self.generator(self.latent(len(x), x.shape[-1]), y)
            loss_g = -self.critic(fake, y).mean()
            opt_g.zero_grad()
            self.manual_backward(loss_g)
            opt_g.step()
            self.critic.requires_grad_(True)
            self.generator_steps += 1
            self.log("train/generator_loss", loss_g.detach(), on_step=True, on_epoch=False, batch_size=len(x))
            self.log("train/generator_steps", self.generator_steps.float(), prog_bar=True, on_step=True,
                     on_epoch=False, batch_size=len(x))

    # -- validation: per-label <e>, <|m|> of generated vs real at the val labels --------------------
    # Per-sample rows go into a GatheredRows metric: under DDP the statistics below are computed once over
    # the rows of all ranks (a mean of per-rank medians or per-rank label means would not be the statistic).
    def configure_metrics(self) -> None:
        self.eval_rows = GatheredRows()

    def on_validation_epoch_start(self):
        self.eval_rows.reset()

    @property
    def _val(self) -> dict:
        """{(kind, T): [count, sum e, sum |m|]}, kind 'real' or 'fake', of this process's temperature-model rows so
        far (callbacks.rugan_figures draws it; no collective here, so under DDP it is this rank's share only)."""
        rows = self.eval_rows.rows
        if isinstance(rows, list):
            rows = torch.cat(rows) if rows else torch.zeros(0, 5, dtype=torch.float64)
        if self.hparams.labels != "temperature" or not len(rows):
            return {}
        out = {}
        for T in rows[:, 0].unique():
            r = rows[rows[:, 0] == T].cpu()
            for kind, c in (("real", 1), ("fake", 3)):
                out[(kind, float(T))] = torch.stack([torch.tensor(float(len(r)), dtype=torch.float64),
                                                     r[:, c].sum(), r[:, c + 1].sum()])
        return out

    def validation_step(self, batch, batch_idx):
        x, labels = batch
        L = x.shape[-1]
        if self.hparams.labels == "em":
            return self._em_validation_step(labels, L)
        fake = self.sample(len(x), L=L, **self._label_kwargs(labels), extrapolate=True).to(torch.float32)
        N = L * L
        cols = [labels.reshape(len(labels), -1)[:, 0].to(self.device, torch.float64)]
        for s in (x, fake):  # columns: T, e_real, |m|_real, e_fake, |m|_fake
            s = s.to(self.device, torch.float32)
            cols += [-(s * torch.roll(s, 1, -1) + s * torch.roll(s, 1, -2)).sum((-2, -1)) / N, s.mean((-2, -1)).abs()]
        self.eval_rows.update(torch.stack([c.double() for c in cols], -1))

    def _em_validation_step(self, labels: torch.Tensor, L: int) -> None:
        """(E/L^2, m) model: generate at the batch's labels and keep |realized - requested| per sample."""
        lab = labels.reshape(-1, 2).to(self.device, torch.float32)
        s = self.sample(len(lab), L=L, **self._label_kwargs(lab), extrapolate=True).to(self.device, torch.float32)
        e = -(s * torch.roll(s, 1, -1) + s * torch.roll(s, 1, -2)).sum((-2, -1)) / (L * L)
        m = s.mean((-2, -1))
        # columns: |e error|, |m error|, requested E/L^2, requested m
        self.eval_rows.update(torch.stack([(e - lab[:, 0]).abs(), (m - lab[:, 1]).abs(), lab[:, 0], lab[:, 1]], -1))

    def eval_stats(self, rows: torch.Tensor) -> dict:
        """The validation metrics from the rows of the whole evaluation set (see validation_step)."""
        if not len(rows):
            return {}
        if self.hparams.labels == "em":
            return {f"val/{s}_abs_error_{k}": float(torch.quantile(v, 0.5) if s == "median" else v.mean())
                    for k, v in (("e", rows[:, 0]), ("m", rows[:, 1])) for s in ("median", "mean")}
        de, dm = [], []
        for key in rows[:, 0].unique():
            r = rows[rows[:, 0] == key].mean(0)
            de.append(float((r[1] - r[3]).abs()))
            dm.append(float((r[2] - r[4]).abs()))
        return {"val/mean_abs_de": float(np.mean(de)), "val/mean_abs_dm": float(np.mean(dm)),
                "val/max_abs_de": float(np.max(de))}

    def on_validation_epoch_end(self):
        rows = self.eval_rows.compute()  # all ranks' rows: the values are global, no further sync
        self.eval_rows.reset()
        for k, v in self.eval_stats(rows).items():
            self.log(k, v)

    def _label_kwargs(self, labels: torch.Tensor) -> dict:
        if self.hparams.labels == "temperature":
            return {"temperature": labels.reshape(-1).cpu().numpy()}
        lab = labels.reshape(-1, 2).cpu().numpy()
        return {"energy": lab[:, 0], "magnetization": lab[:, 1]}

    def test_step(self, batch, batch_idx):
        return self.validation_step(batch, batch_idx)

    def on_test_epoch_start(self):
        self.eval_rows.reset()

    def on_test_epoch_end(self):
        self.on_validation_epoch_end()


# ------------------------------------------------------------------------------------------ evaluation
# Temperatures where the targets apply: outside the critical window [2.0, 2.6] (ours)
CRIT_WINDOW = (2.0, 2.6)
# samples per (L, T), GAN and Monte Carlo alike (sized for 2 shared CPU cores: the whole measurement takes
# ~15 min there; 8 chains x 100 hybrid equilibration sweeps each); standard errors are reported beside every difference
EVAL_N = {16: 400, 32: 200, 64: 64}
UPSCALE_TEMPS = [1.5, 2.25, 3.0]  # training temperatures also evaluated at L = 32, 64
ROWS_FILE = "rugan_eval.json"  # full per-(L, T) rows of measure(), written into its `out_dir` (the report reads them)


def compare_to_mc(model: RUGAN, T: float, L: int, n: int, seed: str = "eval", mc: np.ndarray | None = None) -> dict:
    """GAN vs Monte Carlo at one (T, L): observables, W1 of the e and |m| histograms, and the W1 of random
    spins vs Monte Carlo (the scale the e-histogram target is relative to)."""
    from datamodules.physics import ising, ising_cluster as W

    if mc is None:
        mc = W.thermal_samples(L, T, n, n_chains=8, n_equil=100, every=4, seed=f"{seed}/mc/{L}/{T}")
    sd = int.from_bytes(f"{seed}/{L}/{T}".encode(), "little") % (2 ** 31)
    raw = model.sample(n, L=L, temperature=T, extrapolate=True, seed=sd, raw=True)
    gan = torch.where(raw >= 0, 1, -1).to(torch.int8).cpu().numpy()
    rnd = ising.random_configs(n, L, seed=sd)
    og, om = W.thermal_observables(gan, T), W.thermal_observables(mc, T)
    eg, em_ = W.energy_per_spin(gan), W.energy_per_spin(mc)
    mg, mm = W.abs_magnetization(gan), W.abs_magnetization(mc)
    return {"T": float(T), "L": int(L), "n": int(n),
            "e_gan": og["e"], "e_mc": om["e"], "e_err": float(np.hypot(og["e_err"], om["e_err"])),
            "m_gan": og["m"], "m_mc": om["m"], "m_err": float(np.hypot(og["m_err"], om["m_err"])),
            "de": og["e"] - om["e"], "dm": og["m"] - om["m"],
            "w1_e": W.wasserstein1(eg, em_), "w1_m": W.wasserstein1(mg, mm),
            "w1_e_random": W.wasserstein1(W.energy_per_spin(rnd), em_),
            "c_gan": og["c"], "c_mc": om["c"], "chi_gan": og["chi"], "chi_mc": om["chi"],
            "G_gan": og["G"].tolist(), "G_mc": om["G"].tolist(),
            "G_max_abs_dev": float(np.max(np.abs(og["G"] - om["G"]))),
            "raw_dist_from_pm1": float((1 - raw.abs()).mean()),
            "e_hist_gan": eg.tolist() if L == 16 else None, "e_hist_mc": em_.tolist() if L == 16 else None}


def evaluation_rows(model: RUGAN, data_args: dict, seed: int | None = None, quick: bool = False,
                    progress: bool = False) -> list[dict]:
    """compare_to_mc at every training and held-out T at L = 16, and at UPSCALE_TEMPS + held-out T at 32, 64."""
    train = [float(t) for t in data_args.get("temperatures") or []]
    held = [float(t) for t in data_args.get("heldout_temperatures") or []]
    if not train:
        from datamodules.rugan import DEFAULT_HELDOUT, DEFAULT_TEMPERATURES

        train, held = list(DEFAULT_TEMPERATURES), list(DEFAULT_HELDOUT)
    L0 = int(data_args.get("L", 16))
    jobs = [(L0, T, "train") for T in train] + [(L0, T, "heldout") for T in held]
    for L in (2 * L0, 4 * L0):
        jobs += [(L, T, "train") for T in UPSCALE_TEMPS if T in train] + [(L, T, "heldout") for T in held]
    rows = []
    key = f"measure/{seed if seed is not None else data_args.get('seed', 0)}"
    for i, (L, T, split) in enumerate(jobs):
        n = EVAL_N.get(L // L0 * 16, 300)
        if quick:
            n = max(100, n // 4)
        row = compare_to_mc(model, T, L, n, seed=key)
        row["split"] = split
        rows.append(row)
        if progress:
            print(f"[{i + 1}/{len(jobs)}] L={L} T={T} ({split}): de={row['de']:+.4f} dm={row['dm']:+.4f} "
                  f"W1e/W1rand={row['w1_e'] / row['w1_e_random']:.3f}", flush=True)
    return rows


def _m(name, value, split, how, unit=""):
    return {"name": name, "value": float(value), "split": split, "how": how, "unit": unit}


def summarize(rows: list[dict]) -> list[dict]:
    lo, hi = CRIT_WINDOW
    out = []
    Ls = sorted({r["L"] for r in rows})
    how = "GAN (sign of tanh) vs hybrid Metropolis+Wolff MC at the same L and T, fresh samples"

    def pick(L=None, split=None, crit=None):
        return [r for r in rows if (L is None or r["L"] == L) and (split is None or r["split"] == split)
                and (crit is None or (lo <= r["T"] <= hi) == crit)]

    for L in Ls:
        for split in (("train", "heldout") if L == Ls[0] else (None,)):
            sel = pick(L, split, crit=False)
            if not sel:
                continue
            tag = f"L{L}" + (f"_{split}" if split else "")
            where = f"L={L}, T in {sorted(r['T'] for r in sel)} ({split or 'train+held-out'}), n={sel[0]['n']}/T"
            out.append(_m(f"max_abs_de_offcrit_{tag}", max(abs(r["de"]) for r in sel), where, how, "J per spin"))
            out.append(_m(f"max_abs_dm_offcrit_{tag}", max(abs(r["dm"]) for r in sel), where, how, "per spin"))
            out.append(_m(f"max_w1e_ratio_offcrit_{tag}", max(r["w1_e"] / r["w1_e_random"] for r in sel), where,
                          "W1(e hist GAN, MC) / W1(e hist random spins, MC)"))
        crit = pick(L, None, crit=True)
        if crit:
            where = f"L={L}, T in {sorted(r['T'] for r in crit)} (critical window {list(CRIT_WINDOW)})"
            out.append(_m(f"max_abs_de_crit_L{L}", max(abs(r["de"]) for r in crit), where, how, "J per spin"))
            out.append(_m(f"max_abs_dm_crit_L{L}", max(abs(r["dm"]) for r in crit), where, how, "per spin"))
    for L in Ls:
        sel = pick(L)
        out.append(_m(f"median_rel_err_c_L{L}", np.median([abs(r["c_gan"] / r["c_mc"] - 1) for r in sel]),
                      f"L={L}, all evaluated T", "|C_gan / C_mc - 1|, C/N = N Var(e)/T^2"))
        out.append(_m(f"median_rel_err_chi_L{L}", np.median([abs(r["chi_gan"] / r["chi_mc"] - 1) for r in sel]),
                      f"L={L}, all evaluated T", "|chi_gan / chi_mc - 1|, chi/N = N Var(|m|)/T"))
        out.append(_m(f"max_G_dev_L{L}", max(r["G_max_abs_dev"] for r in sel), f"L={L}, all evaluated T",
                      "max over r <= L/2 and T of |G_gan(r) - G_mc(r)|"))
    out.append(_m("mean_raw_dist_from_pm1", np.mean([r["raw_dist_from_pm1"] for r in rows]), "all evaluated (L, T)",
                  "mean 1 - |tanh output| before binarization (spec section 7 item 19)"))
    return out


@torch.no_grad()
def measure(model: RUGAN, data_args: dict, seed: int | None = None, progress: bool = False,
            quick: bool = False, out_dir: str | None = None) -> list[dict]:
    """The card's metrics: summaries of `evaluation_rows` plus one row per (L, T) for <e>, <|m|>, W1.
    The (E/L^2, m) model is measured by `measure_em` instead.  With `out_dir`, the full rows (C, chi, G(r),
    histograms) are also written there as ROWS_FILE; nothing is written otherwise."""
    if model.hparams.labels == "em":
        return measure_em(model, data_args, seed=seed, progress=progress, quick=quick, out_dir=out_dir)
    rows = evaluation_rows(model, data_args, seed=seed, quick=quick, progress=progress)
    out = summarize(rows)
    card = getattr(model, "card", None) or {}
    if out_dir is not None:
        _save_rows(out_dir, ROWS_FILE, {"name": card.get("name"), "sha256": card.get("sha256"), "seed": seed,
                                        "quick": quick, "rows": rows})
    for r in rows:
        where = f"L={r['L']}, T={r['T']} ({r['split']}), n={r['n']}"
        out.append(_m(f"de@L{r['L']},T{r['T']}", r["de"], where, f"<e>_GAN - <e>_MC (+- {r['e_err']:.4f})",
                      "J per spin"))
        out.append(_m(f"dm@L{r['L']},T{r['T']}", r["dm"], where, f"<|m|>_GAN - <|m|>_MC (+- {r['m_err']:.4f})",
                      "per spin"))
        out.append(_m(f"w1e_ratio@L{r['L']},T{r['T']}", r["w1_e"] / r["w1_e_random"], where,
                      "W1(e: GAN, MC) / W1(e: random, MC)"))
    return out


# ------------------------------------------------------------------ evaluation of the (E/L^2, m) model
# Fig. 6 (L3176): 100 samples per label pair on a grid of spacing 1/64 in E/L^2 and 1/1024 in m, at the training L
# and at 4x L.  Ours (CPU budget): per training-size factor, (grid spacing of E/L^2, of m, samples per grid point);
# the grid holds every point some configuration of that L has (datamodules.rugan_em.em_grid).
EM_EVAL = {1: (1 / 16, 1 / 16, 25), 4: (1 / 8, 1 / 8, 16)}
EM_ROWS_FILE = "rugan_em_eval.json"  # per-grid-point rows of measure_em(), written into its `out_dir`, for figures


@torch.no_grad()
def em_evaluation_rows(model: RUGAN, data_args: dict, seed: int | None = None, quick: bool = False,
                       progress: bool = False) -> list[dict]:
    """Per grid point of the (E/L^2, m) plane at L0 and 4 L0: requested vs realized labels of generated
    samples (sign of the output): median, mean and std of |dE/L^2| and |dm|, and whether the point is
    inside the training windows."""
    from datamodules.rugan_em import DEFAULT_WINDOWS, em_grid, em_labels, in_windows

    L0 = int(data_args.get("L", 16))
    windows = data_args.get("train_windows") or DEFAULT_WINDOWS
    base = int(seed if seed is not None else data_args.get("seed", 0))
    rows = []
    for f, (de, dm, n) in sorted(EM_EVAL.items()):
        L = f * L0
        if quick:
            de, dm, n = 2 * de, 2 * dm, max(8, n // 2)
        grid = em_grid(L, de, dm)
        lab = np.repeat(grid, n, axis=0)
        # the whole plane, outside the windows on purpose (extrapolate: no warning); every grid point is feasible
        s = model.sample(len(lab), L=L, energy=lab[:, 0], magnetization=lab[:, 1], extrapolate=True,
                         seed=base * 1000 + L,
                         batch_size=max(64, 2 ** 14 // L ** 2 * 16)).cpu().numpy()
        err = np.abs(em_labels(s) - lab).reshape(len(grid), n, 2)
        inside = in_windows(grid, windows)
        for i, (e, m) in enumerate(grid):
            d = err[i]
            rows.append({"L": L, "e": float(e), "m": float(m), "n": n, "in_window": bool(inside[i]),
                         "median_de": float(np.median(d[:, 0])), "median_dm": float(np.median(d[:, 1])),
                         "mean_de": float(d[:, 0].mean()), "mean_dm": float(d[:, 1].mean()),
                         "std_de": float(d[:, 0].std()), "std_dm": float(d[:, 1].std())})
        if progress:
            sel = rows[-len(grid):]
            print(f"L={L}: {len(grid)} grid points x {n} samples; median |dE/L^2| "
                  f"{np.median([r['median_de'] for r in sel]):.4f}, median |dm| "
                  f"{np.median([r['median_dm'] for r in sel]):.4f}", flush=True)
    return rows


def summarize_em(rows: list[dict]) -> list[dict]:
    out = []
    how = ("median over grid points of the per-point median |requested - realized| of generated samples "
           "(sign of tanh), as the Fig. 6 heat map (L3176)")
    for L in sorted({r["L"] for r in rows}):
        for part, sel in (("", [r for r in rows if r["L"] == L]),
                          ("_windows", [r for r in rows if r["L"] == L and r["in_window"]]),
                          ("_outside", [r for r in rows if r["L"] == L and not r["in_window"]])):
            if not sel:
                continue
            where = (f"L={L}, {len(sel)} points of the (E/L^2, m) grid "
                     f"({'inside' if part == '_windows' else 'outside' if part == '_outside' else 'all,'} "
                     f"{'the training windows' if part else 'in and out of the training windows'}), "
                     f"n={sel[0]['n']}/point")
            for k, unit in (("e", "E/L^2 (J per spin)"), ("m", "per spin")):
                out.append(_m(f"median_abs_error_{k}_L{L}{part}", np.median([r[f"median_d{k}"] for r in sel]),
                              where, how, unit))
                if not part:
                    out.append(_m(f"mean_abs_error_{k}_L{L}", np.mean([r[f"mean_d{k}"] for r in sel]), where,
                                  "mean over grid points of the per-point mean |requested - realized|", unit))
    return out


@torch.no_grad()
def measure_em(model: RUGAN, data_args: dict, seed: int | None = None, progress: bool = False,
               quick: bool = False, out_dir: str | None = None) -> list[dict]:
    """The (E/L^2, m) card's metrics (`summarize_em` of `em_evaluation_rows`); with `out_dir`, the per-point rows
    are also written there as EM_ROWS_FILE for the heat map (zoo.reports.rugan_em.em_heatmap)."""
    rows = em_evaluation_rows(model, data_args, seed=seed, quick=quick, progress=progress)
    card = getattr(model, "card", None) or {}
    if out_dir is not None:
        _save_rows(out_dir, EM_ROWS_FILE, {"name": card.get("name"), "sha256": card.get("sha256"), "seed": seed,
                                           "quick": quick, "train_windows": data_args.get("train_windows"),
                                           "rows": rows})
    return summarize_em(rows)


def _save_rows(out_dir, filename: str, payload: dict) -> None:
    """Only where the caller asked (`zoo evaluate --out`, `zoo publish`): library code does not write into the
    user's folder on its own, and a failed write is an error, not silently skipped."""
    import json
    from pathlib import Path

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / filename).write_text(json.dumps(payload) + "\n")


_TARGET = "ours (issue 5; the paper gives figures, not numbers)"
PAPER = {
    "ising-T-L16": [
        {"metric": "max_abs_de_offcrit_L16_train", "value": 0.02, "text": "target <= 0.02",
         "ref": f"{_TARGET}; paper: generated observables match MC at trained labels, L3049/L3061"},
        {"metric": "max_abs_dm_offcrit_L16_train", "value": 0.03, "ref": _TARGET},
        {"metric": "max_abs_de_offcrit_L16_heldout", "value": 0.02,
         "ref": f"{_TARGET}; paper: interpolation to unseen labels works, Fig. 2C,D L3078"},
        {"metric": "max_abs_dm_offcrit_L16_heldout", "value": 0.03, "ref": _TARGET},
        {"metric": "max_abs_de_offcrit_L64", "value": 0.02,
         "ref": f"{_TARGET}; paper: accuracy retained when upscaling, L3178 (Fig. 6B)"},
        {"metric": "max_abs_dm_offcrit_L64", "value": 0.03, "ref": _TARGET},
        {"metric": "max_w1e_ratio_offcrit_L16_train", "value": 0.2, "ref": _TARGET},
        {"metric": "max_abs_de_crit_L64", "value": None,
         "text": "expected to fail: correlation length outgrows the receptive field", "ref": "L3069"},
    ],
    "ising-em-L16": [
        {"metric": "median_abs_error_e_L16", "value": None,
         "text": "figures only (Fig. 6A heat map, at L=64: large errors only where the density of states is small)",
         "ref": "L3169-3176"},
        {"metric": "median_abs_error_m_L16", "value": None, "text": "figures only (Fig. 6A)", "ref": "L3169-3176"},
        {"metric": "median_abs_error_e_L64", "value": None,
         "text": "figures only (Fig. 6B, 4x the training side: accuracy retained when upscaling)", "ref": "L3178"},
        {"metric": "median_abs_error_m_L64", "value": None, "text": "figures only (Fig. 6B)", "ref": "L3178"},
    ],
}

RUGAN.measure = measure
RUGAN.PAPER = PAPER
