"""Published COOL agents (Mills, Ronagh & Tamblyn 2020, arXiv:2003.00011): load by name (checksum verified) and check
the card's claims on fresh annealing runs, cheaply."""
import numpy as np
import pytest

import zoo
from datamodules.physics.annealing import toroidal_spin_glass, wsc
from datamodules.physics.ground_states import ground_state
from zoo.cool import COOLAgent
from zoo.cool_anneal import linear_sa, wilson


def _card(m):
    return {x["name"]: x["value"] for x in m.card["metrics"]}


def _require(name):
    if name not in zoo.list_pretrained("cool"):
        pytest.fail(f"{name} is not published (checkpoints/cool/)")
    return zoo.load_pretrained(name)


def test_wsc_agent_escapes_the_local_minimum_from_a_cold_start():
    m = _require("cool/wsc")
    assert type(m) is COOLAgent and m.card["class_path"] == "zoo.cool.COOLAgent" and not m.training
    card = _card(m)
    H = wsc()
    b = max(float(k.removeprefix("rl_success_beta")) for k in card if k.startswith("rl_success_beta"))
    n = 30
    rl = m.anneal(H.couplings, H.fields, b, episodes=n, seed=4242)
    k = int(rl["success"].sum())
    lo, hi = wilson(k, n, z=3.0)  # a 3-sigma score interval: the card's rate must lie inside
    assert lo <= card[f"rl_success_beta{b:g}"] <= hi
    # fresh linear SA from the same cold start: the best of three beta_f stays far below the agent
    sa = max(linear_sa(H.couplings, H.fields, b, bf, episodes=n, n_sweeps=m.hparams.n_sweeps, seed=7)["success"].mean()
             for bf in (b, b + 1.0, b + 4.0))
    assert sa < 0.2
    assert rl["success"].mean() >= 0.9 or card["cold_start_rl_success"] < 0.9  # the target, or the card says short


@pytest.mark.parametrize("side", [4, 6])
def test_spin_glass_agent_matches_its_card(side):
    m = _require(f"cool/sg-{side}x{side}")
    card = _card(m)
    assert card["rl_success"] >= card["sa_success"]  # the card's claim: RL >= the best linear schedule
    succ = []
    for k in range(8):
        H = toroidal_spin_glass(side, 1_000_000 + k)
        succ.append(m.anneal(H.couplings, H.fields, 0.33, episodes=5, seed=99,
                             ground_energy=ground_state(H)[0])["success"])
    s = np.concatenate(succ)
    lo, hi = wilson(int(s.sum()), s.size, z=3.0)
    assert lo <= card["rl_success"] <= hi
