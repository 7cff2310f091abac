"""Every path that reads a file a user hands us refuses pickled code: a crafted checkpoint whose unpickling would
create a marker file is given to each, and the marker must not appear.  The payload is first shown to be live (a
plain `torch.load(weights_only=False)` does create the marker), so these tests can fail.  The data-cache shards have
their own payload test in tests/datamodules/."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

from zoo import hub

REPO = Path(__file__).resolve().parent.parent


class _Payload:
    """Unpickling calls open(marker, 'w'): creating the file is the proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def _evil_checkpoint(path: Path, marker: Path) -> Path:
    torch.save({"state_dict": {"w": torch.zeros(1)}, "hyper_parameters": {"x": _Payload(marker)}, "epoch": 0,
                "global_step": 0}, path)
    return path


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "PWNED"
    live = _evil_checkpoint(tmp_path / "live.ckpt", marker)
    torch.load(live, weights_only=False)  # the payload works when unpickled ...
    assert marker.exists()
    marker.unlink()  # ... so its absence below means it was refused
    return _evil_checkpoint(tmp_path / "evil.ckpt", marker), marker


def test_load_lightning_checkpoint_refuses(evil):
    ckpt, marker = evil
    with pytest.raises(ValueError, match="evil.ckpt"):
        hub.load_lightning_checkpoint(ckpt)
    assert not marker.exists()


def test_publish_refuses(evil, tmp_path, monkeypatch):
    ckpt, marker = evil
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path / "published"))
    with pytest.raises(ValueError, match="evil.ckpt"):
        hub.publish(str(ckpt), "ising_cnn/evil")
    assert not marker.exists()
    assert not list((tmp_path / "published").rglob("*.json"))  # no card for what was refused


def test_init_weights_refuses(evil):
    from callbacks.init_weights import InitWeights

    ckpt, marker = evil

    class _Trainer:
        ckpt_path = None

    with pytest.raises(ValueError, match="evil.ckpt"):
        InitWeights(str(ckpt)).setup(_Trainer(), torch.nn.Linear(1, 1), "fit")
    assert not marker.exists()


def test_card_url_download_refuses_a_pickle(evil, tmp_path, monkeypatch):
    """The card is the attacker's too (its sha256 matches the payload): the weights format itself must refuse."""
    ckpt, marker = evil
    root = tmp_path / "cards"
    (root / "ising_cnn").mkdir(parents=True)
    sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    card = {"name": "ising_cnn/evil", "model": "ising_cnn", "init_args": {"L": 4}, "sha256": sha,
            "url": ckpt.as_uri()}
    (root / "ising_cnn" / "evil.json").write_text(json.dumps(card))
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(root))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        hub.load_pretrained("ising_cnn/evil")
    assert not marker.exists()


def test_zoo_fit_ckpt_path_refuses(evil, tmp_path, zoo_cmd, subprocess_env):
    ckpt, marker = evil
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({
        "trainer": {"max_epochs": 1, "logger": False, "enable_progress_bar": False, "enable_model_summary": False,
                    "default_root_dir": str(tmp_path / "run")},
        "model": {"class_path": "zoo.ising_cnn.IsingCNN",
                  "init_args": {"reducing_filters": 4, "nonreducing_filters": 4, "fc_width": 8}},
        "data": {"class_path": "datamodules.ising.IsingDataModule",
                 "init_args": {"L": 4, "n_samples": 200, "shard_size": 50, "eval_on": "all", "val_fraction": 0.0,
                               "test_fraction": 0.0, "batch_size": 64, "progress": False, "gen_workers": 1}}}))
    base = zoo_cmd + ["fit", "--config", str(cfg), "--ckpt_path", str(ckpt)]
    r = subprocess.run(base, env=subprocess_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "holds pickled objects" in r.stderr.splitlines()[-1], r.stderr[-3000:]
    r = subprocess.run(base + ["--weights_only", "false"], env=subprocess_env(), cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0 and "refuses" in r.stderr, r.stderr[-3000:]
    assert not marker.exists()
