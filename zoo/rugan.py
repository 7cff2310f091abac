"""RUGAN, the Regressive Upscaling GAN (Casert, Mills, Vieijra, Ryckebusch, Tamblyn, "Optical lattice experiments at
unobserved conditions and scales through generative adversarial deep learning", arXiv:2002.07055, Phys. Rev. Research
3, 033267 (2021); Mills thesis Sec. 4.2 and App. A, L2430-2452 and L3016-3278).

A label-conditioned WGAN-GP with a consistency term (CT).  Both networks are fully convolutional with circular padding
(zoo.rugan_nets), so a generator trained at L = 16 samples any L that is a multiple of 4 from a larger latent block
(upscaling, arXiv:2002.07055 main text and Fig. 3, thesis L3063-3069), and the critic (global average pooling) scores
any size.  Two conditionings, one class each around the same networks and training step:

    RUGAN    temperature T (ours: the paper conditions its Ising example on (E, m); T is the zoo's user-facing sampler)
    RUGANEM  energy per spin and magnetization (E/L^2, m), as the paper's Ising example (Supp. A.4, Fig. 6, L3169)

Loss (Supp. A.1, Eqs. (7)-(8), thesis L3123-3139): critic -E_r C(x, y) + E_g C(G(z, y), y) + lambda1 GP + lambda2 CT,
generator -E_g C(G(z, y), y) (Eq. (8) as printed would let the critic maximize its own penalties); GP on straight-line
interpolates with the pair's label (Eq. (7b), L3135), CT = E_r |C(x) - C'(x)| from two dropout passes of the same real
batch (Eq. (7c), L3137, without the margin of Wei et al. arXiv:1803.01541).  Adam (beta1, beta2) = (0, 0.9), lr 1e-4,
lambda1 = 10, lambda2 = 2, n_critic = 10 (Supp. A.2, L3152) - all arguments.  The critic stays in train mode (dropout
on) during the generator step too (ours; the paper does not say).
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from datamodules.physics import ising

from datamodules import validation
from .base import ZooTask
from .metrics import GatheredRows
from .registry import register_model
from .rugan_nets import Critic, Generator, gradient_penalty

__all__ = ["RUGAN", "RUGANEM", "gradient_penalty"]


class RUGANTask(ZooTask):
    """What both conditionings share: networks, optimizers, the WGAN-GP + CT step, sampling and validation.
    A subclass names its labels (`label_names`) and says how they are checked, normalized and augmented.

    Args:
        latent_channels, g_width, c_width: ours (the paper leaves layer widths to its code, Supp. A.2, L3154).
        dropout: critic dropout in the two down-sampling blocks (paper 0.25, Supp. A.2, L3152).
        lambda_gp, lambda_ct: paper 10 and 2 (Eq. (7), L3152).  n_critic: paper 10 (L3152).
        lr, betas: paper 1e-4 and (0, 0.9) (Supp. A.2, L3152).
        lr_final, decay_start, decay_steps: optional geometric decay of both learning rates from `lr` to
            `lr_final` over generator steps [decay_start, decay_start + decay_steps], then constant (ours; off by
            default). A WGAN trained at a high rate oscillates around the target; a late decay settles it.
        augment: random torus symmetries of the real batch (global spin flip, translations, 90-degree
            rotations, transposition) - each preserves the Boltzmann weight (ours; the paper augmented its
            Fermi-Hubbard data by 90-degree rotations, Supp. B.4, L3218, and notes spin-flip symmetry is not
            enforced, Supp. A.4, L3178).
        global_latent: channels of a per-sample latent drawn once and broadcast over the whole latent block (ours,
            issue 17; default 0 = the published models). Local noise lets a generator trained at L = 16 choose the
            sign of m only within its receptive field (30 sites across), so upscaled ordered samples break into domains;
            a plane every site sees alike can carry one choice across any L. They enter the generator's input as
            the last `global_latent` channels of z, like the label planes (the residual path carries them on).
        ema_decay: keep an exponential moving average of the generator's weights (`generator_ema`) with this decay
            per generator step, and sample, validate and select from it (ours, issue 17; default None = off, the
            published models). The paper samples its trained generator as is. Why: at a constant rate a WGAN
            generator oscillates around the target; our global-latent run's physics score moved by a factor 2-5
            between checks 250 generator steps apart, at L = 16, T >= 2.8 |D e| up to 0.09. Weight averaging is the
            standard remedy (Yazici et al., arXiv:1806.04498). The first steps use min(ema_decay, (1 + k) / (10 + k))
            at generator step k, so the average does not remember the random initialization. Measured on the
            global-latent recipe: steadier, not better (biased toward disorder above T_c; the header of
            configs/rugan/ising-T-L16-global-ema.yaml).
    """

    label_names: tuple[str, ...] = ()
    # critic and generator steps each backpropagate through one network, so plain DDP's reducer would stop at
    # "parameters that were not used"; `zoo fit --trainer.strategy ddp` switches these models to the variant
    # that allows it (zoo.cli)
    ddp_find_unused_parameters = True

    def __init__(self, latent_channels: int = 16, g_width: int = 32, c_width: int = 32, dropout: float = 0.25,
                 lambda_gp: float = 10.0, lambda_ct: float = 2.0, n_critic: int = 10, lr: float = 1e-4,
                 betas: list[float] = (0.0, 0.9), augment: bool = True, lr_final: float | None = None,
                 decay_start: int = 0, decay_steps: int = 0, global_latent: int = 0,
                 ema_decay: float | None = None):
        if not isinstance(global_latent, (int, np.integer)) or isinstance(global_latent, bool) or global_latent < 0:
            raise ValueError(f"global_latent must be a non-negative integer (channels); got {global_latent!r}")
        if ema_decay is not None and (isinstance(ema_decay, bool) or not isinstance(ema_decay, (int, float))
                                      or not 0 < ema_decay < 1):
            raise ValueError(f"ema_decay must be None (off) or a number in (0, 1); got {ema_decay!r}")
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1; got {n_critic}")
        if min(latent_channels, g_width, c_width) < 1 or not 0 <= dropout < 1:
            raise ValueError("latent_channels, g_width, c_width must be >= 1 and dropout in [0, 1)")
        if len(betas) != 2:
            raise ValueError(f"betas must be [beta1, beta2]; got {betas}")
        if lr_final is not None and (lr_final <= 0 or decay_start < 0 or decay_steps < 0):
            raise ValueError("lr_final must be > 0 and decay_start, decay_steps >= 0")
        super().__init__()
        # JSON primitives in the hparams whether built directly or by the CLI (which hands over its config as is)
        self.hparams.update(betas=[float(b) for b in betas], decay_start=int(decay_start), decay_steps=int(decay_steps))
        self.automatic_optimization = False

    @classmethod
    def from_legacy_args(cls, init_args: dict) -> tuple[type, dict]:
        """Cards and checkpoints from before the two classes carry `labels` ('temperature' or 'em') and None for the
        other conditioning's arguments: the class they meant and the arguments it takes."""
        args = dict(init_args)
        if "labels" not in args:
            return cls, args
        kinds = {"temperature": RUGAN, "em": RUGANEM}
        labels = args.pop("labels")
        if labels not in kinds:
            raise ValueError(f"legacy RUGAN labels must be one of {tuple(kinds)}; got {labels!r}")
        target = kinds[labels]
        for k in set(RUGAN.OWN_ARGS + RUGANEM.OWN_ARGS) - set(target.OWN_ARGS):
            if args.get(k, None) is None:
                args.pop(k, None)
        return target, args

    def configure_models(self) -> None:
        hp = self.hparams
        self.generator = Generator(len(self.label_names), self.z_channels, hp.g_width)
        self.critic = Critic(len(self.label_names), hp.c_width, hp.dropout)
        if hp.get("ema_decay") is not None:
            # not trained: a copy moved toward the generator after each generator step (ema_update); it starts as the
            # generator, and a checkpoint or card carries it like any other weights
            self.generator_ema = Generator(len(self.label_names), self.z_channels, hp.g_width).requires_grad_(False)
            self.generator_ema.load_state_dict(self.generator.state_dict())
        self.register_buffer("generator_steps", torch.zeros((), dtype=torch.long))

    @property
    def z_channels(self) -> int:
        """Channels of z: `latent_channels` local ones, then `global_latent` broadcast ones (cards without it: 0)."""
        return self.hparams.latent_channels + self.hparams.get("global_latent", 0)

    def configure_metrics(self) -> None:
        # per-sample validation rows; under DDP the statistics are computed once over the rows of all ranks (a mean of
        # per-rank medians or per-rank label means would not be the statistic)
        self.eval_rows = GatheredRows()

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

    # -- labels (subclasses) ------------------------------------------------------------------------
    def normalize_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Physical labels -> the network's label planes (B, n_labels), roughly in [-1, 1]."""
        raise NotImplementedError

    def check_labels(self, n: int, extrapolate: bool, L: int, **labels) -> torch.Tensor:
        """The `sample()` label kwargs as a (n, n_labels) float tensor, or ValueError saying what is wrong."""
        raise NotImplementedError

    def label_kwargs(self, labels: torch.Tensor) -> dict:
        """A batch's labels as `sample()` kwargs."""
        raise NotImplementedError

    def augment_batch(self, x: torch.Tensor, labels: torch.Tensor):
        return self._augment(x), labels

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Raw generator output in (-1, 1) for latent z (B, C_z, l, l) and physical labels."""
        C, k = self.z_channels, len(self.label_names)
        if z.dim() != 4 or z.shape[1] != C:
            raise ValueError(f"z must have shape (B, {C}, l, l) (latent_channels + global_latent = {C}; "
                             f"`latent(n, L)` makes one); got {tuple(z.shape)}")
        if labels.numel() != len(z) * k:
            raise ValueError(f"labels must hold {k} value(s) per latent sample ({len(z)} samples); "
                             f"got shape {tuple(labels.shape)}")
        return self.sampler(z, self.normalize_labels(labels))

    @property
    def sampler(self) -> torch.nn.Module:
        """The network `sample()` and validation use: the weight average when `ema_decay` is set, else the generator."""
        ema = getattr(self, "generator_ema", None)
        return self.generator if ema is None else ema

    @torch.no_grad()
    def ema_update(self) -> None:
        """Move generator_ema toward the generator, after generator step `generator_steps` (1 = the first)."""
        if getattr(self, "generator_ema", None) is None:
            return
        k = int(self.generator_steps) - 1
        decay = min(float(self.hparams.ema_decay), (1 + k) / (10 + k))
        for avg, p in zip(self.generator_ema.parameters(), self.generator.parameters()):
            avg.lerp_(p.detach(), 1.0 - decay)

    def latent(self, n: int, L: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if L < 4 or L % 4:
            raise ValueError(f"L must be a positive multiple of 4 (latent side L/4); got {L}")
        z = torch.randn(n, self.hparams.latent_channels, L // 4, L // 4, generator=generator)
        if self.z_channels > z.shape[1]:  # drawn after the local noise: a seed's local latent is the same either way
            w = torch.randn(n, self.z_channels - z.shape[1], 1, 1, generator=generator)
            z = torch.cat([z, w.expand(-1, -1, L // 4, L // 4)], 1)
        return z.to(self.device)

    @torch.no_grad()
    def sample(self, n: int, L: int = 16, extrapolate: bool = False, seed: int | None = None, batch_size: int = 1024,
               raw: bool = False, precision: str = "fp32", **labels) -> torch.Tensor:
        """n configurations (n, L, L) int8 +-1 (the sign of the tanh output; `raw=True` returns it).

        Labels (`temperature=` or `energy=`, `magnetization=`) are scalars or length-n arrays; what is checked and
        what `extrapolate` allows depends on the class.  L must be a multiple of 4; a bigger L uses a bigger latent
        block (upscaling).  n = 0 gives an empty (0, L, L) batch.

        precision: "fp32" (default) or "bf16": the generator's hidden layers under a bfloat16 autocast on
        channels-last activations (several times faster on CPUs with bf16 matrix units, e.g. AMX); the output layer,
        tanh and the sign stay fp32 and the latents are the same for a seed.  Individual spins can differ from the
        fp32 ones (about 0.1 % of them for the published model); the ensemble statistics agree (<e>, <|m|> within
        1e-3 per spin over 1000 L = 64 samples, benchmarks/results/rugan_perf.json).
        """
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16'; got {precision!r}")
        n = validation.count(n, "n")
        batch_size = validation.positive_int(batch_size, "batch_size")
        if not isinstance(L, (int, np.integer)) or L < 4 or L % 4:
            raise ValueError(f"L must be a positive multiple of 4 (latent side L/4); got {L!r}")
        y = self.check_labels(n, extrapolate, int(L), **labels)
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        net = self.sampler
        was_training = net.training
        net.eval()
        out = []
        for i in range(0, n, batch_size):
            k = min(batch_size, n - i)
            z = self.latent(k, L, g)
            if precision == "bf16":
                # channels-last is the layout oneDNN's bf16 convolutions want (no reorder per layer)
                with torch.autocast(self.device.type, dtype=torch.bfloat16):
                    x = self(z.contiguous(memory_format=torch.channels_last), y[i:i + k])
            else:
                x = self(z, y[i:i + k])
            signs = self.sample_signs(k, g)
            if signs is not None:
                x = x * signs.to(x.device, x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
            out.append(x if raw else torch.where(x >= 0, 1, -1).to(torch.int8))
        net.train(was_training)
        if not out:
            return torch.zeros(0, L, L, dtype=torch.float32 if raw else torch.int8)
        return torch.cat(out)

    def sample_signs(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """A global sign per sample that `sample()` multiplies the output by, or None (this class: none)."""
        return None

    def canonicalize(self, x: torch.Tensor) -> torch.Tensor:
        """The real batch as the critic sees it, after augmentation (this class: unchanged)."""
        return x

    # -- training -----------------------------------------------------------------------------------
    def _augment(self, x: torch.Tensor, labels: torch.Tensor | None = None):
        """Random torus symmetry per batch; with `labels` (whose last column is m) returns (x, labels) with m
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
            x, labels = self.augment_batch(x, labels)
        x = self.canonicalize(x)
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
            self.ema_update()
            self.log("train/generator_loss", loss_g.detach(), on_step=True, on_epoch=False, batch_size=len(x))
            self.log("train/generator_steps", self.generator_steps.float(), prog_bar=True, on_step=True,
                     on_epoch=False, batch_size=len(x))

    # -- validation: generated vs real at the batch's labels, one row per sample ---------------------
    def _sample_like(self, labels: torch.Tensor, L: int) -> np.ndarray:
        """Generated configurations (int8 numpy) at a batch's labels; the labels may lie anywhere."""
        return self.sample(len(labels), L=L, **self.label_kwargs(labels), extrapolate=True).cpu().numpy()

    @staticmethod
    def _e_m(spins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(E/L^2, m) of each configuration."""
        N = spins.shape[-1] * spins.shape[-2]
        return ising.energy(spins) / N, ising.magnetization(spins)

    def on_validation_epoch_start(self):
        self.eval_rows.reset()

    def eval_stats(self, rows: torch.Tensor) -> dict:
        """The validation metrics from the rows of the whole evaluation set (see validation_step)."""
        raise NotImplementedError

    def on_validation_epoch_end(self):
        rows = self.eval_rows.compute()  # all ranks' rows: the values are global, no further sync
        self.eval_rows.reset()
        for k, v in (self.eval_stats(rows) if len(rows) else {}).items():
            self.log(k, v)

    def test_step(self, batch, batch_idx):
        return self.validation_step(batch, batch_idx)

    def on_test_epoch_start(self):
        self.eval_rows.reset()

    def on_test_epoch_end(self):
        self.on_validation_epoch_end()


@register_model("rugan")
class RUGAN(RUGANTask):
    """RUGAN conditioned on temperature (one label plane, T normalized linearly to [-1, 1] over `label_range`).

    Args:
        train_temperatures: the training temperatures (`zoo fit` links them from the DataModule); they define the
            default `label_range` and the range outside which `sample()` refuses to extrapolate unless asked.
        label_range: [lo, hi] of the temperature normalization (default: min/max of train_temperatures).
        canonical_m: train on sign-canonical data and restore the symmetry when sampling (ours, issue 17; default
            None = off, the published models): every real sample with |m| > canonical_m is flipped to m > 0 (after
            augmentation), and `sample()` multiplies each generated sample by a random global sign. At the training
            size the sampled distribution is the data's (Z2-symmetric) one. Why: an ordered sample's sign is one
            global choice, which a generator driven by local noise cannot make beyond its receptive field (upscaled
            ordered samples break into domains); taught to make ordered samples positive, it is positive
            everywhere at any L. Samples with |m| <= canonical_m keep both signs, so at high T, where
            |m| > canonical_m is rare at L = 16, the generator is taught almost no preferred sign there (a global
            latent channel, `global_latent`, is: it acts like a uniform field once upscaled). Measured: a residual
            high-T bias remains upscaled, about half the global latent's (reports/rugan.md, upscaling section).
        The rest: `RUGANTask`.
    """

    label_names = ("temperature",)
    OWN_ARGS = ("train_temperatures", "label_range", "canonical_m")

    def __init__(self, train_temperatures: list[float] | None = None, label_range: list[float] | None = None,
                 latent_channels: int = 16, g_width: int = 32, c_width: int = 32, dropout: float = 0.25,
                 lambda_gp: float = 10.0, lambda_ct: float = 2.0, n_critic: int = 10, lr: float = 1e-4,
                 betas: list[float] = (0.0, 0.9), augment: bool = True, lr_final: float | None = None,
                 decay_start: int = 0, decay_steps: int = 0, global_latent: int = 0,
                 ema_decay: float | None = None, canonical_m: float | None = None):
        if canonical_m is not None and (isinstance(canonical_m, bool) or not isinstance(canonical_m, (int, float))
                                        or not 0 <= canonical_m < 1):
            raise ValueError(f"canonical_m must be None (off) or a number in [0, 1); got {canonical_m!r}")
        if label_range is None:
            if not train_temperatures:
                raise ValueError("temperature RUGAN needs train_temperatures (linked by `zoo fit` from the data) "
                                 "or label_range")
            label_range = [min(train_temperatures), max(train_temperatures)]
        label_range = [float(v) for v in label_range]
        if len(label_range) != 2 or not 0 < label_range[0] < label_range[1]:
            raise ValueError(f"label_range must be [lo, hi] with 0 < lo < hi; got {label_range}")
        super().__init__(latent_channels=latent_channels, g_width=g_width, c_width=c_width, dropout=dropout,
                         lambda_gp=lambda_gp, lambda_ct=lambda_ct, n_critic=n_critic, lr=lr, betas=betas,
                         augment=augment, lr_final=lr_final, decay_start=decay_start, decay_steps=decay_steps,
                         global_latent=global_latent, ema_decay=ema_decay)
        self.hparams.update(label_range=label_range, train_temperatures=None if train_temperatures is None else
                            [float(t) for t in train_temperatures])

    def canonicalize(self, x: torch.Tensor) -> torch.Tensor:
        c = self.hparams.get("canonical_m")
        if c is None:
            return x
        m = x.flatten(1).mean(1)  # ordered samples to m > 0 (see canonical_m)
        flip = torch.where(m.abs() > c, torch.sign(m), torch.ones_like(m))
        return x * flip.reshape(-1, *([1] * (x.dim() - 1)))

    def sample_signs(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        if self.hparams.get("canonical_m") is None:
            return None
        return torch.randint(0, 2, (n,), generator=generator) * 2 - 1  # drawn after the batch's latent

    def normalize_labels(self, labels: torch.Tensor) -> torch.Tensor:
        lo, hi = self.hparams.label_range
        labels = labels.to(self.device, torch.float32)
        return ((labels.reshape(-1) - (lo + hi) / 2) / ((hi - lo) / 2)).unsqueeze(-1)

    def check_labels(self, n: int, extrapolate: bool, L: int, temperature=None, **other) -> torch.Tensor:
        if temperature is None or any(v is not None for v in other.values()):
            raise ValueError("this RUGAN is conditioned on temperature: pass temperature= (and not energy=/"
                             "magnetization=)")
        T = np.broadcast_to(np.asarray(temperature, dtype=np.float64), (n,))
        if np.any(~np.isfinite(T)) or np.any(T <= 0):
            raise ValueError(f"temperature must be positive and finite; got {temperature}")
        lo, hi = self.hparams.label_range
        if not extrapolate and T.size and (T.min() < lo - 1e-9 or T.max() > hi + 1e-9):  # n = 0: no labels
            raise ValueError(f"temperature {temperature} is outside the training range [{lo}, {hi}]; "
                             f"pass extrapolate=True to sample there anyway")
        return torch.as_tensor(np.array(T), dtype=torch.float32)

    def label_kwargs(self, labels: torch.Tensor) -> dict:
        return {"temperature": labels.reshape(-1).cpu().numpy()}

    @property
    def _val(self) -> dict:
        """{(kind, T): [count, sum e, sum |m|]}, kind 'real' or 'fake', of this process's validation rows so far
        (callbacks.rugan_figures draws it; no collective here, so under DDP it is this rank's share only)."""
        rows = self.eval_rows.rows
        if isinstance(rows, list):
            rows = torch.cat(rows) if rows else torch.zeros(0, 5, dtype=torch.float64)
        out = {}
        for T in rows[:, 0].unique():
            r = rows[rows[:, 0] == T].cpu()
            for kind, c in (("real", 1), ("fake", 3)):
                out[(kind, float(T))] = torch.stack([torch.tensor(float(len(r)), dtype=torch.float64),
                                                     r[:, c].sum(), r[:, c + 1].sum()])
        return out

    def validation_step(self, batch, batch_idx):
        """Rows (T, e_real, |m|_real, e_fake, |m|_fake) per sample, generated at the batch's temperatures."""
        x, labels = batch
        cols = [labels.reshape(len(labels), -1)[:, 0].double().cpu()]
        for s in (x.cpu().numpy().astype(np.int8), self._sample_like(labels, x.shape[-1])):
            e, m = self._e_m(s)
            cols += [torch.as_tensor(e, dtype=torch.float64), torch.as_tensor(np.abs(m), dtype=torch.float64)]
        self.eval_rows.update(torch.stack(cols, -1).to(self.device))

    def eval_stats(self, rows: torch.Tensor) -> dict:
        de, dm = [], []
        for key in rows[:, 0].unique():
            r = rows[rows[:, 0] == key].mean(0)
            de.append(float((r[1] - r[3]).abs()))
            dm.append(float((r[2] - r[4]).abs()))
        return {"val/mean_abs_de": float(np.mean(de)), "val/mean_abs_dm": float(np.mean(dm)),
                "val/max_abs_de": float(np.max(de))}


@register_model("rugan", variant=True)
class RUGANEM(RUGANTask):
    """RUGAN conditioned on (E/L^2, m), as the paper's Ising example (arXiv:2002.07055 Supp. A.4, Fig. 6, thesis
    L3169-3178): two label planes, E/L^2 / 2 and m, both in [-1, 1].

    Args:
        train_windows: the training windows [[e_lo, e_hi, m_lo, m_hi], ...] (`zoo fit` links them from the
            DataModule); `sample()` warns for labels outside them.  Default: the published card's windows, else
            `datamodules.rugan_em.DEFAULT_WINDOWS` (the DataModule's default).
        The rest: `RUGANTask`.
    """

    label_names = ("energy", "magnetization")
    OWN_ARGS = ("train_windows",)

    def __init__(self, latent_channels: int = 16, g_width: int = 32, c_width: int = 32, dropout: float = 0.25,
                 lambda_gp: float = 10.0, lambda_ct: float = 2.0, n_critic: int = 10, lr: float = 1e-4,
                 betas: list[float] = (0.0, 0.9), augment: bool = True, lr_final: float | None = None,
                 decay_start: int = 0, decay_steps: int = 0, train_windows: list[list[float]] | None = None,
                 global_latent: int = 0, ema_decay: float | None = None):
        from datamodules.rugan_em import check_windows

        if train_windows is not None:
            train_windows = check_windows(train_windows)
        super().__init__(latent_channels=latent_channels, g_width=g_width, c_width=c_width, dropout=dropout,
                         lambda_gp=lambda_gp, lambda_ct=lambda_ct, n_critic=n_critic, lr=lr, betas=betas,
                         augment=augment, lr_final=lr_final, decay_start=decay_start, decay_steps=decay_steps,
                         global_latent=global_latent, ema_decay=ema_decay)
        self.hparams.update(train_windows=train_windows)

    def normalize_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.to(self.device, torch.float32).reshape(-1, 2) * torch.tensor([0.5, 1.0], device=self.device)

    def augment_batch(self, x: torch.Tensor, labels: torch.Tensor):
        return self._augment(x, labels)  # m follows the global spin flip

    def label_kwargs(self, labels: torch.Tensor) -> dict:
        lab = labels.reshape(-1, 2).cpu().numpy()
        return {"energy": lab[:, 0], "magnetization": lab[:, 1]}

    @property
    def train_windows(self) -> list[list[float]]:
        """The training windows: the hparam, else the card's data args, else the DataModule's default (the
        published model was trained on those)."""
        if self.hparams.get("train_windows"):
            return self.hparams.train_windows
        from datamodules.rugan_em import DEFAULT_WINDOWS

        card_args = ((getattr(self, "card", None) or {}).get("dataset") or {}).get("init_args") or {}
        return card_args.get("train_windows") or DEFAULT_WINDOWS

    def check_labels(self, n: int, extrapolate: bool, L: int, energy=None, magnetization=None,
                     **other) -> torch.Tensor:
        """Non-finite labels always raise; labels no L x L configuration has (`datamodules.rugan_em.em_feasible`)
        raise and labels outside the training windows warn (`OutOfTrainingRangeWarning`), both unless
        `extrapolate`."""
        if energy is None or magnetization is None or any(v is not None for v in other.values()):
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

    def validation_step(self, batch, batch_idx):
        """Rows (|e error|, |m error|, requested E/L^2, requested m) per sample, generated at the batch's labels."""
        _, labels = batch
        lab = labels.reshape(-1, 2).double().cpu()
        e, m = self._e_m(self._sample_like(lab, batch[0].shape[-1]))
        rows = torch.stack([(torch.as_tensor(e) - lab[:, 0]).abs(), (torch.as_tensor(m) - lab[:, 1]).abs(),
                            lab[:, 0], lab[:, 1]], -1)
        self.eval_rows.update(rows.to(self.device))

    def eval_stats(self, rows: torch.Tensor) -> dict:
        return {f"val/{s}_abs_error_{k}": float(torch.quantile(v, 0.5) if s == "median" else v.mean())
                for k, v in (("e", rows[:, 0]), ("m", rows[:, 1])) for s in ("median", "mean")}
