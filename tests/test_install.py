"""The zoo as a user installs it: a wheel (not editable) in a fresh virtual environment, used from a folder outside
the checkout.  Every published checkpoint and config must come with the wheel.

The fresh environment reuses this one's installed dependencies (torch, Lightning, ...) through a `.pth` line, so the
test does not download or copy a GB of wheels; `.pth` files inside that folder are not processed, so this checkout's
editable install is invisible there, and the test checks that `zoo` is imported from the fresh environment.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZOO_CHECKPOINTS", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", WANDB_MODE="disabled", **extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, zoo command, a working folder outside the checkout) of a fresh venv holding only our wheel."""
    root = tmp_path_factory.mktemp("install")
    wheels = root / "wheels"
    # build from a copy: setuptools writes build/ and *.egg-info into the source folder, which is the checkout
    src = root / "src"
    top = {".git", ".venv", "runs", "build", "reports", "benchmarks", "tests", "logs", "wandb"}
    shutil.copytree(REPO, src, ignore=lambda d, names: [n for n in names if n == "__pycache__" or n.endswith(
        ".egg-info") or (Path(d) == REPO and n in top)])
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                        str(wheels), str(src)], capture_output=True, text=True, timeout=300, cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = wheels.glob("physics_zoo-*.whl")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                           text=True).strip())
    (purelib / "_zoo_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                        str(wheel)], capture_output=True, text=True, timeout=300, cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    work = root / "elsewhere"
    work.mkdir()
    return py, env_dir / "bin" / "zoo", work


def _run(cmd, cwd, ok=True, **env):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=400)
    if ok:
        assert r.returncode == 0, f"{cmd}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-5000:]}"
    return r


def test_every_package_is_in_the_wheel():
    """pyproject lists its packages by hand (checkpoints and configs map in from the top of the checkout): a new
    package under zoo/, datamodules/ or callbacks/ must be added there, or an installed zoo cannot import it."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {p.parent.relative_to(REPO).as_posix().replace("/", ".")
             for top in ("zoo", "datamodules", "callbacks") for p in (REPO / top).rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)


def _published_in_checkout() -> list[str]:
    return sorted(f"{p.parent.name}/{p.stem}" for p in (REPO / "checkpoints").glob("*/*.json"))


def test_wheel_carries_every_checkpoint_and_loads_each(installed):
    py, zoo, work = installed
    script = ("import json, zoo, datamodules, callbacks\n"
              "names = zoo.list_pretrained()\n"
              "loaded = {n: type(zoo.load_pretrained(n)).__name__ for n in names}\n"
              "print(json.dumps({'zoo': zoo.__file__, 'datamodules': datamodules.__file__, 'loaded': loaded}))\n")
    out = json.loads(_run([py, "-c", script], work).stdout.strip().splitlines()[-1])
    venv_dir = str(py.parent.parent)
    assert out["zoo"].startswith(venv_dir) and out["datamodules"].startswith(venv_dir), out  # not this checkout
    assert sorted(out["loaded"]) == _published_in_checkout()
    listed = _run([zoo, "pretrained"], work).stdout
    assert all(n in listed for n in _published_in_checkout())
    meta = _run([py, "-c", "from importlib.metadata import metadata; print(metadata('physics-zoo'))"], work).stdout
    assert {"tensorboard", "test"} <= {line.split(": ", 1)[1] for line in meta.splitlines()
                                       if line.startswith("Provides-Extra: ")}


def test_installed_config_by_name_trains_and_prints(installed):
    py, zoo, work = installed
    text = _run([zoo, "config", "ising_cnn/8x8-classify"], work).stdout
    assert text == (REPO / "configs/ising_cnn/8x8-classify.yaml").read_text()
    assert "ising_cnn/demo" in _run([zoo, "config"], work).stdout.split()
    run = work / "run"
    _run([zoo, "fit", "--config", "ising_cnn/demo", "--trainer.max_epochs", "1", "--trainer.logger", "false",
          "--trainer.default_root_dir", run, "--trainer.enable_progress_bar", "false",
          "--data.init_args.n_samples", "600", "--data.init_args.progress", "false"], work)
    assert list(run.rglob("*.ckpt")), "no checkpoint written under --trainer.default_root_dir"


def test_installed_evaluate_writes_nothing_unless_asked(installed):
    py, zoo, work = installed
    before = sorted(work.rglob("*"))
    out = _run([zoo, "evaluate", "ntk_gan/8gauss-trivial"], work).stdout
    assert "re-measured on fresh data" in out and "(stored)" in out and "energy_distance" in out
    assert sorted(work.rglob("*")) == before
    _run([zoo, "evaluate", "ntk_gan/8gauss-trivial", "--out", work / "eval"], work)
    saved = json.loads((work / "eval" / "ntk_gan__8gauss-trivial.json").read_text())
    assert saved["name"] == "ntk_gan/8gauss-trivial" and saved["metrics"]
    # a report needs a folder to go to: outside a checkout none is assumed
    r = _run([zoo, "reproduce", "ising_cnn"], work, ok=False)
    assert r.returncode == 2 and "--out" in r.stderr
    assert not (work / "reports").exists() and not (work / "REPRODUCTION.md").exists()


def test_installed_without_checkpoints_says_where_it_looked(installed, tmp_path):
    py, zoo, work = installed
    empty = tmp_path / "none"
    empty.mkdir()
    r = _run([zoo, "pretrained"], work, ok=False, ZOO_CHECKPOINTS=str(empty))
    assert r.returncode == 1 and str(empty) in r.stderr and "ZOO_CHECKPOINTS" in r.stderr
    r = _run([py, "-c", "import zoo; zoo.load_pretrained('ising_cnn/8x8-classify')"], work, ok=False,
             ZOO_CHECKPOINTS=str(empty))
    assert r.returncode != 0 and str(empty) in r.stderr and "ZOO_CHECKPOINTS" in r.stderr
    # publishing into the installed package is refused (the wheel's files are the release)
    r = _run([py, "-c", "from zoo import hub; hub.publish('x.ckpt', 'ising_cnn/mine')"], work, ok=False)
    assert "ZOO_CHECKPOINTS" in r.stderr and "installed package" in r.stderr
