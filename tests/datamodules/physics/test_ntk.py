"""Neural tangent kernels (thesis section 2.2.2): eq. 2.34 closed form, torch.func empirical NTK, (g1, g2)."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from datamodules.physics import ntk


def test_closed_form_special_angles():
    """Unit inputs: Gamma(0) = N, Gamma(pi/2) = N/(2 pi); kappa(-1) = 0 (antiparallel inputs share no ReLU)."""
    N = 2048
    assert ntk.relu_ntk_angle(0.0, N) == pytest.approx(N)
    assert ntk.relu_ntk_angle(np.pi / 2, N) == pytest.approx(N / (2 * math.pi))
    assert ntk.relu_ntk_angle(np.pi, N) == pytest.approx(0.0, abs=1e-9)
    e = torch.eye(2, dtype=torch.float64)
    K = ntk.relu_ntk(e, width=N)
    np.testing.assert_allclose(K.numpy(), [[N, N / (2 * math.pi)], [N / (2 * math.pi), N]])
    # homogeneity: Gamma(s z, z') = s Gamma(z, z')
    z = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    assert float(ntk.relu_ntk(3 * z, e)[0, 0]) == pytest.approx(3 * float(ntk.relu_ntk(z, e)[0, 0]))


def test_closed_form_matches_monte_carlo_expectation():
    """eq. 2.34 against a direct Monte Carlo over 400 000 random features (independent of our formula)."""
    g = torch.Generator().manual_seed(0)
    phi = 1.1
    z1 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    z2 = 2.0 * torch.tensor([math.cos(phi), math.sin(phi)], dtype=torch.float64)
    W = torch.randn(400_000, 2, generator=g, dtype=torch.float64)
    a = torch.randn(400_000, generator=g, dtype=torch.float64)
    p1, p2 = W @ z1, W @ z2
    mc = (p1.clamp_min(0) * p2.clamp_min(0) + (z1 @ z2) * a * a * (p1 > 0) * (p2 > 0)).mean()
    assert float(mc) == pytest.approx(float(ntk.relu_ntk_angle(phi, 1.0, 1.0, 2.0)), rel=0.01)


@pytest.mark.parametrize("bias,act", [(False, "relu"), (True, "relu"), (True, "tanh")])
def test_empirical_ntk_torch_func_equals_one_hidden_closed_form(bias, act):
    net = ntk.relu_net(3, 16, bias=bias, activation=act, seed=1)
    Z = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    Z2 = Z[:4] * 1.5
    torch.testing.assert_close(ntk.empirical_ntk(net, Z, Z2), ntk.one_hidden_ntk(net, Z, Z2))


def test_empirical_ntk_vector_output_against_manual_jacobian():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    Z = torch.randn(4, 2, dtype=torch.float64)
    K = ntk.empirical_ntk(net, Z)
    assert K.shape == (4, 4, 3, 3)
    J = []
    for z in Z:
        rows = []
        for m in range(3):
            net.zero_grad()
            net(z)[m].backward()
            rows.append(torch.cat([p.grad.reshape(-1) for p in net.parameters()]))
        J.append(torch.stack(rows))
    J = torch.stack(J)
    torch.testing.assert_close(K, torch.einsum("amp,bnp->abmn", J, J))


def test_empirical_converges_to_theory_with_width():
    """Fig. 2.5: the empirical NTK / width approaches eq. 2.34 as the width grows (error ~ width^-1/2)."""
    r = ntk.width_convergence(widths=(64, 4096), n_points=200, seeds=range(4))
    e64, e4096 = r["rel_error"]
    assert e4096 < 0.07
    assert e64 / e4096 > 3.5  # 1/sqrt(width) predicts 8


def test_fig26_high_dimension_histogram():
    """d = 100: distinct seeds are nearly orthogonal, so off-diagonal entries cluster far below the diagonal."""
    f = ntk.fig26_experiment(n=60, d=100, width=2048)
    # two separate peaks: every diagonal entry lies above (nearly) every off-diagonal one
    assert np.min(f["diag"]) > np.percentile(f["pairs"], 99)
    assert np.median(f["diag"]) > 1.5 * np.median(f["pairs"])
    # without a bias the peaks would sit at Gamma(0) = 2048 and Gamma(pi/2) = 326; a, b ~ N(0,1) biases
    # add to both (inputs have |z| = 1 and b ~ N(0, 1)), so they land above the bias-free values
    assert np.median(f["pairs"]) > f["theory_pi2"]
    assert np.median(f["diag"]) > f["theory_0"]
    # no correlation between the kernel and the output distance at initialization (Fig. 2.6 right)
    assert abs(np.corrcoef(f["pairs"], f["dist"])[0, 1]) < 0.3


def test_estimate_g1_g2_wide_relu_on_sphere_gives_one_over_two_pi():
    """A wide bias-free ReLU generator on S^{d-1}, large d: g2/g1 -> Gamma(pi/2)/Gamma(0) = 1/(2 pi)."""
    net = ntk.relu_net(200, 512, seed=3)
    est = ntk.estimate_g1_g2(net, n=40)
    assert est["r"] == pytest.approx(1 / (2 * math.pi), rel=0.15)
    assert est["g1"] == pytest.approx(512, rel=0.1)
    # vector outputs: the output-diagonal part, cross-output entries near zero (footnote 11)
    gen = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 2)).double()
    est2 = ntk.estimate_g1_g2(gen, n=40)
    assert 0 < est2["r"] < 1
    assert abs(est2["cross_output_mean"]) < 0.2 * est2["g1"]


def test_bad_input():
    with pytest.raises(ValueError, match="Z1"):
        ntk.relu_ntk(torch.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        ntk.relu_ntk(torch.tensor([[float("nan"), 1.0]]))
    with pytest.raises(ValueError, match="activation"):
        ntk.relu_net(2, 4, activation="gelu")
