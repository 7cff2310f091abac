"""Bad input to the `zoo` command and the hub: one clear line that names the argument, in-process (no training)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

import zoo
from zoo import cli, hub
from zoo.paths import card_config, configs_root, list_configs, resolve_config

REPO = Path(__file__).resolve().parent.parent
DEMO = str(REPO / "configs/ising_cnn/demo.yaml")


def _zoo(argv, capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("extra, first_line", [
    (["--model.init_args.lr", "abc"], "zoo: error: model.lr: Expected a <class 'float'>. Got value: abc"),
    (["--data.init_args.batch_size", "x"], "zoo: error: data.batch_size: Expected a <class 'int'>. Got value: x"),
    (["--model.init_args.nonexistent", "3"], "zoo: error: model: Option 'nonexistent' is not accepted"),
    # argparse would take a unique prefix: --trainer.max_epoch must not silently become max_epochs
    (["--trainer.max_epoch", "1"], "zoo: error: unrecognized arguments: --trainer.max_epoch 1"),
])
def test_cli_value_errors_lead_with_their_cause(extra, first_line, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _zoo(["fit", "--config", DEMO, *extra], capsys)
    assert code == 2
    assert err.splitlines()[0] == first_line
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_first_cause_of_a_nested_report():
    msg = ('Parser key "model":\n  Does not validate against any of the Union subtypes\n  Subtypes: [...]\n'
           '  Errors:\n    - Problem with given class_path \'zoo.ising_cnn.IsingCNN\':\n'
           '        Parser key "lr":\n          Expected a <class \'float\'>. Got value: abc\n'
           '    - Expected a <class \'NoneType\'>\n  Given value type: x\n')
    assert cli.first_cause(msg) == "model.lr: Expected a <class 'float'>. Got value: abc"
    assert cli.first_cause("unrecognized arguments: --x 1") == "unrecognized arguments: --x 1"


def test_config_by_name(capsys):
    assert "ising_cnn/8x8-classify" in list_configs()
    for arg in ("ising_cnn/8x8-classify", "ising_cnn/8x8-classify.yaml", "configs/ising_cnn/8x8-classify.yaml"):
        assert Path(resolve_config(arg)).resolve() == configs_root() / "ising_cnn/8x8-classify.yaml"
        # a card names its config the same way however `zoo publish --config` was given it
        assert card_config(arg) == "configs/ising_cnn/8x8-classify.yaml"
    assert card_config(str(configs_root() / "ising_cnn/8x8-classify.yaml")) == "configs/ising_cnn/8x8-classify.yaml"
    with pytest.raises(ValueError, match=r"--config: 'ising_cnn/8x8-clasify'.*Did you mean 'ising_cnn/8x8-classify'"):
        resolve_config("ising_cnn/8x8-clasify")
    code, out, _ = _zoo(["config", "ising_cnn/demo"], capsys)
    assert code == 0 and out == Path(DEMO).read_text()
    code, _, err = _zoo(["data", "generate", "--config", "nope/missing"], capsys)
    assert code == 2 and err.startswith("zoo: error: --config: 'nope/missing'")
    code, _, err = _zoo(["fit", "--config", "nope/missing"], capsys)
    assert code == 2 and err.startswith("zoo: error: --config: 'nope/missing'")


def _copy_card(tmp_path, name="ising_cnn/4x4-classify") -> Path:
    root = tmp_path / "ck"
    (root / "ising_cnn").mkdir(parents=True)
    for ext in (".json", ".safetensors"):
        shutil.copy(REPO / "checkpoints" / f"{name}{ext}", root / f"{name}{ext}")
    return root


def test_card_with_bad_json_or_no_sha256_names_the_file(tmp_path, monkeypatch):
    root = _copy_card(tmp_path)
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(root))
    card_file = root / "ising_cnn/4x4-classify.json"
    card = json.loads(card_file.read_text())
    assert zoo.load_pretrained("ising_cnn/4x4-classify").card["sha256"] == card["sha256"]  # the copy is good
    card_file.write_text(card_file.read_text()[:-20])
    with pytest.raises(ValueError, match=r"4x4-classify\.json.*not readable JSON"):
        zoo.load_pretrained("ising_cnn/4x4-classify")
    del card["sha256"]
    card_file.write_text(json.dumps(card))
    with pytest.raises(ValueError, match=r"4x4-classify\.json.*no valid 'sha256'"):
        zoo.load_pretrained("ising_cnn/4x4-classify")


def test_map_location_without_the_device():
    if torch.cuda.is_available():  # on a GPU machine, ask for one device more than it has
        bad = f"cuda:{torch.cuda.device_count()}"
    else:
        bad = "cuda"
    with pytest.raises(ValueError, match="map_location"):
        zoo.load_pretrained("ising_cnn/4x4-classify", map_location=bad)
    with pytest.raises(ValueError, match="map_location"):
        zoo.load_pretrained("ising_cnn/4x4-classify", map_location="gpu0")


def test_no_checkpoints_says_where_and_exits_nonzero(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path / "empty"))
    assert zoo.list_pretrained() == []
    with pytest.raises(KeyError, match=r"ZOO_CHECKPOINTS"):
        zoo.load_pretrained("ising_cnn/8x8-classify")
    code, _, err = _zoo(["pretrained"], capsys)
    assert code == 1 and str(tmp_path / "empty") in err


def test_publish_does_not_replace_unless_asked(tmp_path, monkeypatch):
    root = _copy_card(tmp_path)
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(root))
    before = (root / "ising_cnn/4x4-classify.safetensors").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        hub.publish(str(tmp_path / "any.ckpt"), "ising_cnn/4x4-classify")
    assert (root / "ising_cnn/4x4-classify.safetensors").read_bytes() == before
    for bad in ("ising_cnn/../x", "ising_cnn/a/b", "ising_cnn/"):
        with pytest.raises(ValueError, match="name must be 'model/variant'"):
            hub.publish(str(tmp_path / "any.ckpt"), bad)


def test_evaluate_marks_stored_statistics(capsys, monkeypatch, tmp_path):
    """The MBL clusterer's card holds statistics of its fit; `zoo evaluate` must not present them as re-measured."""
    from zoo import commands

    monkeypatch.setattr(commands, "evaluate", lambda n, seed, out_dir=None: (
        {"metrics": [{"name": "rate", "value": 1.0}, {"name": "acc", "value": 0.5}], "paper": [], "sha256": "0"},
        [{"name": "rate", "value": 1.0, "stored": True}, {"name": "acc", "value": 0.6}]))
    monkeypatch.chdir(tmp_path)
    code, out, _ = _zoo(["evaluate", "mbl/clusterer-L8"], capsys)
    assert code == 0
    assert "1 metric(s) re-measured on fresh data; 1 marked (stored)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()[:1] in (["rate"], ["acc"])}
    assert rows["rate"][2] == "(stored)" and rows["acc"][2] == "0.6"
    assert list(tmp_path.iterdir()) == []  # evaluate printed and wrote nothing


def test_tables_are_not_presented_as_remeasured(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    name = next(n for n in zoo.list_pretrained("ntk_gan") if zoo.get_card(n).get("kind") == "table")
    code, out, _ = _zoo(["evaluate", name], capsys)
    assert code == 0 and "stored statistics" in out and "re-measured" not in out


def test_reproduce_quick_never_replaces_the_full_report():
    from zoo.reports import reports_dir

    assert reports_dir() == REPO / "reports"
    assert reports_dir(quick=True) == REPO / "reports" / "quick"
    assert "reports/quick/" in (REPO / ".gitignore").read_text().split()


def test_gans_get_the_ddp_strategy_they_need():
    """`--trainer.strategy ddp` on a GAN would stop at DDP's unused-parameter check (tests/test_ddp.py trains every
    family, the GANs with the strategy chosen here)."""
    from zoo.ntk_gan import ParticleGAN
    from zoo.rugan import RUGAN

    for gan in (RUGAN, ParticleGAN):
        assert cli.ddp_strategy_for(gan, "ddp") == "ddp_find_unused_parameters_true"
        assert cli.ddp_strategy_for(gan, "auto") == "auto"
    from zoo.ising_cnn import IsingCNN

    assert cli.ddp_strategy_for(IsingCNN, "ddp") == "ddp"
