"""Shared test setup: a throwaway dataset cache and W&B switched off for every test.

ZOO_CHECKPOINTS is deliberately NOT overridden here: tests that need a fake checkpoint
directory set it themselves (monkeypatch.setenv), the others load the real published
checkpoints from checkpoints/.
"""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def zoo_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("zoo_data")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One torch thread per test in each xdist worker, as OMP_NUM_THREADS=1 gives the subprocesses: in-process CLI
    runs set the worker's count to the usable CPUs (zoo.threads), and 2 threads per worker on 2 cores ran tiny-network
    tests 5-20x slower (83 s vs 8 s measured).  Restored after each test; tests of the thread settings set their own."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _zoo_env(zoo_data_dir, monkeypatch):
    monkeypatch.setenv("ZOO_DATA_DIR", str(zoo_data_dir))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    yield


def _subprocess_env(**extra) -> dict:
    """Environment for `python -m zoo.cli ...` children: the repo on PYTHONPATH, one thread each
    (two background trainings share the CPU), plus `extra`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def subprocess_env():
    """Call it (with optional overrides) to get the environment for a child process."""
    return _subprocess_env


@pytest.fixture
def free_port():
    """Call it to get a free TCP port on 127.0.0.1."""
    return _free_port


@pytest.fixture
def zoo_cmd():
    """argv prefix of the `zoo` command run from source."""
    return [sys.executable, "-m", "zoo.cli"]
