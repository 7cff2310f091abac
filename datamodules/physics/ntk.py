"""Neural tangent kernels of Durr, Tu, Mroueh & Wang, "A Phase Transition in Model GAN Dynamics" (in preparation, no
arXiv id; Ch. 2 of S. Durr, PhD thesis, UCLA 2022), Sec. 2.2.2 (thesis L950-1066).

* `relu_ntk` - the closed-form infinite-width NTK of a bias-free one-hidden-layer ReLU net
  f(z) = sum_i a_i relu(w_i . z), a_i, w_i^j ~ N(0, 1), width N (Sec. 2.2.2, eq. 2.34, Fig. 2.5; thesis L1004-1015):

      Gamma(z, z') = (N/2) |z||z'| kappa(u),  u = z.z'/(|z||z'|),  kappa(u) = u kappa0(u) + kappa1(u)
      kappa0(u) = (pi - arccos u)/pi,  kappa1(u) = (u (pi - arccos u) + sqrt(1 - u^2))/pi

  For unit inputs Gamma(0) = N and Gamma(pi/2) = N/(2 pi).
* `empirical_ntk` - the NTK of any `nn.Module` (scalar or vector output) at given inputs, through
  `torch.func` (jacrev over the parameters, vmapped over the inputs); eq. 2.28 with the thesis's
  typo fixed (the second factor at z').
* `one_hidden_ntk` - the same kernel in closed form for one-hidden-layer nets (fast for d = 100,
  width 2048: Fig. 2.6); tested against `empirical_ntk`.
* `estimate_g1_g2` - (g1, g2) of eq. 2.35 from a real generator: the mean diagonal and the mean
  off-diagonal NTK over seeds, so an architecture can be placed on the phase diagram r = g2/g1.

This module imports torch but nothing of ours and no Lightning.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ["kappa", "relu_ntk", "relu_ntk_angle", "empirical_ntk", "one_hidden_ntk", "relu_net", "sphere",
           "width_convergence", "estimate_g1_g2", "fig26_experiment"]


def kappa(u):
    """kappa(u) = u kappa0(u) + kappa1(u) of eq. 2.34 (numpy or torch; u is clipped to [-1, 1])."""
    lib = torch if isinstance(u, torch.Tensor) else np
    u = lib.clip(u, -1.0, 1.0)
    acos = lib.arccos(u)
    k0 = (math.pi - acos) / math.pi
    k1 = (u * (math.pi - acos) + lib.sqrt(lib.clip(1 - u * u, 0.0, None))) / math.pi
    return u * k0 + k1


def relu_ntk_angle(phi, width: float = 1.0, norm1: float = 1.0, norm2: float = 1.0):
    """Gamma at angle phi between inputs of norms norm1, norm2 (eq. 2.34)."""
    return width / 2 * norm1 * norm2 * kappa(np.cos(np.asarray(phi, float)))


def relu_ntk(Z1, Z2=None, width: float = 1.0) -> torch.Tensor:
    """Infinite-width NTK matrix (n1, n2) of the bias-free one-hidden-layer ReLU net with N(0,1) weights."""
    Z1 = _as_inputs(Z1, "Z1")
    Z2 = Z1 if Z2 is None else _as_inputs(Z2, "Z2")
    n1, n2 = Z1.norm(dim=1), Z2.norm(dim=1)
    den = (n1[:, None] * n2[None, :]).clamp_min(1e-30)
    return width / 2 * den * kappa(Z1 @ Z2.T / den)


def _as_inputs(Z, name: str) -> torch.Tensor:
    Z = torch.as_tensor(Z, dtype=torch.float64 if not isinstance(Z, torch.Tensor) else None)
    if Z.ndim != 2:
        raise ValueError(f"{name} must be a (n, d) array of inputs; got shape {tuple(Z.shape)}")
    if not torch.isfinite(Z).all():
        raise ValueError(f"{name} contains NaN or inf")
    return Z


def empirical_ntk(model: nn.Module, Z1, Z2=None, chunk: int = 256) -> torch.Tensor:
    """Empirical NTK sum_k df(z)/dtheta_k df(z')/dtheta_k of `model` over all its trainable parameters.

    Returns (n1, n2) for a scalar (or 1-wide) output and (n1, n2, m, m) for an m-dimensional output.
    Uses torch.func.functional_call + jacrev, vmapped over inputs, in chunks of `chunk` inputs.
    """
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters")
    dtype = next(iter(params.values())).dtype
    Z1 = _as_inputs(Z1, "Z1").to(dtype)
    Z2 = Z1 if Z2 is None else _as_inputs(Z2, "Z2").to(dtype)

    def f(p, z):
        return functional_call(model, p, (z.unsqueeze(0),)).reshape(-1)

    def jac(Z):
        parts = []
        for i in range(0, len(Z), chunk):
            J = vmap(jacrev(f), in_dims=(None, 0))(params, Z[i:i + chunk])
            parts.append(torch.cat([j.reshape(j.shape[0], j.shape[1], -1) for j in J.values()], dim=-1))
        return torch.cat(parts)  # (n, m, P)

    J1 = jac(Z1)
    J2 = J1 if Z2 is Z1 else jac(Z2)
    K = torch.einsum("amp,bnp->abmn", J1, J2)
    return K[:, :, 0, 0] if K.shape[-1] == 1 else K


def relu_net(d: int, width: int, bias: bool = False, activation: str = "relu", seed: int = 0,
             dtype=torch.float64) -> nn.Sequential:
    """f(z) = sum_i a_i sigma(w_i . z [+ b_i]) with a, w, b ~ N(0, 1) (the thesis's NTK nets: eq. 2.34 and Fig. 2.6; thesis L1004, L1056)."""
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
    if activation not in acts:
        raise ValueError(f"activation must be one of {list(acts)}; got {activation!r}")
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(d, width, bias=bias), acts[activation](), nn.Linear(width, 1, bias=False)).to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype))
    return net


def one_hidden_ntk(net: nn.Sequential, Z1, Z2=None) -> torch.Tensor:
    """Exact empirical NTK of Linear(d, width[, bias]) -> ReLU/Tanh -> Linear(width, 1, no bias), closed form:

        Gamma(z, z') = sum_i s_i(z) s_i(z') + (z.z' + [1 if bias]) sum_i a_i^2 s'_i(z) s'_i(z')
    """
    lin, act, out = net[0], net[1], net[2]
    W, a = lin.weight.detach(), out.weight.detach().reshape(-1)
    b = lin.bias.detach() if lin.bias is not None else None
    Z1 = _as_inputs(Z1, "Z1").to(W.dtype)
    Z2 = Z1 if Z2 is None else _as_inputs(Z2, "Z2").to(W.dtype)

    def feats(Z):
        pre = Z @ W.T + (b if b is not None else 0)
        if isinstance(act, nn.ReLU):
            return pre.clamp_min(0), (pre > 0).to(pre.dtype)
        t = torch.tanh(pre)
        return t, 1 - t * t

    s1, ds1 = feats(Z1)
    s2, ds2 = (s1, ds1) if Z2 is Z1 else feats(Z2)
    inner = Z1 @ Z2.T + (1.0 if b is not None else 0.0)
    return s1 @ s2.T + inner * ((ds1 * a * a) @ ds2.T)


def sphere(n: int, d: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """n points uniform on the unit sphere S^{d-1}."""
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1; got n={n}, d={d}")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    return x / x.norm(dim=1, keepdim=True)


def width_convergence(widths=(64, 256, 1024, 4096), n_points: int = 500, d: int = 2, seeds=(0, 1, 2)) -> dict:
    """Fig. 2.5: empirical NTK / width of bias-free ReLU nets vs eq. 2.34 on n_points ~ N(0, I_d).

    Returns per width the relative RMS error ||K_emp/N - K_theory/N|| / ||K_theory/N|| (mean over
    seeds), plus the points' angles and both kernels of the last seed at the largest width.
    """
    g = torch.Generator().manual_seed(12345)
    Z = torch.randn(n_points, d, generator=g, dtype=torch.float64)
    theory = relu_ntk(Z, width=1.0)
    errs = []
    for w in widths:
        e = []
        for s in seeds:
            K = one_hidden_ntk(relu_net(d, w, seed=s), Z) / w
            e.append(float((K - theory).norm() / theory.norm()))
        errs.append(float(np.mean(e)))
    return {"widths": list(widths), "rel_error": errs, "Z": Z, "theory": theory, "empirical": K}


def estimate_g1_g2(net: nn.Module, seeds=None, n: int = 200, d: int | None = None, dist: str = "sphere",
                   seed: int = 0) -> dict:
    """(g1, g2) of eq. 2.35 for a generator network: g1 = mean NTK diagonal Gamma(z, z), g2 = mean
    off-diagonal Gamma(z, z') over n seeds (the thesis's kernel is g1 delta + g2 (1 - delta)).

    seeds: an (n, d) array of latent inputs, or None to draw n from `dist` ('sphere': uniform on
    S^{d-1}, the thesis's proxy, Sec. 2.2.2, thesis L1019; 'normal': N(0, I_d)).  For vector outputs the kernel is
    averaged over the output diagonal (the thesis drops the cross-output entries, Sec. 2.2.3, footnote 11,
    thesis L1074-1086); their mean is returned as `cross_output_mean`.  Returns g1, g2, r = g2/g1, the
    spread of the off-diagonal entries and n.  N.B. App. 2.7.1: the boundary values depend on
    the number of particles, so place r on a diagram measured at a comparable N.
    """
    if seeds is None:
        if d is None:
            lin = next((m for m in net.modules() if isinstance(m, nn.Linear)), None)
            if lin is None:
                raise ValueError("pass d (latent dimension) or seeds: no nn.Linear found to infer it")
            d = lin.in_features
        dtype = next(net.parameters()).dtype
        if dist == "sphere":
            seeds = sphere(n, d, seed=seed, dtype=dtype)
        elif dist == "normal":
            seeds = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)
        else:
            raise ValueError(f"dist must be 'sphere' or 'normal'; got {dist!r}")
    K = empirical_ntk(net, seeds)
    cross = 0.0
    if K.ndim == 4:
        m = K.shape[-1]
        eye = torch.eye(m, dtype=torch.bool)
        cross = float(K[..., ~eye].mean()) if m > 1 else 0.0
        K = K[..., eye].mean(-1)
    n = K.shape[0]
    off = ~torch.eye(n, dtype=torch.bool)
    g1, g2 = float(K.diagonal().mean()), float(K[off].mean())
    return {"g1": g1, "g2": g2, "r": g2 / g1, "g2_std": float(K[off].std()), "g1_std": float(K.diagonal().std()),
            "cross_output_mean": cross, "n": n}


def fig26_experiment(n: int = 200, d: int = 100, width: int = 2048, seed: int = 0) -> dict:
    """Fig. 2.6: 200 inputs uniform on S^99, one-hidden-layer ReLU net of width 2048 with biases,
    a, w, b ~ N(0, 1) (Fig. 2.6 caption; thesis L1056).  Returns the unique-pair NTK values, the diagonal, |f(z) - f(z')| and
    the theory's Gamma(0) and Gamma(pi/2) for the bias-free net (reference lines)."""
    Z = sphere(n, d, seed=seed)
    net = relu_net(d, width, bias=True, seed=seed + 1)
    K = one_hidden_ntk(net, Z)
    with torch.no_grad():
        f = net(Z).reshape(-1)
    iu = torch.triu_indices(n, n, offset=1)
    return {"pairs": K[iu[0], iu[1]].numpy(), "diag": K.diagonal().numpy(),
            "dist": (f[iu[0]] - f[iu[1]]).abs().numpy(),
            "theory_0": float(relu_ntk_angle(0.0, width)), "theory_pi2": float(relu_ntk_angle(np.pi / 2, width))}
