"""RUGAN's opt-in weight-averaged generator (`ema_decay`, issue 17): off by default (the published models' weights and
samples); when on, a copy of the generator that training moves toward it after each generator step with the stated
warm-up, which `sample()` (and so validation, physics selection and `zoo evaluate`) uses, and which checkpoints carry."""
from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from zoo.rugan import RUGAN, RUGANEM


def _fit(m, batches: int, tmp_path=None):
    x = torch.as_tensor(np.random.default_rng(0).choice([-1.0, 1.0], size=(8 * batches, 8, 8)), dtype=torch.float32)
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(m, DataLoader(TensorDataset(x, torch.tensor([1.0, 3.5] * 4 * batches)), batch_size=8))
    return trainer


def test_off_by_default_and_bad_values_name_the_argument(tiny_rugan):
    m = tiny_rugan()
    assert m.hparams.ema_decay is None and m.sampler is m.generator
    assert not any(k.startswith("generator_ema") for k in m.state_dict())
    for bad in (0, 1, 1.5, -0.1, True, "0.9", float("nan")):
        with pytest.raises(ValueError, match="ema_decay"):
            tiny_rugan(ema_decay=bad)
    em = RUGANEM(latent_channels=2, g_width=4, c_width=4, ema_decay=0.99)
    assert em.sampler is em.generator_ema


def test_average_starts_as_the_generator_and_follows_the_warm_up_formula(tiny_rugan):
    m = tiny_rugan(ema_decay=0.999)
    gen, ema = dict(m.generator.named_parameters()), dict(m.generator_ema.named_parameters())
    assert gen.keys() == ema.keys() and all(torch.equal(gen[k], ema[k]) for k in gen)
    assert not any(p.requires_grad for p in ema.values())
    # hand-set weights: after generator step k (k = 0 first) avg <- d avg + (1 - d) w, d = min(0.999, (1+k)/(10+k))
    want = {k: v.detach().clone() for k, v in gen.items()}
    for k in range(40):
        with torch.no_grad():
            for p in m.generator.parameters():
                p.add_(0.01 * (k + 1))
        m.generator_steps += 1
        m.ema_update()
        d = min(0.999, (1 + k) / (10 + k))
        want = {n: d * want[n] + (1 - d) * gen[n].detach() for n in want}
    for n in want:
        torch.testing.assert_close(ema[n], want[n], rtol=1e-5, atol=1e-6)
        assert not torch.allclose(ema[n], gen[n])  # it lags a moving generator


def test_training_moves_the_average_once_per_generator_step_and_never_trains_it(tiny_rugan):
    m = tiny_rugan(ema_decay=0.9, n_critic=2)
    g0 = [p.detach().clone() for p in m.generator.parameters()]
    _fit(m, batches=4)  # 2 generator steps
    assert int(m.generator_steps) == 2
    g1 = [p.detach() for p in m.generator.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(g0, g1))
    # two updates with d = 0.1 then 2/11; the generator's intermediate weights are unknown here, so check the
    # average moved off its start and lies nearer the trained generator than the start does
    ema = [p.detach() for p in m.generator_ema.parameters()]
    dist = lambda a, b: sum(float((x - y).pow(2).sum()) for x, y in zip(a, b)) ** 0.5  # noqa: E731
    assert 0 < dist(ema, g1) < dist(g0, g1)
    assert all(p.grad is None for p in m.generator_ema.parameters())


def test_sample_uses_the_average_and_checkpoints_carry_it(tmp_path, tiny_rugan):
    m = tiny_rugan(ema_decay=0.99, global_latent=1, n_critic=1)
    trainer = _fit(m, batches=1)
    with torch.no_grad():  # make the two networks differ visibly
        for p in m.generator_ema.parameters():
            p.mul_(-1.0)
    z = m.latent(6, 16, torch.Generator().manual_seed(4))
    T = torch.full((6,), 2.0)
    with torch.no_grad():
        from_avg = torch.where(m.generator_ema(z, m.normalize_labels(T)) >= 0, 1, -1).to(torch.int8)
        from_gen = torch.where(m.generator(z, m.normalize_labels(T)) >= 0, 1, -1).to(torch.int8)
    assert not torch.equal(from_avg, from_gen)
    assert torch.equal(m.sample(6, L=16, temperature=2.0, seed=4), from_avg)
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    back = RUGAN.load_from_checkpoint(path, weights_only=True)
    assert back.hparams.ema_decay == 0.99
    assert torch.equal(back.sample(6, L=16, temperature=2.0, seed=4), from_avg)
