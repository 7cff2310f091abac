"""RUGAN: the two conditionings as classes (and old cards' `labels` switch resolved to them), size agnosticism, circular-padding equivariance, label conditioning, the gradient penalty against
hand-computed cases, the manual-optimization step, input validation, and the published checkpoint."""
from __future__ import annotations

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from zoo.rugan import RUGAN, RUGANEM
from zoo.rugan_nets import gradient_penalty


def _model(**kw):
    args = dict(train_temperatures=[1.0, 3.5], latent_channels=4, g_width=8, c_width=8)
    args.update(kw)
    torch.manual_seed(0)
    return RUGAN(**args)


@pytest.mark.parametrize("L", [4, 8, 12, 20])
def test_any_multiple_of_four(L):
    m = _model()
    s = m.sample(3, L=L, temperature=2.0, seed=0)
    assert s.shape == (3, L, L) and s.dtype == torch.int8 and set(s.unique().tolist()) <= {-1, 1}
    assert m.critic(s.float(), m.normalize_labels(torch.full((3,), 2.0))).shape == (3,)
    raw = m.sample(3, L=L, temperature=2.0, seed=0, raw=True)
    assert torch.equal(torch.where(raw >= 0, 1, -1).to(torch.int8), s) and raw.abs().max() < 1


def test_generator_is_translation_equivariant_and_critic_invariant():
    """Circular padding everywhere: rolling the latent by one cell rolls the sample by 4 sites; rolling
    the input by 4 sites (the pooling period) leaves the critic's score unchanged."""
    m = _model().eval()
    z = torch.randn(2, 4, 5, 5)
    T = torch.tensor([1.5, 3.0])
    a = m(z, T)
    b = m(torch.roll(z, (1, 2), dims=(-2, -1)), T)
    assert torch.allclose(torch.roll(a, (4, 8), dims=(-2, -1)), b, atol=1e-5)
    x = torch.randn(2, 20, 20).sign()
    y = m.normalize_labels(T)
    assert torch.allclose(m.critic(x, y), m.critic(torch.roll(x, (4, -8), dims=(-2, -1)), y), atol=1e-5)


def test_label_conditioning_reaches_both_networks():
    m = _model().eval()
    z = torch.randn(1, 4, 4, 4)
    assert not torch.allclose(m(z, torch.tensor([1.0])), m(z, torch.tensor([3.5])))
    x = torch.randn(1, 16, 16).sign()
    c = [m.critic(x, m.normalize_labels(torch.tensor([T]))) for T in (1.0, 3.5)]
    assert not torch.allclose(*c)
    assert torch.allclose(m.normalize_labels(torch.tensor([1.0, 2.25, 3.5])).squeeze(), torch.tensor([-1.0, 0, 1]))


def test_gradient_penalty_hand_computed():
    real = torch.tensor([[[1.0, -1.0], [1.0, 1.0]], [[-1.0, -1.0], [1.0, -1.0]]])
    fake = torch.tensor([[[0.5, 0.0], [0.0, -0.5]], [[0.2, 0.4], [-0.2, 0.0]]])
    y = torch.tensor([[0.3], [-0.7]])
    eps = torch.tensor([0.25, 0.5])
    w = torch.tensor([[1.0, 2.0], [0.0, -2.0]])
    # linear critic: grad = w for every point, so GP = (||w|| - 1)^2 = (3 - 1)^2
    lin = lambda x, lab: (x * w).sum((-2, -1)) + lab[:, 0]  # noqa: E731
    assert torch.isclose(gradient_penalty(lin, real, fake, y, eps), torch.tensor(4.0))
    # quadratic critic with a label factor: C = y * sum(x^2), grad = 2 y x_hat
    quad = lambda x, lab: lab[:, 0] * (x ** 2).sum((-2, -1))  # noqa: E731
    gp = gradient_penalty(quad, real, fake, y, eps)
    expected = 0.0
    for i in range(2):
        x_hat = eps[i] * real[i] + (1 - eps[i]) * fake[i]
        expected += (abs(2 * y[i, 0]) * x_hat.norm() - 1) ** 2 / 2
    assert torch.isclose(gp, expected)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(lin, real, fake[:, :1], y, eps)


def test_gradient_penalty_is_differentiable_wrt_critic():
    m = _model()
    x = torch.randn(4, 8, 8).sign()
    gp = gradient_penalty(m.critic, x, torch.rand(4, 8, 8) * 2 - 1, m.normalize_labels(torch.full((4,), 2.0)))
    gp.backward()
    assert all(p.grad is not None for p in m.critic.inp.parameters())


def test_manual_optimization_updates_critic_every_step_and_generator_every_n_critic():
    m = _model(n_critic=2, augment=True)
    x = torch.as_tensor(np.random.default_rng(0).choice([-1.0, 1.0], size=(16, 8, 8)), dtype=torch.float32)
    T = torch.tensor([1.0, 3.5] * 8)
    dl = DataLoader(TensorDataset(x, T), batch_size=8)
    g0 = [p.detach().clone() for p in m.generator.parameters()]
    c0 = [p.detach().clone() for p in m.critic.parameters()]
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(m, dl)
    assert any(not torch.equal(a, b) for a, b in zip(c0, m.critic.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(g0, m.generator.parameters()))  # 1 batch < n_critic
    assert int(m.generator_steps) == 0
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=2, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(m, dl)
    assert any(not torch.equal(a, b) for a, b in zip(g0, m.generator.parameters()))
    assert int(m.generator_steps) == 1
    assert all(torch.isfinite(p).all() for p in m.parameters())


def test_learning_rate_decay_schedule_and_its_application_to_both_optimizers():
    m = _model(lr=4e-4, lr_final=1e-4, decay_start=10, decay_steps=20)
    assert m.current_lr(0) == m.current_lr(10) == pytest.approx(4e-4)
    assert m.current_lr(20) == pytest.approx(2e-4)  # geometric midpoint
    assert m.current_lr(30) == m.current_lr(1000) == pytest.approx(1e-4)
    assert _model(lr=4e-4).current_lr(10 ** 6) == pytest.approx(4e-4)  # off by default
    m.generator_steps.fill_(20)
    x = torch.as_tensor(np.random.default_rng(0).choice([-1.0, 1.0], size=(8, 8, 8)), dtype=torch.float32)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(m, DataLoader(TensorDataset(x, torch.tensor([1.0, 3.5] * 4)), batch_size=8))
    for opt in trainer.optimizers:
        assert [g["lr"] for g in opt.param_groups] == [pytest.approx(2e-4)]
    with pytest.raises(ValueError, match="lr_final"):
        _model(lr_final=-1.0)


def test_critic_loss_parts():
    m = _model()
    x = torch.randn(4, 8, 8).sign()
    y = m.normalize_labels(torch.full((4,), 2.0))
    parts = m.critic_loss(x, y, torch.zeros(4, 8, 8))
    assert parts["ct"] > 0  # two dropout passes differ in train mode
    m.critic.eval()
    assert m.critic_loss(x, y, torch.zeros(4, 8, 8))["ct"] == 0
    hp = m.hparams
    assert (hp.lambda_gp, hp.lambda_ct, hp.n_critic, list(hp.betas), hp.lr) == (10.0, 2.0, 10, [0.0, 0.9], 1e-4)
    opt_g, opt_c = m.configure_optimizers()
    assert opt_g.defaults["betas"] == (0.0, 0.9) and opt_c.defaults["lr"] == 1e-4


def test_bad_arguments():
    m = _model()
    with pytest.raises(ValueError, match="multiple of 4"):
        m.sample(2, L=10, temperature=2.0)
    with pytest.raises(ValueError, match="outside the training range"):
        m.sample(2, L=8, temperature=4.0)
    assert m.sample(2, L=8, temperature=4.0, extrapolate=True).shape == (2, 8, 8)
    with pytest.raises(ValueError, match="temperature"):
        m.sample(2, L=8, energy=-1.0, magnetization=0.0)
    with pytest.raises(ValueError, match="positive"):
        m.sample(2, L=8, temperature=-1.0, extrapolate=True)
    with pytest.raises(ValueError, match="non-negative integer"):
        m.sample(-1, L=8, temperature=2.0)
    with pytest.raises(ValueError, match="train_temperatures"):
        RUGAN()
    with pytest.raises(ValueError, match="n_critic"):
        RUGAN(train_temperatures=[1.0, 2.0], n_critic=0)
    em = RUGANEM(latent_channels=2, g_width=4, c_width=4)
    assert em.sample(2, L=8, energy=-1.0, magnetization=0.5).shape == (2, 8, 8)
    with pytest.raises(ValueError, match=r"\(energy, magnetization\) = \(-3, 0.5\) is impossible"):
        em.sample(2, L=8, energy=-3.0, magnetization=0.5)


def test_figures_callback_draws_and_logs_without_moving_the_training_rng(tmp_path):
    from callbacks.rugan_figures import RUGANFigures

    m = _model(n_critic=1)
    x = torch.as_tensor(np.random.default_rng(0).choice([-1.0, 1.0], size=(8, 8, 8)), dtype=torch.float32)
    dl = DataLoader(TensorDataset(x, torch.tensor([1.0, 3.5] * 4)), batch_size=8)
    cb = RUGANFigures(temperatures=(1.0, 3.5), sizes=(8, 16), n_per_cell=2)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=1, num_sanity_val_steps=0,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", default_root_dir=str(tmp_path), callbacks=[cb])
    trainer.fit(m, dl, dl)
    figs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert figs == ["gallery_step000001.png", "observables_step000001.png"], figs
    state = torch.get_rng_state()
    cb.on_validation_epoch_end(trainer, m)
    assert torch.equal(state, torch.get_rng_state())
    with pytest.raises(ValueError):
        RUGANFigures(sizes=(10,))


def test_legacy_labels_arg_resolves_to_the_class_it_meant():
    """Cards and checkpoints from before the two classes carry `labels` and None for the other conditioning's args."""
    from zoo.hub import card_class

    shared = dict(latent_channels=4, g_width=8, c_width=8, n_critic=3, lr=4e-4, betas=[0.0, 0.9], augment=True)
    old_t = {"labels": "temperature", "train_temperatures": [1.0, 3.5], "label_range": [1.0, 3.5], **shared,
             "lr_final": 1e-4, "decay_start": 10, "decay_steps": 20}
    old_em = {"labels": "em", "train_temperatures": None, "label_range": None, **shared}
    cls, args = RUGAN.from_legacy_args(old_t)
    assert cls is RUGAN and "labels" not in args and args["label_range"] == [1.0, 3.5]
    cls, args = RUGAN.from_legacy_args(old_em)
    assert cls is RUGANEM and set(args) == set(shared)
    # the same through the hub, for a card without class_path (what tools/migrate_cards.py met)
    for old, want in ((old_t, RUGAN), (old_em, RUGANEM)):
        cls, args = card_class({"name": "rugan/x", "model": "rugan", "init_args": old})
        m = cls(**args)
        assert type(m) is want and want.registry_name == "rugan"
        assert m.label_names == (("temperature",) if want is RUGAN else ("energy", "magnetization"))
    # idempotent: new args pass through, on either class
    assert RUGANEM.from_legacy_args(dict(shared)) == (RUGANEM, shared)
    with pytest.raises(ValueError, match="labels must be one of"):
        RUGAN.from_legacy_args({"labels": "doping"})
    # called on either class, the legacy labels decide (an old em checkpoint's class path names RUGAN)
    assert RUGANEM.from_legacy_args(old_t)[0] is RUGAN and RUGAN.from_legacy_args(old_em)[0] is RUGANEM


def test_registry_default_and_variant():
    from zoo.registry import get_model_class

    assert get_model_class("rugan") is RUGAN and RUGANEM.registry_name == "rugan"
    assert RUGAN.ddp_find_unused_parameters and RUGANEM.ddp_find_unused_parameters  # zoo.cli reads it
    with pytest.raises(TypeError):
        RUGAN(labels="em", train_temperatures=[1.0, 2.0])  # the switch is gone: pick the class
    with pytest.raises(ValueError, match="train window"):
        RUGANEM(train_windows=[[0.0, -1.0, 0.0, 0.5]])


def _reference_generator(G, z, y):
    """The generator as it was written before the fast path (zoo.rugan_nets before the bf16 work): modules' own
    circular padding, out-of-place activations, materialized up-sampling and residual sums."""
    def block(b, x):
        if b.up:
            x = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        h = b.conv2(torch.nn.functional.leaky_relu(b.conv1(torch.nn.functional.leaky_relu(x, 0.2)), 0.2))
        return b.skip(x) + h

    h = G.inp(torch.cat([z, y[:, :, None, None].expand(-1, -1, *z.shape[-2:])], 1))
    for b in G.blocks:
        h = block(b, h)
    return torch.tanh(G.out(torch.nn.functional.leaky_relu(h, 0.2))).squeeze(1)


@pytest.mark.parametrize("l", [1, 3, 5])
def test_generator_fast_path_is_bit_identical_in_fp32(l):
    """Pad-then-activate in place, activate-before-up-sampling and the broadcast residual only reorder copies of
    the same numbers: the fp32 output must equal the reference bit for bit (and gradients agree)."""
    m = _model().eval()
    z = torch.randn(3, 4, l, l)
    y = m.normalize_labels(torch.tensor([1.2, 2.3, 3.4]))
    with torch.no_grad():
        assert torch.equal(m.generator(z, y), _reference_generator(m.generator, z, y))
        zc = z.contiguous(memory_format=torch.channels_last)  # the layout the bf16 path feeds it
        assert torch.equal(m.generator(zc, y), _reference_generator(m.generator, z, y))
    m.generator.train()
    grads = []
    for f in (m.generator, lambda a, b: _reference_generator(m.generator, a, b)):
        m.generator.zero_grad()
        (f(z, y) ** 2).sum().backward()
        grads.append([p.grad.clone() for p in m.generator.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    # the published state-dict keys are the modules', untouched
    assert set(m.generator.state_dict()) == {k for k, _ in m.generator.named_parameters()}


def test_bf16_sampling_matches_fp32_statistics_of_the_published_model():
    """precision='bf16' (autocast + channels-last) on the published model at L = 64, same latent seeds: <e> and
    <|m|> per spin within 1e-3 of fp32 at three temperatures, few flipped spins, fp32 raw output; bad precision
    raises.  Paired samples (one flipped spin in 4096 moves e by <= 2e-3 and |m| by 5e-4 for that sample): on 64
    per temperature the standard error of the mean difference is ~3e-4, the bias seen on 1000 is below 6e-4."""
    import zoo

    model = zoo.load_pretrained("rugan/ising-T-L16")
    assert model.sample(1, L=8, temperature=2.0, seed=0, precision="bf16", raw=True).dtype == torch.float32
    for T in (1.5, 2.25, 3.0):
        s = {p: model.sample(64, L=64, temperature=T, seed=7, precision=p).numpy() for p in ("fp32", "bf16")}
        e, m = {}, {}
        for p, x in s.items():
            e[p], mm = model._e_m(x)
            m[p] = np.abs(mm)
        assert 0 < (s["fp32"] != s["bf16"]).mean() < 0.01, T  # it is a different arithmetic, and a close one
        assert abs(e["fp32"].mean() - e["bf16"].mean()) < 1e-3, T
        assert abs(m["fp32"].mean() - m["bf16"].mean()) < 1e-3, T
    with pytest.raises(ValueError, match="precision"):
        model.sample(1, L=8, temperature=2.0, precision="fp16")
