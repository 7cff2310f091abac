"""RUGAN's opt-in sign-canonical training (`canonical_m`, issue 17): the critic sees every real sample with
|m| > canonical_m flipped to m > 0, and `sample()` multiplies each generated sample by a random global sign, so the
sampled distribution is Z2-symmetric like the data; off by default (the published models' draws unchanged)."""
from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


def test_off_by_default_and_bad_values_name_the_argument(tiny_rugan):
    m = tiny_rugan()
    assert m.hparams.canonical_m is None and m.sample_signs(4) is None
    x = torch.ones(3, 8, 8) * torch.tensor([-1.0, 1.0, -1.0])[:, None, None]
    assert torch.equal(m.canonicalize(x), x)
    for bad in (-0.1, 1.0, 2, True, "0.5", float("nan")):
        with pytest.raises(ValueError, match="canonical_m"):
            tiny_rugan(canonical_m=bad)


def test_canonicalize_flips_only_samples_beyond_the_threshold(tiny_rugan):
    m = tiny_rugan(canonical_m=0.5)
    x = torch.ones(4, 8, 8)
    x[0] *= -1                      # m = -1: flipped
    x[1, :3] = -1                   # m = 1 - 2 * 24/64 = 0.25: kept
    x[1] *= -1                      # m = -0.25: kept as is
    x[2, :1] = -1                   # m = 0.75: kept (already positive)
    x[3, :6] = -1                   # m = -0.5: |m| not > 0.5, kept
    out = m.canonicalize(x.clone())
    mags = x.flatten(1).mean(1)
    assert torch.allclose(mags, torch.tensor([-1.0, -0.25, 0.75, -0.5]))
    assert torch.equal(out[0], -x[0]) and torch.equal(out[1:], x[1:])


def test_sampling_restores_both_signs_and_is_seeded(tiny_rugan):
    m = tiny_rugan(canonical_m=0.5)
    with torch.no_grad():  # a generator that paints everything +1 whatever the latent
        for p in m.generator.parameters():
            p.zero_()
        m.generator.out.bias.fill_(5.0)
    raw = m.sample(200, L=8, temperature=2.0, seed=3, raw=True)
    assert torch.allclose(raw.abs(), torch.full_like(raw, float(torch.tanh(torch.tensor(5.0)))))
    signs = torch.sign(m.sample(200, L=8, temperature=2.0, seed=3).float().mean((-2, -1)))
    assert 60 < int((signs > 0).sum()) < 140  # both signs, about half each
    assert torch.equal(m.sample(16, L=8, temperature=2.0, seed=5), m.sample(16, L=8, temperature=2.0, seed=5))
    # the signs are the only difference from the same model without the option (same latents for a seed)
    plain = tiny_rugan()
    plain.load_state_dict(m.state_dict())
    a = m.sample(32, L=8, temperature=2.0, seed=7, raw=True)
    b = plain.sample(32, L=8, temperature=2.0, seed=7, raw=True)
    s = (a / b).flatten(1)
    assert torch.allclose(s, s[:, :1].expand_as(s)) and set(s[:, 0].round().tolist()) <= {-1.0, 1.0}


def test_the_critic_sees_canonical_real_batches(monkeypatch, tiny_rugan):
    m = tiny_rugan(canonical_m=0.5, n_critic=1, augment=False)
    seen = []
    original = m.critic_loss

    def spy(x, y, fake):
        seen.append(x.detach().clone())
        return original(x, y, fake)

    monkeypatch.setattr(m, "critic_loss", spy)
    x = torch.as_tensor(np.where(np.random.default_rng(0).random((8, 8, 8)) < 0.95, -1.0, 1.0), dtype=torch.float32)
    x[4:] = torch.as_tensor(np.random.default_rng(1).choice([-1.0, 1.0], size=(4, 8, 8)), dtype=torch.float32)
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(m, DataLoader(TensorDataset(x, torch.tensor([1.0, 3.5] * 4)), batch_size=8))
    (got,) = seen
    mags = x.flatten(1).mean(1)
    assert (mags[:4] < -0.5).all()  # ordered and negative: flipped
    assert torch.equal(got[:4], -x[:4])
    assert torch.equal(got[4:], x[4:])  # disordered: untouched
