"""Pretrained hub: publish -> list -> card -> verified load, checksum refusal before any
deserialization, download from a card url, unknown names, weights-only Lightning checkpoints."""
from __future__ import annotations

import functools
import http.server
import json
import shutil
import struct
import threading
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

import zoo
from datamodules.ising import IsingDataModule
from datamodules.physics import ising
from zoo import hub
from zoo.ising_cnn import IsingCNN


TINY = dict(L=4, reducing_filters=8, nonreducing_filters=4, fc_width=32, optimizer="adam",
            lr=1e-2, padding="circular")
DATA = dict(L=4, n_samples=300, shard_size=10, eval_on="all", val_fraction=0.0, test_fraction=0.0, batch_size=32,
            progress=False, gen_workers=1)
CARD_FIELDS = {"name", "model", "init_args", "config", "dataset", "metrics", "paper", "training", "versions",
               "sha256", "license"}


@pytest.fixture(scope="module")
def trained_ckpt(tmp_path_factory, zoo_data_dir):
    """A Lightning checkpoint of a tiny 4x4 classifier trained for one optimizer step."""
    root = tmp_path_factory.mktemp("ckpt")
    pl.seed_everything(0)
    model = IsingCNN(**TINY)
    dm = IsingDataModule(**DATA, data_dir=str(zoo_data_dir))  # module fixture: the autouse env is not set yet
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=True, default_root_dir=root,
                         limit_val_batches=0, num_sanity_val_steps=0, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(model, datamodule=dm)
    assert trainer.global_step == 1
    path = root / "tiny.ckpt"
    trainer.save_checkpoint(path)
    return path, model.eval()


@pytest.fixture
def published(trained_ckpt, tmp_path, monkeypatch):
    ckpt, model = trained_ckpt
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path / "checkpoints"))
    dm = IsingDataModule(**DATA)
    dataset = {"class_path": "datamodules.ising.IsingDataModule", "init_args": DATA, "recipe": dm.recipe(),
               "recipe_hash": dm.cache.hash}
    out = hub.publish(str(ckpt), "ising_cnn/tiny", config="configs/ising_cnn/4x4-classify.yaml", dataset=dataset,
                      paper=[{"metric": "accuracy_all_states", "value": 0.9988, "ref": "L1053"}],
                      metrics=[{"name": "accuracy_all_states", "value": 0.1, "split": "all 2^16 states",
                                "how": "argmax class == true level"}])
    return out, model


def test_publish_list_card_load(published, tmp_path):
    out, original = published
    assert out == tmp_path / "checkpoints" / "ising_cnn" / "tiny.safetensors"
    assert out.with_suffix(".json").exists()
    assert out.stat().st_mode & 0o777 == 0o644  # readable by everyone who shares the checkout, like the card
    assert zoo.list_pretrained() == ["ising_cnn/tiny"]
    assert zoo.list_pretrained("ising_cnn") == ["ising_cnn/tiny"]

    card = zoo.get_card("ising_cnn/tiny")
    assert CARD_FIELDS <= set(card)
    assert card["name"] == "ising_cnn/tiny" and card["model"] == "ising_cnn"
    assert card["init_args"] == {**dict(original.hparams)}
    assert all(isinstance(v, (int, float, str, bool, list, dict, type(None))) for v in card["init_args"].values())
    assert card["config"] == "configs/ising_cnn/4x4-classify.yaml"
    assert card["dataset"]["recipe_hash"] == IsingDataModule(**DATA).cache.hash
    assert card["paper"][0]["value"] == 0.9988
    assert card["metrics"][0]["name"] == "accuracy_all_states"
    assert card["training"]["global_step"] == 1 and "git_commit" in card["training"]
    assert {"torch", "pytorch_lightning", "python"} <= set(card["versions"])
    assert card["sha256"] == hub.sha256_file(out)
    assert card["license"] == "MIT"
    json.dumps(card)  # plain JSON all the way down

    model = zoo.load_pretrained("ising_cnn/tiny")
    assert isinstance(model, IsingCNN)
    assert not model.training
    assert model.card == card
    assert next(model.parameters()).device.type == "cpu"
    x = torch.as_tensor(ising.enumerate_configs(4)[::97], dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(model(x), original(x))
    for k, v in original.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_safetensors_file_is_not_a_pickle(published):
    out, original = published
    raw = out.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])  # little-endian u64 header length, then a JSON header
    assert raw[8:9] == b"{"
    assert 8 + n <= len(raw)
    header = json.loads(raw[8:8 + n])
    assert set(header) - {"__metadata__"} == set(original.state_dict())
    assert not raw.startswith(b"PK") and raw[:1] != b"\x80"  # neither torch's zip nor a raw pickle


def test_tampered_weights_raise_before_deserializing(published, monkeypatch):
    out, _ = published
    raw = bytearray(out.read_bytes())
    raw[-1] ^= 0x01
    out.write_bytes(bytes(raw))
    import safetensors.torch

    def forbidden(*a, **k):
        raise AssertionError("load_file must not be called on weights that fail their checksum")

    monkeypatch.setattr(safetensors.torch, "load_file", forbidden)
    with pytest.raises(hub.ChecksumError, match="sha256"):
        zoo.load_pretrained("ising_cnn/tiny")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_dir(tmp_path, monkeypatch):
    """A directory served over HTTP on 127.0.0.1 (random free port) from a thread."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def _set_url(card_path: Path, url: str) -> dict:
    card = json.loads(card_path.read_text())
    card["url"] = url
    card_path.write_text(json.dumps(card))
    return card


def test_download_from_card_url(published, http_dir, zoo_data_dir):
    out, original = published
    served, base = http_dir
    shutil.move(out, served / "tiny.safetensors")
    assert not out.exists()
    card = _set_url(out.with_suffix(".json"), f"{base}/tiny.safetensors")
    cache = zoo_data_dir / "weights" / f"{card['sha256']}.safetensors"
    if cache.exists():
        cache.unlink()
    model = zoo.load_pretrained("ising_cnn/tiny")
    assert cache.exists() and hub.sha256_file(cache) == card["sha256"]
    assert not list(cache.parent.glob("*.part"))
    for k, v in original.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    # a second load uses the cache: the server no longer has the file
    (served / "tiny.safetensors").unlink()
    assert zoo.load_pretrained("ising_cnn/tiny").card["sha256"] == card["sha256"]
    cache.unlink()


def test_download_with_wrong_bytes_raises_and_caches_nothing(published, http_dir, zoo_data_dir):
    out, _ = published
    served, base = http_dir
    raw = bytearray(out.read_bytes())
    out.unlink()
    raw[100] ^= 0xFF
    (served / "tiny.safetensors").write_bytes(bytes(raw))
    card = _set_url(out.with_suffix(".json"), f"{base}/tiny.safetensors")
    weights = zoo_data_dir / "weights"
    before = set(weights.iterdir()) if weights.exists() else set()
    with pytest.raises(hub.ChecksumError):
        zoo.load_pretrained("ising_cnn/tiny")
    assert set(weights.iterdir()) == before  # neither the bad file nor a partial download is left
    assert not (weights / f"{card['sha256']}.safetensors").exists()


def test_missing_weights_without_url(published):
    out, _ = published
    out.unlink()
    with pytest.raises(FileNotFoundError, match="no url"):
        zoo.load_pretrained("ising_cnn/tiny")


def test_unknown_names_suggest_closest(published, monkeypatch):
    out, _ = published
    # a second card under the real variant name, so there is a close match to suggest
    for suffix in (".safetensors", ".json"):
        shutil.copy(out.with_suffix(suffix), out.parent / f"8x8-classify{suffix}")
    assert zoo.list_pretrained("ising_cnn") == ["ising_cnn/8x8-classify", "ising_cnn/tiny"]
    with pytest.raises(KeyError, match="ising_cnn/8x8-classify") as e:
        zoo.load_pretrained("ising_cnn/8x8-clasify")
    assert "Did you mean 'ising_cnn/8x8-classify'" in str(e.value)
    with pytest.raises(KeyError, match="Did you mean 'ising_cnn'") as e:
        zoo.get_model_class("ising_cn")
    assert "Valid" in str(e.value)
    with pytest.raises(KeyError, match="ising_cnn"):
        zoo.list_pretrained("ising_cn")
    assert "ising_cnn" in zoo.list_models()
    assert zoo.get_model_class("ising_cnn") is IsingCNN


def test_publish_rejects_bad_names(trained_ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path))
    ckpt, _ = trained_ckpt
    with pytest.raises(ValueError, match="model/variant"):
        hub.publish(str(ckpt), "ising_cnn")
    with pytest.raises(KeyError, match="ising_cnn"):
        hub.publish(str(ckpt), "ising_cn/tiny")


def test_lightning_checkpoint_loads_weights_only(trained_ckpt):
    ckpt, model = trained_ckpt
    state = hub.load_lightning_checkpoint(ckpt)  # torch.load(weights_only=True) must succeed
    assert state["global_step"] == 1
    hp = state["hyper_parameters"]
    assert all(isinstance(v, (int, float, str, bool, type(None))) for v in hp.values()), hp  # JSON, no objects
    assert {k: hp[k] for k in TINY} == TINY
    for k, v in model.state_dict().items():
        assert torch.equal(state["state_dict"][k], v)
    # and plain torch.load with weights_only=True agrees (no pickled objects anywhere in the file)
    torch.load(ckpt, map_location="cpu", weights_only=True)


def test_publish_checkpoint_written_by_lightning_cli(trained_ckpt, tmp_path, monkeypatch):
    """LightningCLI (subclass mode) stores `_class_path` and `_instantiator` in the hyperparameters;
    publish must not pass them to the model's __init__, nor put them in the card."""
    ckpt, model = trained_ckpt
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    state["hyper_parameters"] = {"_class_path": "zoo.ising_cnn.IsingCNN", **state["hyper_parameters"],
                                 "_instantiator": "pytorch_lightning.cli.instantiate_module"}
    cli_ckpt = tmp_path / "cli.ckpt"
    torch.save(state, cli_ckpt)
    hub.load_lightning_checkpoint(cli_ckpt)
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path / "checkpoints"))
    hub.publish(str(cli_ckpt), "ising_cnn/from-cli")
    card = zoo.get_card("ising_cnn/from-cli")
    assert not any(k.startswith("_") for k in card["init_args"])
    loaded = zoo.load_pretrained("ising_cnn/from-cli")
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


def test_trainer_validate_keeps_loaded_weights():
    """Lightning calls `configure_model` at every Trainer entry point; ours builds once, so validating or
    testing a pretrained model evaluates its weights, not a re-initialised network."""
    import pytorch_lightning as pl
    import torch

    from datamodules.physics import ising

    m = zoo.load_pretrained("ising_cnn/4x4-classify")
    before = [p.detach().clone() for p in m.parameters()]
    s = ising.enumerate_configs(4)[::64]
    x = torch.as_tensor(s, dtype=torch.float32)
    y = torch.as_tensor(ising.energy_to_class(ising.energy(s), 4))
    dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=len(x))
    r = pl.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False,
                   enable_model_summary=False).validate(m, dl, verbose=False)
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
    assert r[0]["val/accuracy"] == 1.0  # the published 4x4 model classifies every state


def test_published_table_round_trip_and_checksum(tmp_path, monkeypatch, capsys):
    """A table card (e.g. a phase-diagram sweep) loads by name as named tensors, verified like weights."""
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path / "checkpoints"))
    mc = torch.rand(3, 5, dtype=torch.float64)
    out = hub.publish_table("ising_cnn/sweep-x", {"mc": mc, "ratios": torch.linspace(0.01, 1, 5)},
                            settings={"steps": 7}, source="python make_table.py", wall_time_s=1.5)
    assert "ising_cnn/sweep-x" in zoo.list_pretrained("ising_cnn") and out.stat().st_mode & 0o777 == 0o644
    t = zoo.load_pretrained("ising_cnn/sweep-x")
    assert isinstance(t, hub.PublishedTable) and t.card["kind"] == "table" and t.card["settings"] == {"steps": 7}
    torch.testing.assert_close(t["mc"], mc)
    from zoo.commands import main

    assert main(["evaluate", "ising_cnn/sweep-x"]) == 0
    assert "published table" in capsys.readouterr().out
    raw = bytearray(out.read_bytes())
    raw[-1] ^= 0x01
    out.write_bytes(bytes(raw))
    with pytest.raises(hub.ChecksumError):
        zoo.load_pretrained("ising_cnn/sweep-x")
    with pytest.raises(ValueError, match="model/variant"):
        hub.publish_table("ising_cnn", {"mc": mc}, settings={})


# --------------------------------------------------------------------------- cards name their class
def _card(**kw) -> dict:
    return {"name": "ising_cnn/x", "model": "ising_cnn", "init_args": {"L": 4}, **kw}


def test_card_names_its_class(published):
    card = zoo.get_card("ising_cnn/tiny")
    assert card["class_path"] == "zoo.ising_cnn.IsingCNN"
    cls, args = hub.card_class(card)
    assert cls is IsingCNN and args == card["init_args"]


@pytest.mark.parametrize("path, why", [
    ("os.system", "class in a zoo module"),                  # a card must not name arbitrary code ...
    ("builtins.eval", "class in a zoo module"),
    ("zoo.hub.publish", "not a model of 'ising_cnn'"),       # ... nor a zoo function ...
    ("zoo.rugan.RUGAN", "not a model of 'ising_cnn'"),       # ... nor another paper's model
    ("zoo.ising_cnn.Nope", "cannot be imported"),
])
def test_card_class_refuses_what_is_not_the_cards_model(path, why):
    with pytest.raises(ValueError, match=why):
        hub.card_class(_card(class_path=path))


def test_card_without_class_path_uses_the_registry():
    cls, args = hub.card_class(_card())
    assert cls is IsingCNN and args == {"L": 4}


def test_every_published_card_names_the_class_its_config_trains():
    """A card's class_path is the class `zoo fit --config <its config>` builds (so republishing makes it again)."""
    import json

    import yaml

    from zoo.paths import resolve_config

    cards = [json.loads(p.read_text()) for p in sorted(hub.checkpoints_root().glob("*/*.json"))]
    models = [c for c in cards if c.get("kind") != "table"]
    assert len(models) >= 30
    for card in models:
        cls, _ = hub.card_class(card)
        assert hub.class_path(cls) == card["class_path"], card["name"]
        cfg = yaml.safe_load(open(resolve_config(card["config"])))
        assert cfg["model"]["class_path"] == card["class_path"], card["name"]
