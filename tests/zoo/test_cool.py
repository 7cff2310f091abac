"""COOL agent (Mills, Ronagh & Tamblyn 2020, arXiv:2003.00011): PPO loss terms and GAE on hand cases, shapes, the
rollout DataModule, a short fit, annealing and the linear baseline, n99 and Wilson intervals."""
import math

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from datamodules.cool import COOLDataModule, play_episodes
from datamodules.cool_env import COOLEnv
from datamodules.physics.annealing import WSC_GROUND_ENERGY, toroidal_spin_glass, wsc
from zoo.cool import COOLAgent, gae, gaussian_logp, ppo_loss
from zoo.cool_anneal import best_linear_schedule, linear_sa, n99, wilson

TINY = dict(n_reps=4, n_steps=3, n_sweeps=1)


def test_gae_hand_case():
    r = torch.tensor([[0.0, 0.0, 1.0]])
    v = torch.tensor([[0.5, 0.4, 0.3]])
    g, lam = 0.9, 0.5
    d2 = 1.0 - 0.3                       # last step: V beyond the end is 0
    d1 = 0.0 + g * 0.3 - 0.4
    d0 = 0.0 + g * 0.4 - 0.5
    a2, a1 = d2, d1 + g * lam * d2
    a0 = d0 + g * lam * a1
    adv, ret = gae(r, v, g, lam)
    assert torch.allclose(adv, torch.tensor([[a0, a1, a2]]))
    assert torch.allclose(ret, adv + v)
    adv1, ret1 = gae(r, v, 1.0, 1.0)  # lambda = gamma = 1: Monte-Carlo returns
    assert torch.allclose(ret1, torch.tensor([[1.0, 1.0, 1.0]]))


def test_ppo_loss_terms_hand_case():
    mu = torch.tensor([0.0, 0.0])
    log_std = torch.tensor([0.0, math.log(2.0)])
    a = torch.tensor([1.0, -1.0])
    logp = gaussian_logp(a, mu, log_std)
    assert logp[0] == pytest.approx(-0.5 - 0.5 * math.log(2 * math.pi))
    adv, ret, value = torch.tensor([1.0, -2.0]), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.5])
    # old policy = new policy: ratio 1, surrogate = mean advantage
    t = ppo_loss(mu, log_std, value, a, logp, adv, ret, clip=0.05, c1=0.5, c2=0.001)
    H = float((log_std + 0.5 * math.log(2 * math.pi * math.e)).mean())
    assert t["clip_objective"] == pytest.approx(-0.5)
    assert t["value_loss"] == pytest.approx((1.0 + 0.25) / 2)
    assert t["entropy"] == pytest.approx(H)
    assert t["loss"] == pytest.approx(-(-0.5 - 0.5 * 0.625 + 0.001 * H))
    # ratio e^0.2 > 1 + eps on a positive advantage: clipped to 1.05; on a negative one min keeps the unclipped
    old = logp - 0.2
    t = ppo_loss(mu, log_std, value, a, old, adv, ret, clip=0.05, c1=0.5, c2=0.0)
    r = math.exp(0.2)
    assert t["clip_objective"] == pytest.approx((1.05 * 1.0 + r * -2.0) / 2)
    assert t["clip_fraction"] == 1.0


def test_policy_shapes_and_ablation():
    for recurrent in (True, False):
        m = COOLAgent(problem="spin_glass", side=3, recurrent=recurrent, **TINY)
        obs = torch.randint(0, 2, (5, 3, 4, 9)).to(torch.int8) * 2 - 1
        mu, log_std, v, state = m(obs)
        assert mu.shape == log_std.shape == v.shape == (5, 3)
        a, logp, val, st = m.act(obs[:, :1], None, torch.zeros(5, 1))
        assert a.shape == logp.shape == val.shape == (5,)
        # stepping one observation at a time through the LSTM equals the whole sequence
        outs, state = [], None
        for t in range(3):
            mu_t, _, _, state = m(obs[:, t:t + 1], state, torch.full((5, 1), t / 3))
            outs.append(mu_t)
        assert torch.allclose(torch.cat(outs, 1), mu, atol=1e-6)
    with pytest.raises(ValueError, match="obs"):
        m(torch.zeros(2, 3, 4, 8))
    with pytest.raises(ValueError, match="problem"):
        COOLAgent(problem="potts")
    with pytest.raises(ValueError, match="clip"):
        COOLAgent(clip=0.0)


def test_rollouts_are_whole_episodes_and_reproducible():
    m = COOLAgent(**TINY)
    envs = [COOLEnv(**TINY) for _ in range(3)]
    a = play_episodes(m, envs, seed=5)
    b = play_episodes(m, envs, seed=5)
    assert a["obs"].shape == (3, 3, 4, 16) and a["betas"].shape == (3, 4)
    for k in ("obs", "actions", "rewards", "betas"):
        assert torch.equal(a[k], b[k])
    assert torch.all(a["rewards"][:, :-1] == 0) and torch.all(a["rewards"][:, -1] > 0)
    assert torch.allclose(a["rewards"][:, -1], -a["final_energies"].min(1).values.float())
    assert set(a["success"].tolist()) <= {0.0, 1.0}


def test_short_fit_updates_and_counts(tmp_path):
    dm = COOLDataModule(episodes_per_batch=2, batches_per_epoch=3, **TINY)
    m = COOLAgent(**TINY)
    before = [p.detach().clone() for p in m.parameters()]
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(m, dm)
    assert int(m.updates) == 3 and int(m.episodes) == 6
    assert any(not torch.equal(p0, p) for p0, p in zip(before, m.parameters()))
    h = m.history()
    assert len(h["episodes"]) == 3 and np.all(np.isfinite(h["return"]))


def test_linear_sa_on_wsc_hot_succeeds_cold_fails():
    J, h = wsc().couplings, wsc().fields
    hot = linear_sa(J, h, 0.2, 3.0, episodes=10, n_sweeps=10, n_reps=16, seed=0)
    cold = linear_sa(J, h, 2.5, 3.0, episodes=10, n_sweeps=10, n_reps=16, seed=0)
    assert hot["ground_energy"] == pytest.approx(WSC_GROUND_ENERGY)
    assert hot["success"].mean() >= 0.9  # enough heat to leave the local minimum (paper Fig. 3b)
    assert cold["success"].mean() == 0.0  # at beta >= 2.5 the barrier out of the local minimum holds
    assert hot["betas"].shape == (10, 41) and hot["betas"][0, -1] == pytest.approx(3.0)
    grid = best_linear_schedule(J, h, 0.2, [0.5, 3.0], episodes=5, n_sweeps=10, n_reps=16)
    assert grid["best_beta_f"] in (0.5, 3.0) and len(grid["success"]) == 2


def test_anneal_shapes_and_checks():
    m = COOLAgent(problem="spin_glass", side=3, **TINY)
    H = toroidal_spin_glass(3, seed=1)
    out = m.anneal(H.couplings, H.fields, beta_init=1.0, episodes=4, seed=0)
    assert out["betas"].shape == (4, 4) and out["final_energies"].shape == (4, 4) and out["success"].shape == (4,)
    assert np.allclose(out["betas"][:, 0], 1.0)
    again = m.anneal(H.couplings, H.fields, beta_init=1.0, episodes=4, seed=0)
    assert np.array_equal(out["final_energies"], again["final_energies"])
    with pytest.raises(ValueError, match="couplings"):
        m.anneal(np.zeros((16, 16)), np.zeros(16), 1.0)
    with pytest.raises(ValueError, match="beta_init"):
        m.anneal(H.couplings, H.fields, -1.0)


def test_n99_and_wilson():
    assert n99(0.5, "code") == pytest.approx(math.log(0.01) / math.log(0.5))
    assert n99(0.5, "thesis") == pytest.approx(0.5 * math.log(0.01) / math.log(0.5))
    assert n99(1.0) == 0.0 and n99(0.0) == math.inf  # p = 1 plotted as 0 (paper Fig. 4d caption)
    assert np.all(np.diff(n99(np.linspace(0.01, 0.99, 50), "thesis")) < 0)
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson(50, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_user_arrays_of_a_torus_get_the_transfer_matrix_ground_state():
    from datamodules.physics.ground_states import torus_transfer_matrix
    from zoo.cool_anneal import as_hamiltonian, exact_ground_energy

    H = toroidal_spin_glass(5, seed=3)  # 25 spins: beyond brute force
    G = as_hamiltonian(H.couplings.tolist(), list(H.fields))
    assert G.lattice == (5, 5)
    assert exact_ground_energy(G) == pytest.approx(torus_transfer_matrix(H)[0])
    J = H.couplings.copy()
    J[0, 12] = J[12, 0] = 0.3  # not a torus any more: no exact solver for 25 spins
    with pytest.raises(ValueError, match="ground_energy"):
        exact_ground_energy(as_hamiltonian(J, H.fields))
