"""The simulated-annealing gymnasium environment of COOL (Mills, Ronagh & Tamblyn 2020, arXiv:2003.00011)."""
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from datamodules.cool_env import COOLEnv
from datamodules.physics.annealing import WSC_GROUND_ENERGY, WSC_INITIAL_ENERGY, toroidal_spin_glass
from datamodules.physics.ground_states import brute_force


@pytest.mark.parametrize("kw", [dict(problem="wsc"), dict(problem="spin_glass", side=3),
                                dict(problem="wsc", destructive=True)])
def test_gymnasium_env_checker_passes(kw):
    check_env(COOLEnv(n_reps=4, n_steps=5, n_sweeps=2, **kw), skip_render_check=True)


def test_episode_rewards_schedule_and_success():
    env = COOLEnv("wsc", n_reps=8, n_steps=6, n_sweeps=3, beta_init=(1.0, 1.0), action_scale=0.2)
    obs, info = env.reset(seed=0)
    assert obs.shape == (8, 16) and obs.dtype == np.int8 and info["beta"] == 1.0
    assert np.allclose(env.hamiltonian.energy(obs), WSC_INITIAL_ENERGY)  # always the local minimum
    rewards, betas = [], []
    for a in [-1, -0.5, 3.0, 0, 1, 1]:  # 3.0 is clipped to 1
        obs, r, term, trunc, info = env.step(np.array([a], np.float32))
        rewards.append(r), betas.append(info["beta"])
    assert np.allclose(betas, np.cumsum([-0.2, -0.1, 0.2, 0, 0.2, 0.2]) + 1.0)
    assert term and not trunc and rewards[:-1] == [0.0] * 5
    assert rewards[-1] == pytest.approx(-env.hamiltonian.energy(obs).min())
    assert info["success"] == bool(np.isclose(env.hamiltonian.energy(obs), WSC_GROUND_ENERGY).any())
    assert env.schedule[0] == pytest.approx([1 - 0.2 / 3, 1 - 0.4 / 3, 0.8])  # dbeta / n_sweeps before each sweep
    with pytest.raises(RuntimeError):
        env.step(np.zeros(1, np.float32))


def test_beta_guard_and_per_spin_reward():
    env = COOLEnv("wsc", n_reps=2, n_steps=2, n_sweeps=2, beta_init=(0.1, 0.1), reward="per_spin")
    env.reset(seed=1)
    _, _, _, _, info = env.step(np.array([-1.0], np.float32))  # 0.1 - 0.2 < 0: ignored
    assert info["guarded"] and info["beta"] == pytest.approx(0.1)
    obs, r, *_ = env.step(np.array([1.0], np.float32))
    assert r == pytest.approx(-env.hamiltonian.energy(obs).min() / 16)


def test_spin_glass_instances_and_given_hamiltonian():
    env = COOLEnv("spin_glass", side=3, n_reps=4, n_steps=2, n_sweeps=1)
    env.reset(seed=0)
    J0 = env.hamiltonian.couplings
    env.reset()
    assert not np.array_equal(J0, env.hamiltonian.couplings)  # a fresh instance per episode
    H = toroidal_spin_glass(3, seed=42)
    env.reset(options={"hamiltonian": H, "beta_init": 3.0})
    assert env.hamiltonian is H and env.beta == 3.0 and env.ground_energy() == pytest.approx(brute_force(H)[0])
    with pytest.raises(ValueError, match="hamiltonian"):
        env.reset(options={"hamiltonian": toroidal_spin_glass(4, seed=0)})
    with pytest.raises(ValueError, match="problem"):
        COOLEnv("potts")


def test_destructive_observation_replays_the_schedule():
    # destructive: each step re-anneals fresh replicas through every earlier step; with beta -> huge from a hot start
    # the replicas of the last observation went through all steps (they are low in energy), and the replayed
    # schedule equals the non-destructive one
    kw = dict(problem="spin_glass", side=3, n_reps=16, n_steps=4, n_sweeps=5, beta_init=(0.2, 0.2), action_scale=5)
    H = toroidal_spin_glass(3, seed=3)
    for destructive in (False, True):
        env = COOLEnv(destructive=destructive, **kw)
        env.reset(seed=0, options={"hamiltonian": H})
        for a in [1, 1, 1, 1]:
            obs, r, term, _, info = env.step(np.array([a], np.float32))
        assert sum(len(s) for s in env.schedule) == 20 and env.beta == pytest.approx(20.2)
        assert info["success"]  # 16 replicas cooled to beta 20 on 9 spins


def test_destructive_steps_replay_every_earlier_sweep(monkeypatch):
    import datamodules.cool_env as ce

    calls = []
    real = ce.metropolis_anneal

    def spy(H, spins, betas, seed):
        calls.append(np.array(betas))
        return real(H, spins, betas, seed)

    monkeypatch.setattr(ce, "metropolis_anneal", spy)
    for destructive, lengths in ((False, [5, 5, 5]), (True, [5, 10, 15])):
        calls.clear()
        env = COOLEnv("wsc", n_reps=4, n_steps=3, n_sweeps=5, beta_init=(1.0, 1.0), destructive=destructive)
        env.reset(seed=0)
        for a in (1.0, -1.0, 0.5):
            env.step(np.array([a], np.float32))
        assert [len(c) for c in calls] == lengths
    # the last destructive call replays the whole schedule from beta_init, fresh replicas from the local minimum
    assert np.allclose(calls[-1], np.concatenate(env.schedule))
