"""Published Ising CNN checkpoints: load by name, checksum, and a quick metric on fresh data.

The fresh sets are small (other seed, same recipe otherwise); the thresholds are the issue's targets
where a small set can resolve them, and each is a number the checkpoint could miss.
"""
import numpy as np
import torch

import zoo
from datamodules.physics import ising
from zoo.evaluation.ising_cnn import measure

FRESH = dict(L=8, sampling="targeted", n_samples=6300, shard_size=50, seed=4242, progress=False)


def _metric(metrics, name):
    return next(m["value"] for m in metrics if m["name"] == name)


def test_all_five_published_with_cards():
    names = zoo.list_pretrained("ising_cnn")
    for v in ("4x4-classify", "4x4-classify-random", "8x8-classify", "8x8-energy", "8x8-magnetization"):
        assert f"ising_cnn/{v}" in names
        card = zoo.get_card(f"ising_cnn/{v}")
        assert card["paper"], "every card states the paper's number beside ours"
        assert card["metrics"] and card["sha256"] and card["config"].startswith("configs/ising_cnn/")


def test_8x8_classify_fresh_data():
    m = zoo.load_pretrained("ising_cnn/8x8-classify")
    assert not m.training and m.card["name"] == "ising_cnn/8x8-classify"
    metrics = measure(m, {**FRESH, "val_fraction": 0.0625, "test_fraction": 0.3125})
    assert _metric(metrics, "accuracy") >= 0.999  # issue target (paper 99.922 %)
    assert _metric(metrics, "errors_within_one_level") >= 0.99
    s = ising.random_configs(64, 8, seed=1)
    assert torch.equal(m.predict_energy(s), torch.as_tensor(ising.energy(s), dtype=torch.float32))


def test_8x8_energy_fresh_data():
    m = zoo.load_pretrained("ising_cnn/8x8-energy")
    metrics = measure(m, {**FRESH, "val_fraction": 0.0625, "test_fraction": 0.3125})
    assert _metric(metrics, "median_abs_error") <= 1.782  # the paper's median, J


def test_8x8_magnetization_fresh_data():
    m = zoo.load_pretrained("ising_cnn/8x8-magnetization")
    metrics = measure(m, {**FRESH, "val_fraction": 0.0625, "test_fraction": 0.3125})
    assert _metric(metrics, "median_abs_error") <= 2e-3  # the paper's median, per spin
    up = np.ones((1, 8, 8))
    assert abs(float(m.predict_magnetization(up)) - 1.0) < 0.02


def test_4x4_classify_all_states_and_thermodynamics():
    m = zoo.load_pretrained("ising_cnn/4x4-classify")
    metrics = measure(m, m.card["dataset"]["init_args"])
    assert _metric(metrics, "accuracy_all_states") >= 0.999
    assert _metric(metrics, "thermo_max_rel_dev") <= 0.01


def test_4x4_random_shows_the_tail_failure():
    m = zoo.load_pretrained("ising_cnn/4x4-classify-random")
    metrics = measure(m, m.card["dataset"]["init_args"])
    # high overall accuracy hides the failure on the rare |E| > 16 states (PRE 97, 032119, Sec. III; thesis L1061): the error
    # rate there is far above the overall one, and a handful of wrong extreme states is enough to
    # break the low-temperature thermodynamics that the targeted-sampling model gets right
    overall_err = 1 - _metric(metrics, "accuracy_all_states")
    tail_err = 1 - _metric(metrics, "accuracy_tails")
    assert overall_err <= 0.01
    assert tail_err > 10 * overall_err
    assert _metric(metrics, "thermo_max_rel_dev") > 0.05
