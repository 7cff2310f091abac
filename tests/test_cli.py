"""The `zoo` command end to end: LightningCLI verbs with our configs (every config gets a fast_dev_run, in-process
through the command's entry point), our own verbs in subprocesses, and `zoo data generate` alone and under torchrun."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted(REPO.glob("configs/**/*.yaml"))


def run(cmd, env, cwd, timeout=300):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def ok(r) -> str:
    assert r.returncode == 0, f"exit {r.returncode}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-5000:]}"
    return r.stdout


def test_configs_exist():
    names = {p.relative_to(REPO / "configs").as_posix() for p in CONFIGS}
    assert {"ising_cnn/4x4-classify.yaml", "ising_cnn/8x8-classify.yaml", "ising_cnn/8x8-energy.yaml",
            "ising_cnn/8x8-magnetization.yaml", "ising_cnn/4x4-classify-random.yaml"} <= names


@pytest.mark.parametrize("config", CONFIGS, ids=[p.relative_to(REPO / "configs").as_posix() for p in CONFIGS])
def test_every_config_states_its_precision_and_why(config):
    """issue 16: the precision is a choice per config, validated per family; the line above it says why."""
    text = config.read_text()
    prec = (yaml.safe_load(text).get("trainer") or {}).get("precision")
    assert str(prec) in {"32-true", "bf16-mixed", "64-true"}, f"{config}: trainer.precision missing or unexpected"
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("precision:"))
    assert lines[i - 1].strip().startswith("#"), f"{config}: say why this precision in a comment above it"


def test_print_config(zoo_cmd, subprocess_env, tmp_path):
    out = ok(run(zoo_cmd + ["fit", "--print_config", "--config", str(REPO / "configs/ising_cnn/8x8-classify.yaml")],
                 subprocess_env(), tmp_path))
    assert "IsingCNN" in out
    cfg = yaml.safe_load(out)
    assert cfg["model"]["class_path"] == "zoo.ising_cnn.IsingCNN"
    assert cfg["model"]["init_args"]["padding"] == "circular"
    assert cfg["data"]["init_args"]["L"] == 8
    # model L is not repeated in the config: zoo fit copies data.init_args.L into it at instantiation
    # (DataModule.model_links); the fast_dev_run tests below check the instantiated model got it
    assert cfg["model"]["init_args"]["L"] is None


def test_typo_key_fails_naming_it(tmp_path, monkeypatch, capsys):
    # in-process: the parse fails before anything is built (a subprocess only added ~10 s of imports)
    from zoo import cli

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli.main(["fit", "--config", str(REPO / "configs/ising_cnn/8x8-classify.yaml"), "--model.init_args.lrr", "0.1"])
    assert e.value.code != 0
    assert "lrr" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing was trained


def _load_tiny() -> dict:
    """Per data class: (tiny-data overrides, the model the config should build once the data facts
    are linked), one file per paper in tests/cli_tiny/ (each defines TINY = {class_path: (tiny, model)})."""
    import importlib.util

    out = {}
    for f in sorted((Path(__file__).parent / "cli_tiny").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"cli_tiny_{f.stem}", f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out.update(mod.TINY)
    return out


TINY = _load_tiny()


@pytest.fixture
def zoo_in_process(monkeypatch, tmp_path, capfd):
    """Run `zoo <argv>` in this test's process: `zoo.cli.main`, the `zoo` command's own entry point, from `tmp_path`,
    at one thread (as OMP_NUM_THREADS=1 gives the subprocesses), returning (exit code, what it printed and logged).
    In-process because a fresh `python -m zoo.cli` spends ~4.5 of a fast_dev_run's ~7 s importing torch and Lightning
    (measured with -X importtime), 51 times.  The environment (Lightning's seed variables) and the working directory
    are restored after."""
    import logging
    import os
    from io import StringIO

    from zoo import cli

    saved_env = dict(os.environ)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # zoo.threads leaves an explicit count alone
    monkeypatch.setattr(sys, "argv", ["zoo"])  # not pytest's: LightningCLI would see them beside the args
    logged = StringIO()
    handler = logging.StreamHandler(logged)
    # Lightning logs through these (and stops propagating to root when root had no handler at its import)
    loggers = [logging.getLogger(n) for n in ("pytorch_lightning", "lightning_fabric")]

    def call(argv: list[str]) -> tuple[int, str]:
        for lg in loggers:
            lg.addHandler(handler)
        try:
            code = cli.main(argv)
        finally:
            for lg in loggers:
                lg.removeHandler(handler)
        out, err = capfd.readouterr()
        return code, out + err + logged.getvalue()

    yield call
    os.environ.clear()
    os.environ.update(saved_env)


@pytest.mark.parametrize("config", CONFIGS, ids=[p.relative_to(REPO / "configs").as_posix() for p in CONFIGS])
def test_every_config_fast_dev_run(config, zoo_in_process, tmp_path):
    """Each config, with its model and trainer as written, on a tiny version of its data."""
    cfg = yaml.safe_load(config.read_text())
    data_cls, data = cfg["data"]["class_path"], cfg["data"]["init_args"]
    assert data_cls in TINY, f"add tiny-data overrides for {data_cls} in tests/cli_tiny/"
    tiny_args, expected_model = TINY[data_cls]
    tiny = [*tiny_args(data), "--data.init_args.progress", "false"]
    if cfg.get("ckpt_path"):  # a second-stage config resumes a real run's checkpoint: smoke-test it from scratch
        tiny += ["--ckpt_path", "null"]
    callbacks = (cfg.get("trainer") or {}).get("callbacks") or []
    if any(c.get("class_path", "").endswith("InitWeights") for c in callbacks):
        # a second stage that starts from a real run's weights: smoke-test it from scratch, the rest as written
        cfg["trainer"]["callbacks"] = [c for c in callbacks if not c.get("class_path", "").endswith("InitWeights")]
        config = tmp_path / config.name
        config.write_text(yaml.safe_dump(cfg))
    code, log = zoo_in_process(["fit", "--config", str(config), "--trainer.fast_dev_run", "true",
                                "--trainer.default_root_dir", str(tmp_path / "root"), *tiny])
    assert code == 0, log[-5000:]
    assert "Running in `fast_dev_run` mode" in log
    # the config's precision is the one the run used (bf16 autocast announces itself)
    assert ("bfloat16 Automatic Mixed Precision" in log) == str(cfg["trainer"]["precision"]).startswith("bf16")
    # the model summary proves the model was built for the data's L / grid (linked, not repeated in the
    # config): an unlinked model would fail (L / grid is required) or, given another value, have another
    # parameter count
    from pytorch_lightning.utilities.model_summary.model_summary import get_human_readable_count

    n = sum(p.numel() for p in expected_model(cfg["model"]["init_args"], data).parameters())
    count = re.escape(get_human_readable_count(n))
    # Lightning prints "N  Total params", or "Total params: N" when `rich` is installed (NetKet brings it)
    assert re.search(rf"^{count}\s+Total params|Total params: {count}\b", log, re.M), log[-3000:]
    # a smoke test writes no checkpoint: it must not overwrite the last.ckpt of a real run in the
    # config's (relative) dirpath
    assert not list(tmp_path.rglob("*.ckpt"))


def test_models_lists_ising_cnn(zoo_cmd, subprocess_env, tmp_path):
    out = ok(run(zoo_cmd + ["models"], subprocess_env(), tmp_path))
    assert "ising_cnn" in out.split()


def test_pretrained_unknown_model_lists_valid(zoo_cmd, subprocess_env, tmp_path):
    r = run(zoo_cmd + ["pretrained", "nonexistent_model"], subprocess_env(), tmp_path)
    assert r.returncode != 0
    assert "Valid" in r.stderr and "ising_cnn" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_verb_fails(zoo_cmd, subprocess_env, tmp_path):
    r = run(zoo_cmd + ["trian"], subprocess_env(), tmp_path)
    assert r.returncode != 0 and "invalid choice" in r.stderr


def _tiny_data_config(path: Path) -> Path:
    path.write_text(yaml.safe_dump({"data": {"class_path": "datamodules.ising.IsingDataModule", "init_args": {
        "L": 8, "sampling": "targeted", "n_samples": 630, "shard_size": 2, "progress": False, "gen_workers": 1}}}))
    return path


def test_data_generate_single_and_torchrun_identical(zoo_cmd, subprocess_env, free_port, tmp_path):
    cfg = _tiny_data_config(tmp_path / "data.yaml")
    one, two = tmp_path / "one", tmp_path / "two"
    out = ok(run(zoo_cmd + ["data", "generate", "--config", str(cfg)], subprocess_env(ZOO_DATA_DIR=one), tmp_path))
    assert "rank 0/1: wrote 5 shard(s)" in out
    (entry,) = one.iterdir()
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["n_shards"] == 5 and len(manifest["shards"]) == 5  # 10 per level in shards of 2
    assert (entry / "recipe.json").exists()

    r = run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr", "127.0.0.1",
             "--master_port", str(free_port()), "-m", "zoo.cli", "data", "generate", "--config", str(cfg)],
            subprocess_env(ZOO_DATA_DIR=two), tmp_path)
    out2 = ok(r)
    assert "rank 0/2: wrote 3 shard(s)" in out2 and "rank 1/2: wrote 2 shard(s)" in out2
    (entry2,) = two.iterdir()
    assert entry2.name == entry.name
    files1 = sorted(p.name for p in entry.iterdir())
    files2 = sorted(p.name for p in entry2.iterdir())
    assert files1 == files2
    assert not [f for f in files1 if f.endswith(".tmp")]
    for name in files1:
        assert (entry / name).read_bytes() == (entry2 / name).read_bytes(), name

    # the generated entry is what the DataModule then uses, without regenerating
    from datamodules.ising import IsingDataModule

    dm = IsingDataModule(L=8, sampling="targeted", n_samples=630, shard_size=2, progress=False, data_dir=str(two))
    assert dm.cache.dir == entry2 and dm.cache.is_complete()


def test_resolved_config_is_logged_to_the_run(zoo_cmd, subprocess_env, tmp_path):
    """The full resolved config (not just the model's hyperparameters) reaches the attached logger."""
    r = run(zoo_cmd + ["fit", "--config", str(REPO / "configs/ising_cnn/demo.yaml"),
                       "--trainer.logger", "pytorch_lightning.loggers.CSVLogger",
                       "--trainer.logger.save_dir", str(tmp_path / "csv"),
                       "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
                       "--trainer.limit_val_batches", "1", "--data.init_args.n_samples", "150",
                       "--data.init_args.shard_size", "10", "--data.init_args.progress", "false"],
            subprocess_env(), tmp_path)
    ok(r)
    hp = yaml.safe_load(next((tmp_path / "csv").rglob("hparams.yaml")).read_text())
    cfg = hp["config"]
    assert cfg["data"]["init_args"]["n_samples"] == 150  # the command-line override, resolved
    assert cfg["model"]["class_path"] == "zoo.ising_cnn.IsingCNN"
    assert cfg["trainer"]["max_epochs"] == 1
