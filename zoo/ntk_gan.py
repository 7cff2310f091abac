"""NTK GAN: Durr, Tu, Mroueh & Wang, "A Phase Transition in Model GAN Dynamics" (in preparation, no arXiv id; Ch. 2
of S. Durr, PhD thesis, UCLA 2022, thesis L676-1588).

The generator is a cloud of N particles X_i in R^2 (`nn.Parameter`, Sec. 2.3, eq. 2.41), moved by a static
neural tangent kernel Gamma_ij = g1 delta_ij + g2 (1 - delta_ij) (eq. 2.42), applied in O(N):

    X_i <- X_i + alpha_G (1/N) sum_j Gamma_ij grad D(X_j) = X_i + alpha_G [((g1 - g2)/N) grad D(X_i) + g2 <grad D>]

Two normalizations: 'g1_eq_N' (Sec. 2.3.2, footnote 15: g1 = N, g2 = r N) and 'sum_to_N' (Sec. 2.4.1:
g1 + g2 (N - 1) = N, thesis L1286); at a given r they differ in overall speed by 1 + r (N - 1), so they are not
interchangeable at a fixed step budget.  Algorithm 2 (Sec. 2.3, thesis L1175-1196): n_disc SGD ascent steps of the
critic on L_N = <D>_data - <D>_particles - reg, each on a fresh data batch, then one particle step.
Manual optimization (Lightning's GAN pattern): one training batch = one discriminator step; the
particles move after every n_disc batches.

Discriminators: an MLP (depth, width, relu/tanh/leaky_relu, init 'torch_default' or 'thesis24':
w ~ N(0,1), a ~ N(0, 2/width), b ~ N(0, 9), no output bias, Sec. 2.4.1 eq. 2.46 (thesis L1311)) and the Fourier
critic of App. 2.7.2 (eqs. 2.49-2.50: D(x) = sum_k w1_k sin(k.x) + w2_k cos(k.x), each k_i 25 log-spaced values in
[0.01, 20] and their negatives; Algorithm 3 multiplies the gradient of w_k by gamma(k): 'pow' min(1e3, |k|^-3),
eq. 2.51, 'exp' 668.8 exp(-2.05 |k|), eq. 2.52).

Logged every epoch: the mode-collapse metric MC = log 8 + sum P log P (Sec. 2.4.1, eq. 2.45), per-mode counts,
the mean nearest-mode distance; `callbacks.particles.ParticleFigures` draws the scatter image.
A fixed-size history (MC, distance, centre of mass per generator step, halved when full) is kept
in buffers, so a published checkpoint carries its own trajectory.  The card's metrics: `zoo.evaluation.ntk_gan`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from datamodules.gaussians import mode_collapse_metric, nearest_mode, ring_modes

from datamodules import validation
from .base import ZooTask
from .registry import register_model

NTK_NORMS = ("g1_eq_N", "sum_to_N")
DISCS = ("mlp", "fourier")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}
INITS = ("torch_default", "thesis24")
GAMMAS = ("pow", "exp", "none")


def ntk_weights(n: int, ratio: float, norm: str) -> tuple[float, float]:
    """(g1, g2) for N particles at r = g2/g1 under the thesis's two normalizations."""
    if norm not in NTK_NORMS:
        raise ValueError(f"ntk_norm must be one of {NTK_NORMS}; got {norm!r}")
    if not 0 <= ratio <= 1:
        raise ValueError(f"ntk_ratio (g2/g1) must be in [0, 1]; got {ratio}")
    g1 = float(n) if norm == "g1_eq_N" else n / (1 + ratio * (n - 1))
    return g1, ratio * g1


def apply_kernel(grad: torch.Tensor, g1, g2) -> torch.Tensor:
    """(1/N) sum_j Gamma_ij grad_j in O(N) for grad (..., N, d); g1, g2 scalars or (...,) tensors."""
    n = grad.shape[-2]
    g1 = torch.as_tensor(g1, dtype=grad.dtype, device=grad.device)
    g2 = torch.as_tensor(g2, dtype=grad.dtype, device=grad.device)
    while g1.ndim < grad.ndim:
        g1, g2 = g1.unsqueeze(-1), g2.unsqueeze(-1)
    return (g1 - g2) / n * grad + g2 * grad.mean(dim=-2, keepdim=True)


def dense_kernel(n: int, g1: float, g2: float) -> torch.Tensor:
    """The N x N matrix Gamma = g1 I + g2 (1 - I) (reference for `apply_kernel`)."""
    return g2 * torch.ones(n, n, dtype=torch.float64) + (g1 - g2) * torch.eye(n, dtype=torch.float64)


def fourier_wavevectors(n_k: int = 25, k_min: float = 0.01, k_max: float = 20.0) -> torch.Tensor:
    """(4 n_k^2, 2): each component takes n_k log-spaced values in [k_min, k_max] and their negatives (App. 2.7.2,
    below eq. 2.50; thesis L1532)."""
    v = np.logspace(np.log10(k_min), np.log10(k_max), n_k)
    axis = np.concatenate([-v[::-1], v])
    k1, k2 = np.meshgrid(axis, axis, indexing="ij")
    return torch.as_tensor(np.stack([k1.ravel(), k2.ravel()], axis=1), dtype=torch.float32)


def fourier_gamma(k: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-frequency rate gamma(|k|) of App. 2.7.2, eqs. 2.51-2.52 (thesis L1536-1538); 'none' is ours (gamma = 1)."""
    kn = k.norm(dim=-1)
    if kind == "pow":
        return torch.clamp(kn.double() ** -3, max=1e3).to(k.dtype)
    if kind == "exp":
        return 668.8 * torch.exp(-2.05 * kn)
    if kind == "none":
        return torch.ones_like(kn)
    raise ValueError(f"fourier_gamma must be one of {GAMMAS}; got {kind!r}")


class FourierDiscriminator(nn.Module):
    """D(x) = sum_k w_sin[k] sin(k.x) + w_cos[k] cos(k.x) (App. 2.7.2, eqs. 2.49-2.50); weights start at zero (ours:
    the thesis does not give their initialization)."""

    def __init__(self, n_k: int = 25, k_min: float = 0.01, k_max: float = 20.0, gamma: str = "pow"):
        super().__init__()
        k = fourier_wavevectors(n_k, k_min, k_max)
        self.register_buffer("k", k)
        self.register_buffer("gamma", fourier_gamma(k, gamma))
        self.w_sin = nn.Parameter(torch.zeros(len(k)))
        self.w_cos = nn.Parameter(torch.zeros(len(k)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phase = x @ self.k.T
        return torch.sin(phase) @ self.w_sin + torch.cos(phase) @ self.w_cos

    def scale_grads(self) -> None:
        """w <- w + alpha_D gamma(k) grad_w L: multiply the gradients by gamma(k) before the SGD step."""
        for p in (self.w_sin, self.w_cos):
            if p.grad is not None:
                p.grad.mul_(self.gamma)


def build_mlp(depth: int, width: int, activation: str = "relu", init: str = "torch_default",
              generator: torch.Generator | None = None) -> nn.Sequential:
    """depth hidden layers of `width` on 2-D inputs and a scalar linear output."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ACTIVATIONS)}; got {activation!r}")
    if init not in INITS:
        raise ValueError(f"disc_init must be one of {INITS}; got {init!r}")
    if depth < 1 or width < 1:
        raise ValueError(f"disc_depth and disc_width must be >= 1; got {depth}, {width}")
    if init == "thesis24" and depth != 1:
        raise ValueError("disc_init 'thesis24' is the Sec. 2.4.1 one-hidden-layer critic: disc_depth must be 1")
    layers, d = [], 2
    for _ in range(depth):
        layers += [nn.Linear(d, width), ACTIVATIONS[activation]()]
        d = width
    layers.append(nn.Linear(d, 1, bias=init != "thesis24"))
    net = nn.Sequential(*layers)
    if init == "thesis24":  # Sec. 2.4.1 (thesis L1311): w ~ N(0, 1), a ~ N(0, 2/width), b ~ N(0, 9)
        with torch.no_grad():
            net[0].weight.copy_(torch.randn(net[0].weight.shape, generator=generator))
            net[0].bias.copy_(3.0 * torch.randn(net[0].bias.shape, generator=generator))
            net[2].weight.copy_(math.sqrt(2.0 / width) * torch.randn(net[2].weight.shape, generator=generator))
    return net


@register_model("ntk_gan")
class ParticleGAN(ZooTask):
    """A particle generator and its critic: a model that makes its own data (ZooTask, not SupervisedTask).

    Args:
        n_particles: N (Sec. 2.3: 2000; Sec. 2.4.1: 200).
        init_std, init_mode: the cloud starts N(mode[init_mode], init_std^2) (Sec. 2.3.1, thesis L1208: std 0.5 at
            (sqrt2, sqrt2), which is mode 1 of 8 at radius 2; Sec. 2.4.1: std 0.1).
        n_modes, radius: the target ring, linked from the DataModule by `zoo fit` (for the metrics).
        ntk_ratio: r = g2/g1; ntk_norm: 'g1_eq_N' (Sec. 2.3.2) or 'sum_to_N' (Sec. 2.4.1).
        n_disc: discriminator steps per particle step (Sec. 2.3.1, footnote 14: 5).
        lr_d, lr_g: alpha_D, alpha_G, plain SGD (Sec. 2.3.1, footnote 14: 0.1, 0.05; thesis L1214).
        l2: lambda of the critic's (lambda/2) sum phi^2.  Footnote 14 prints lambda = 1e3, which with SGD at
            lr 0.1 multiplies the weights by -99 per step and diverges at once; the default 1e-3 is ours.
            Sec. 2.4.1's (1/width) sum phi^2 (thesis L1317) is l2 = 2/width.
        disc: 'mlp' or 'fourier' (which critic module; the training step is the same).  disc_depth, disc_width,
            activation, disc_init: the MLP (Sec. 2.3: 4 x 512, thesis L1173; activation and init unstated, so
            relu and torch's default are ours).  fourier_gamma, fourier_n_k, fourier_k_min, fourier_k_max: the
            Fourier critic (App. 2.7.2).
        seed: seeds the particle cloud and the critic's initialization.
        history_size: length of the stored trajectory (halved in resolution when full).
    """

    # critic and generator steps each backpropagate through one network, so plain DDP's reducer would stop at
    # "parameters that were not used"; `zoo fit --trainer.strategy ddp` switches these models to the variant
    # that allows it (zoo.cli)
    ddp_find_unused_parameters = True

    def __init__(self, n_particles: int = 2000, init_std: float = 0.5, init_mode: int = 1, n_modes: int = 8,
                 radius: float = 2.0, ntk_ratio: float = 0.0, ntk_norm: str = "g1_eq_N", n_disc: int = 5,
                 lr_d: float = 0.1, lr_g: float = 0.05, l2: float = 1e-3, disc: str = "mlp", disc_depth: int = 4,
                 disc_width: int = 512, activation: str = "relu", disc_init: str = "torch_default",
                 fourier_gamma: str = "pow", fourier_n_k: int = 25, fourier_k_min: float = 0.01,
                 fourier_k_max: float = 20.0, seed: int = 0, history_size: int = 2048):
        if n_particles < 2:
            raise ValueError(f"n_particles must be >= 2; got {n_particles}")
        ntk_weights(n_particles, ntk_ratio, ntk_norm)
        ring_modes(n_modes, radius)
        if not 0 <= init_mode < n_modes:
            raise ValueError(f"init_mode must be in [0, {n_modes}); got {init_mode}")
        if n_disc < 1:
            raise ValueError(f"n_disc must be >= 1; got {n_disc}")
        if disc not in DISCS:
            raise ValueError(f"disc must be one of {DISCS}; got {disc!r}")
        if not (lr_d > 0 and lr_g > 0 and l2 >= 0 and init_std >= 0):
            raise ValueError(f"need lr_d > 0, lr_g > 0, l2 >= 0, init_std >= 0; got {lr_d}, {lr_g}, {l2}, {init_std}")
        if history_size < 4:
            raise ValueError(f"history_size must be >= 4; got {history_size}")
        super().__init__()
        # two optimizers stepped by hand: n_disc critic steps per particle step (Algorithm 2)
        self.automatic_optimization = False

    # -- structure ------------------------------------------------------------------------------
    def configure_models(self) -> None:
        hp = self.hparams
        g = torch.Generator().manual_seed(hp.seed)
        centre = torch.as_tensor(ring_modes(hp.n_modes, hp.radius)[hp.init_mode], dtype=torch.float32)
        self.particles = nn.Parameter(centre + hp.init_std * torch.randn(hp.n_particles, 2, generator=g))
        if hp.disc == "mlp":
            with torch.random.fork_rng(devices=[]):  # torch's default init draws from the global RNG
                torch.manual_seed(hp.seed + 1)
                self.discriminator = build_mlp(hp.disc_depth, hp.disc_width, hp.activation, hp.disc_init, generator=g)
        else:
            self.discriminator = FourierDiscriminator(hp.fourier_n_k, hp.fourier_k_min, hp.fourier_k_max,
                                                      hp.fourier_gamma)
        self.register_buffer("modes", torch.as_tensor(ring_modes(hp.n_modes, hp.radius), dtype=torch.float32))
        H = hp.history_size
        self.register_buffer("disc_steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("gen_steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("hist_len", torch.zeros((), dtype=torch.long))
        self.register_buffer("hist_every", torch.ones((), dtype=torch.long))
        self.register_buffer("hist_step", torch.zeros(H, dtype=torch.long))
        self.register_buffer("hist_mc", torch.zeros(H))
        self.register_buffer("hist_dist", torch.zeros(H))
        self.register_buffer("hist_com", torch.zeros(H, 2))
        self.g1, self.g2 = ntk_weights(hp.n_particles, hp.ntk_ratio, hp.ntk_norm)

    def configure_optimizers(self):
        # plain SGD for both (Algorithm 2); the particles' "gradient" is the kernel-mixed velocity, set by hand
        hp = self.hparams
        return [torch.optim.SGD(self.discriminator.parameters(), lr=hp.lr_d),
                torch.optim.SGD([self.particles], lr=hp.lr_g)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The critic D(x) for points x (B, 2) -> (B,)."""
        validation.last_dim(x, 2, "x", "points of the plane")
        return self.discriminator(x).reshape(-1)

    # -- physics --------------------------------------------------------------------------------
    def critic_objective(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """L_N = <D>_data - <D>_gen - (l2/2) sum phi^2 (maximized by the critic)."""
        reg = sum((p * p).sum() for p in self.discriminator.parameters())
        return self(real).mean() - self(fake).mean() - 0.5 * self.hparams.l2 * reg

    def critic_grad(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x D at points x (N, 2)."""
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self(x).sum(), x)
        return g

    def particle_velocity(self) -> torch.Tensor:
        """(1/N) sum_j Gamma_ij grad D(X_j) (eq. 2.43), without alpha_G."""
        return apply_kernel(self.critic_grad(self.particles), self.g1, self.g2)

    @torch.no_grad()
    def cloud_stats(self, x: torch.Tensor | None = None) -> dict:
        x = self.particles if x is None else x
        idx, dist = nearest_mode(x.detach().float(), self.modes)
        counts = torch.bincount(idx, minlength=self.hparams.n_modes)
        return {"mc": float(mode_collapse_metric(counts)), "counts": counts, "mean_dist": float(dist.mean()),
                "com": x.detach().float().mean(0)}

    # -- training -------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        opt_d, opt_g = self.optimizers()
        real = batch.to(self.particles.dtype)
        objective = self.critic_objective(real, self.particles.detach())
        opt_d.zero_grad()
        self.manual_backward(-objective)  # ascent on L
        if isinstance(self.discriminator, FourierDiscriminator):
            self.discriminator.scale_grads()
        opt_d.step()
        self.disc_steps += 1
        self.log("train/critic_objective", objective.detach(), prog_bar=True, on_step=False, on_epoch=True)
        if int(self.disc_steps) % self.hparams.n_disc == 0:
            v = self.particle_velocity()
            if not torch.isfinite(v).all():
                raise FloatingPointError(f"particle velocity is not finite at generator step {int(self.gen_steps)} "
                                         "(the critic diverged: lower lr_d or raise l2)")
            opt_g.zero_grad()
            self.particles.grad = -v  # SGD descends: X <- X + alpha_G v
            opt_g.step()
            self.gen_steps += 1
            self._record()

    @torch.no_grad()
    def _record(self) -> None:
        step = int(self.gen_steps)
        if step % int(self.hist_every):
            return
        n, H = int(self.hist_len), self.hparams.history_size
        if n == H:  # full: keep every other entry, record half as often from now on
            for b in (self.hist_step, self.hist_mc, self.hist_dist, self.hist_com):
                b[: H // 2] = b[1::2][: H // 2].clone()
            n = H // 2
            self.hist_every *= 2
            if step % int(self.hist_every):
                self.hist_len.fill_(n)
                return
        s = self.cloud_stats()
        self.hist_step[n], self.hist_mc[n], self.hist_dist[n], self.hist_com[n] = step, s["mc"], s["mean_dist"], s["com"]
        self.hist_len.fill_(n + 1)

    def on_train_epoch_end(self) -> None:
        s = self.cloud_stats()
        self.log("train/mc", s["mc"], prog_bar=True)
        self.log("train/mean_nearest_distance", s["mean_dist"])
        self.log("train/generator_steps", float(self.gen_steps))
        for k, c in enumerate(s["counts"].tolist()):
            self.log(f"train/count_mode_{k}", float(c))

    # -- domain API -----------------------------------------------------------------------------
    def history(self) -> dict:
        """The recorded trajectory: generator step, MC, mean nearest-mode distance, centre of mass."""
        n = int(self.hist_len)
        return {"step": self.hist_step[:n].cpu().numpy(), "mc": self.hist_mc[:n].cpu().numpy(),
                "mean_dist": self.hist_dist[:n].cpu().numpy(), "com": self.hist_com[:n].cpu().numpy()}

    @torch.no_grad()
    def sample(self, n: int | None = None) -> torch.Tensor:
        """n generated points (resampled from the particle cloud); all N particles if n is None."""
        if n is None:
            return self.particles.detach().clone()
        n = validation.count(n, "n")  # n < 0 or 2.5 would be a raw torch error; n = 0 gives (0, 2)
        idx = torch.randint(0, self.hparams.n_particles, (n,), device=self.particles.device)
        return self.particles.detach()[idx]
