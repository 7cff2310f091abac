"""RUGAN's opt-in global latent (issue 17: upscaled ordered samples break into domains because local latent noise
cannot choose one sign of m beyond the generator's receptive field).  The default (0) is the published architecture
and draw; a global channel is one value per sample at every site, at any L; and it can carry one choice across a
lattice far larger than the training size, which local noise cannot."""
from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from zoo.rugan import RUGAN, RUGANEM


def test_default_is_the_published_architecture_and_draw(tiny_rugan):
    from safetensors import safe_open

    with safe_open("checkpoints/rugan/ising-T-L16.safetensors", "pt") as f:
        published = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    card_args = dict(train_temperatures=[1.0, 3.5], latent_channels=16, g_width=32, c_width=16)
    plain = RUGAN(**card_args)
    assert plain.hparams.global_latent == 0 and plain.z_channels == 16
    assert {k: tuple(v.shape) for k, v in plain.state_dict().items()} == published
    # one global channel: the same modules, only the generator's input conv sees one more plane
    wide = {k: tuple(v.shape) for k, v in RUGAN(**card_args, global_latent=1).state_dict().items()}
    assert wide.keys() == published.keys()
    assert [k for k in wide if wide[k] != published[k]] == ["generator.inp.weight"]
    assert wide["generator.inp.weight"] == (32, 18, 3, 3) and published["generator.inp.weight"] == (32, 17, 3, 3)
    # the default draw is the one before the option existed: randn(n, C, L/4, L/4) from the seed, then the generator
    m = tiny_rugan()
    z = m.latent(3, 12, torch.Generator().manual_seed(5))
    assert torch.equal(z, torch.randn(3, 4, 3, 3, generator=torch.Generator().manual_seed(5)))
    T = torch.tensor([1.2, 2.0, 3.1])
    with torch.no_grad():
        want = torch.where(m.generator(z, m.normalize_labels(T)) >= 0, 1, -1).to(torch.int8)
    assert torch.equal(m.sample(3, L=12, temperature=T.numpy(), seed=5), want)


def test_global_latent_is_one_value_per_sample_at_every_site_and_any_size(tiny_rugan):
    m = tiny_rugan(global_latent=2)
    for L in (4, 16, 32, 128):
        z = m.latent(5, L, torch.Generator().manual_seed(1))
        assert z.shape == (5, 6, L // 4, L // 4)
        # the local channels are the same draw as without the option (drawn first)
        assert torch.equal(z[:, :4], torch.randn(5, 4, L // 4, L // 4, generator=torch.Generator().manual_seed(1)))
        w = z[:, 4:]
        assert torch.equal(w, w[:, :, :1, :1].expand_as(w)) and w[:, :, 0, 0].unique().numel() == 10
        for precision in ("fp32", "bf16"):
            s = m.sample(5, L=L, temperature=2.0, seed=1, precision=precision)
            assert s.shape == (5, L, L) and s.dtype == torch.int8 and set(s.unique().tolist()) <= {-1, 1}
    # changing only the global latent changes every site's input (a plane, not a point) ...
    z = m.latent(1, 64, torch.Generator().manual_seed(2))
    z2 = z.clone()
    z2[:, 4:] += 1.0
    with torch.no_grad():
        diff = (m(z, torch.tensor([1.5])) - m(z2, torch.tensor([1.5]))).abs()
        assert (diff > 0).all()
        # ... while one local latent cell reaches only its receptive field
        z3 = z.clone()
        z3[:, 0, 0, 0] += 1.0
        assert ((m(z, torch.tensor([1.5])) - m(z3, torch.tensor([1.5]))).abs() > 0).float().mean() < 0.5
    with pytest.raises(ValueError, match="global_latent"):
        tiny_rugan(global_latent=-1)
    with pytest.raises(ValueError, match="latent_channels \\+ global_latent = 6"):
        m(torch.randn(1, 4, 4, 4), torch.tensor([1.5]))
    assert RUGANEM(latent_channels=2, g_width=4, c_width=4, global_latent=1).latent(2, 8).shape == (2, 3, 2, 2)


def _fit_sign_choice(model: RUGAN, steps: int = 60) -> None:
    """Train the generator alone, at L = 16, to paint every site with sign(w): w is the first global channel if the
    model has one, else a per-sample draw it is not shown (what local noise would have to guess)."""
    opt = torch.optim.Adam(model.generator.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    C = model.hparams.latent_channels
    for _ in range(steps):
        z = model.latent(16, 16, g)
        w = z[:, C, 0, 0] if model.z_channels > C else torch.randn(16, generator=g)
        out = model(z, torch.full((16,), 1.5))
        loss = ((out - torch.sign(w)[:, None, None]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_global_channel_carries_one_choice_to_a_lattice_eight_times_larger(tiny_rugan):
    """After a few steps at L = 16, the global channel sets the sign of m on L = 128 lattices (latent 32 x 32, far
    beyond the receptive field) in every sample, w = +1 and w = -1 alike; a generator with local noise only, trained
    the same way, cannot: its samples' signs are unrelated to w."""
    results = {}
    for G in (1, 0):
        model = tiny_rugan(global_latent=G)
        _fit_sign_choice(model)
        z = model.latent(16, 128, torch.Generator().manual_seed(3))
        w = torch.tensor([1.0, -1.0] * 8)
        if G:
            z[:, 4] = w[:, None, None]
        with torch.no_grad():
            m = torch.where(model(z, torch.full((16,), 1.5)) >= 0, 1.0, -1.0).mean((-2, -1))
        results[G] = (m, torch.sign(m) == w)
    m, agree = results[1]
    assert agree.all() and (m.abs() > 0.9).all(), m
    assert results[0][1].float().mean() < 0.9, results[0]


def test_trained_global_model_checkpoint_is_weights_only_loadable(tmp_path, tiny_rugan):
    m = tiny_rugan(global_latent=1, n_critic=1)
    x = torch.as_tensor(np.random.default_rng(0).choice([-1.0, 1.0], size=(8, 8, 8)), dtype=torch.float32)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(m, DataLoader(TensorDataset(x, torch.tensor([1.0, 3.5] * 4)), batch_size=8))
    assert int(m.generator_steps) == 1
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["hyper_parameters"]["global_latent"] == 1
    back = RUGAN.load_from_checkpoint(path, weights_only=True)
    assert torch.equal(back.sample(4, L=32, temperature=2.0, seed=0), m.sample(4, L=32, temperature=2.0, seed=0))


def test_global_latent_usage_measures_whether_the_sign_follows_w(tiny_rugan):
    """zoo.evaluation.rugan.global_latent_usage: a generator fitted to paint sign(w) scores P(sign m = sign w) near 1
    (w drawn near 0 is ambiguous) and corr(m, w), eta^2 far from 0 at any size; an untrained one is near chance in
    sign; one whose global input weights are zero shows eta^2 near its chance level 7 / (n - 1); a model without the
    channel is refused."""
    from zoo.evaluation.rugan import global_latent_usage

    fresh = global_latent_usage(tiny_rugan(global_latent=1), 1.5, 16, n=256)
    assert 0.3 < fresh["p_sign_follows_w"] < 0.7
    blind = tiny_rugan(global_latent=1)  # the global channel's input weights zeroed: w cannot matter
    with torch.no_grad():
        blind.generator.inp.weight[:, 4] = 0.0
    u = global_latent_usage(blind, 1.5, 16, n=256)
    assert u["eta2_m_w"] < 0.1 and abs(u["corr_m_w"]) < 0.2 and u["abs_m"] == u["abs_m_w0"], u
    model = tiny_rugan(global_latent=1)
    _fit_sign_choice(model)
    for L in (16, 64):
        u = global_latent_usage(model, 1.5, L, n=64, seed=1)
        assert u["p_sign_follows_w"] >= 0.95 and u["corr_m_w"] > 0.5 and u["eta2_m_w"] > 0.5 and u["abs_m"] > 0.9, u
        assert set(u) == {"T", "L", "n", "corr_m_w", "eta2_m_w", "p_sign_follows_w", "abs_m", "abs_m_w0"}
    with pytest.raises(ValueError, match="global latent"):
        global_latent_usage(tiny_rugan(), 1.5, 16)
