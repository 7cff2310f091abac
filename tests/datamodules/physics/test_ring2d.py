"""Ring2D (Wang's Marburg 2018 lecture note, Sec. 5.3; NeuralRG's target E = (|x| - 2)^2 / 0.32): the closed-form
normalizer and the quadrature entropy against a 2-D grid integral, and the exact sampler against the radial CDF."""
import math

import numpy as np
import pytest
from scipy import stats

from datamodules.physics import ring2d


def test_entropy_is_the_lectures_3_0337_nats():
    assert ring2d.entropy() == pytest.approx(3.0337, abs=5e-5)


def test_normalizer_and_entropy_against_a_cartesian_grid_integral():
    """An independent 2-D midpoint rule on [-5, 5]^2 (the hands-on's window) reproduces ln Z and H."""
    h = 0.01
    g = np.arange(-5 + h / 2, 5, h)
    X, Y = np.meshgrid(g, g)
    pts = np.stack([X.ravel(), Y.ravel()], 1)
    E = ring2d.energy(pts)
    Z = np.exp(-E).sum() * h * h
    assert math.log(Z) == pytest.approx(ring2d.log_partition(), abs=1e-6)
    p = np.exp(ring2d.log_density(pts))
    assert p.sum() * h * h == pytest.approx(1.0, abs=1e-6)
    assert -(p * np.log(p + 1e-300)).sum() * h * h == pytest.approx(ring2d.entropy(), abs=1e-5)


def test_sampler_radius_follows_the_exact_cdf_and_angle_is_uniform():
    x = ring2d.sample(20000, np.random.default_rng(1))
    r = np.linalg.norm(x, axis=1)
    assert stats.kstest(r, ring2d.radial_cdf).pvalue > 1e-3
    theta = np.arctan2(x[:, 1], x[:, 0])
    assert stats.kstest(theta, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    # the mean negative log-density of exact samples estimates the entropy
    nll = -ring2d.log_density(x)
    assert abs(nll.mean() - ring2d.entropy()) < 4 * nll.std() / math.sqrt(len(nll))


def test_sampler_is_deterministic_and_bad_input_is_a_value_error():
    a = ring2d.sample(5, np.random.default_rng(3))
    assert np.array_equal(a, ring2d.sample(5, np.random.default_rng(3)))
    assert ring2d.sample(0, np.random.default_rng(0)).shape == (0, 2)
    with pytest.raises(ValueError, match="n"):
        ring2d.sample(-1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="x"):
        ring2d.energy(np.zeros((3, 3)))
