"""The double Dirac-GAN (thesis section 2.2): linearization against the closed form, alpha = 1/2, splitting rate."""
import numpy as np
import pytest

from datamodules.physics import dirac_gan as dg


@pytest.mark.parametrize("eta,lam", [(0.05, 1.0), (0.3, 1.0), (1.0, 1.0), (2.0, 0.5), (10.0, 1.0), (0.01, 0.0)])
def test_linearization_eigenvalues_closed_form(eta, lam):
    # the printed Jacobian's eigenvalues = -eta lam/2 +- sqrt((eta lam/2)^2 - 2 eta), ... - eta/2 (Durr thesis Sec. 2.2.1.2, L914)
    np.testing.assert_allclose(dg.linearized_eigs(eta, lam), dg.linearized_eigs_closed_form(eta, lam), atol=1e-10)


@pytest.mark.parametrize("eta,alpha", [(0.05, 0.0), (0.7, 0.0), (0.2, 1 / 3)])
def test_printed_linearization_is_the_flow_jacobian(eta, alpha):
    """The printed matrix is the Jacobian of our right-hand side at (theta1, theta2) = (1, -1), b = c = 0
    (in the thesis order (b, c, x1, x2)); at alpha = 0 only, since the printed matrix has no NTK."""
    J = dg.numerical_jacobian([1.0, -1.0, 0.0, 0.0], eta, alpha, lam=1.0)
    P = [2, 3, 0, 1]  # (theta1, theta2, b, c) -> (b, c, x1, x2)
    Jb = J[np.ix_(P, P)]
    if alpha == 0:
        np.testing.assert_allclose(Jb, dg.linearization(eta, 1.0), atol=1e-8)
    # the fixed point is stable for every eta > 0 (all real parts < 0), with or without the NTK
    assert np.all(np.linalg.eigvals(J).real < 0)
    np.testing.assert_allclose(dg.rhs([1.0, -1.0, 0.0, 0.0], eta, alpha), 0.0, atol=1e-15)


@pytest.mark.parametrize("eta", [0.05, 1.0])
def test_alpha_half_never_splits(eta):
    run = dg.simulate(eta, alpha=0.5, T=400, n_t=801, rtol=1e-7)
    gap = np.abs(run["theta1"] - run["theta2"])
    np.testing.assert_allclose(gap, 0.01, rtol=1e-6)  # the initial 0.01 gap is frozen exactly
    assert np.isnan(dg.collapse_metric(run)["tau_split"])
    # while alpha = 0 splits within the same window
    assert dg.collapse_metric(dg.simulate(eta, 0.0, T=400, n_t=801, rtol=1e-7))["tau_split"] < 400


@pytest.mark.parametrize("alpha", [0.0, 0.2, 1 / 3, 0.45])
def test_splitting_rate_factor(alpha):
    """d(theta1 - theta2)/dt = (1 - 2 alpha) c (theta1 - theta2) at any state."""
    rng = np.random.default_rng(0)
    for s in rng.normal(size=(5, 4)):
        d = dg.rhs(s, 0.3, alpha)
        np.testing.assert_allclose(d[0] - d[1], (1 - 2 * alpha) * s[3] * (s[0] - s[1]), atol=1e-12)


def test_thesis_settings_collapse_metric():
    """eta = 0.05: alpha = 0 splits fast (Fig. 2.3), alpha = 1/3 splits late, tau_split >> tau_osc (Fig. 2.7)."""
    m0 = dg.collapse_metric(dg.simulate(0.05, 0.0, T=1500, n_t=3001, rtol=1e-7))
    m3 = dg.collapse_metric(dg.simulate(0.05, 1 / 3, T=1500, n_t=3001, rtol=1e-7))
    assert m0["tau_split"] < 2.5 * m0["tau_osc"]
    assert m3["tau_split"] > 6 * m3["tau_osc"]
    # the oscillation period of the mean is close to the linear c/b-mode period 2 pi/sqrt(eta/2 - (eta/2)^2)
    assert m0["tau_osc"] == pytest.approx(2 * np.pi / np.sqrt(0.025 - 0.025 ** 2), rel=0.2)
    # both splits end at the data: theta -> +-1
    r = dg.simulate(0.05, 0.0, T=1500, n_t=301, rtol=1e-7)
    assert sorted([r["theta1"][-1], r["theta2"][-1]]) == pytest.approx([-1, 1], abs=1e-3)


def test_batched_rk4_agrees_with_solve_ivp():
    etas = np.array([0.05, 0.01])
    batch = dg.simulate_batch(etas[:, None], np.array([0.0, 1 / 3])[None, :], T=150.0, n_steps=1500, record_every=50)
    for i, eta in enumerate(etas):
        for j, a in enumerate([0.0, 1 / 3]):
            ref = dg.simulate(eta, a, T=150.0, n_t=31)
            np.testing.assert_allclose(batch["theta1"][:, i, j], ref["theta1"], atol=1e-5)
            np.testing.assert_allclose(batch["t"][:, i, j], ref["t"])


def test_sweep_contours_have_positive_slope():
    """Fig. 2.8: at fixed metric, larger alpha needs larger eta; i.e. the metric falls with eta, rises with alpha."""
    s = dg.sweep([0.03, 0.1], [0.0, 0.25], T=1000.0)
    lr = s["log_ratio"]
    assert np.all(np.isfinite(lr))
    assert np.all(np.diff(lr, axis=0) < 0)  # more eta: less collapse
    assert np.all(np.diff(lr, axis=1) > 0)  # more alpha: more collapse


def test_bad_input():
    with pytest.raises(ValueError, match="eta"):
        dg.simulate(0.0)
    with pytest.raises(ValueError, match="alpha"):
        dg.simulate(0.1, alpha=1.5)
