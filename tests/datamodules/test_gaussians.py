"""Rings of Gaussians (thesis section 2.3) and the mode-collapse metric (eq. 2.45)."""
import math

import numpy as np
import pytest
import torch

from datamodules.gaussians import GaussianRingDataModule, mode_collapse_metric, nearest_mode, ring_modes, sample_ring


def test_ring_modes_thesis_geometry():
    m = ring_modes(8, 2.0)
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 2.0)
    np.testing.assert_allclose(m[1], [math.sqrt(2), math.sqrt(2)])  # the cloud's starting mode (Durr thesis Sec. 2.3.1, L1208)
    # neighbouring modes are 2 * 2 sin(pi/8) = 1.53 apart
    assert np.linalg.norm(m[0] - m[1]) == pytest.approx(4 * math.sin(math.pi / 8))


def test_samples_have_the_stated_std_and_equal_weights():
    x = sample_ring(80_000, np.random.default_rng(0), 8, 2.0, 0.02)
    idx, dist = nearest_mode(torch.as_tensor(x), torch.as_tensor(ring_modes(8, 2.0), dtype=torch.float32))
    counts = torch.bincount(idx, minlength=8).numpy()
    assert np.all(np.abs(counts / 10_000 - 1) < 0.05)
    # 2-D isotropic Gaussian: mean distance to the centre is std sqrt(pi/2)
    assert float(dist.mean()) == pytest.approx(0.02 * math.sqrt(math.pi / 2), rel=0.02)


def test_mode_collapse_metric_limits():
    assert float(mode_collapse_metric(torch.tensor([250] * 8))) == pytest.approx(0.0, abs=1e-12)
    assert float(mode_collapse_metric(torch.tensor([2000, 0, 0, 0, 0, 0, 0, 0]))) == pytest.approx(math.log(8))
    assert float(mode_collapse_metric(torch.tensor([1000, 1000, 0, 0, 0, 0, 0, 0]))) == pytest.approx(math.log(4))


def test_stream_is_a_pure_function_of_recipe_and_index():
    dm = GaussianRingDataModule(batch_size=16, steps_per_epoch=3, progress=False)
    batches = list(dm.train_dataloader())
    assert len(batches) == 3 and batches[0].shape == (16, 2)
    torch.testing.assert_close(batches[2], dm.batch(2))
    # the next epoch serves new batches (fresh data every critic step), the same after a "resume"
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(1)
    nxt = list(loader)
    torch.testing.assert_close(nxt[0], dm.batch(3))
    assert not torch.equal(nxt[0], batches[0])
    # loader settings do not change the data; the seed does
    assert GaussianRingDataModule(batch_size=16, steps_per_epoch=7).recipe() == dm.recipe()
    assert not torch.equal(GaussianRingDataModule(batch_size=16, seed=1).batch(0), dm.batch(0))
    w = GaussianRingDataModule(batch_size=16, steps_per_epoch=3, num_workers=2)
    torch.testing.assert_close(list(w.train_dataloader())[1], batches[1])


def test_bad_input():
    with pytest.raises(ValueError, match="radius"):
        GaussianRingDataModule(radius=0)
    with pytest.raises(ValueError, match="std"):
        GaussianRingDataModule(std=-1)
    with pytest.raises(ValueError, match="n_modes"):
        ring_modes(0)


def test_batched_metric_and_nearest_mode_match_one_cloud_at_a_time():
    counts = torch.tensor([[250] * 8, [2000, 0, 0, 0, 0, 0, 0, 0], [1000, 1000, 0, 0, 0, 0, 0, 0]])
    torch.testing.assert_close(mode_collapse_metric(counts), torch.stack([mode_collapse_metric(c) for c in counts]))
    modes = torch.as_tensor(ring_modes(8, 2.0))
    X = torch.randn(3, 50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2
    idx, dist = nearest_mode(X, modes)
    for r in range(3):
        i, d = nearest_mode(X[r], modes)
        assert torch.equal(idx[r], i) and torch.equal(dist[r], d)
