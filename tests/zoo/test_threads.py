"""The thread plan the `zoo` command applies: capped by usable CPUs, divided among local ranks, OMP_NUM_THREADS
left alone, a warning for OMP_WAIT_POLICY=PASSIVE."""
from __future__ import annotations

import pytest
import torch

from zoo.threads import configure_threads, thread_plan, usable_cpus


def test_plan_divides_usable_cpus_among_local_ranks():
    n = usable_cpus()
    assert n >= 1
    assert thread_plan({}, torch_default=64)["threads"] == n  # a 64-core default is capped by what we may use
    assert thread_plan({}, torch_default=1)["threads"] == 1
    assert thread_plan({"LOCAL_WORLD_SIZE": str(2 * n)}, torch_default=64)["threads"] == 1  # never 0
    if n >= 2:
        assert thread_plan({"LOCAL_WORLD_SIZE": "2"}, torch_default=n)["threads"] == n // 2


def test_explicit_omp_num_threads_is_the_users_and_passive_warns():
    assert thread_plan({"OMP_NUM_THREADS": "3"}, torch_default=8) == {"threads": None, "warn": None}
    plan = thread_plan({"OMP_WAIT_POLICY": "passive"}, torch_default=2)
    assert "OMP_WAIT_POLICY=PASSIVE" in plan["warn"] and plan["threads"] is not None


def test_configure_threads_applies_the_plan(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    try:
        with pytest.warns(RuntimeWarning, match="PASSIVE"):
            plan = configure_threads()
        assert torch.get_num_threads() == plan["threads"]
    finally:
        torch.set_num_threads(before)
