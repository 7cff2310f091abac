"""DDP with validation and test on, every family trained with Trainer.fit (tests/ddp_families.py): one torchrun launch
of 2 gloo ranks fits, validates and tests each family; then one process validates and tests rank 0's weights on the
same data.  Checked per family and stage:

* the replicas stay identical (same weights hash on both ranks, not the initial one) and took the same optimizer
  steps - for the GANs, critic and generator steps in lockstep;
* each metric logged under DDP equals the metric recomputed in one process from the union of what both ranks fed it
  (exactly for medians: the median of the same gathered set);
* nothing was evaluated twice or dropped (DistributedSampler padding): the ranks together saw as many samples as the
  1-process run, whose logged metrics agree within TOL (the forward pass runs on other batch compositions, so float32
  rounding can differ by a few ulps; the GANs' generated half is random, so there only the real-data half is compared).
"""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
TOL = dict(rel=1e-5, abs=1e-6)  # float32 forward of a few layers on differently composed batches


def _families_module():
    spec = importlib.util.spec_from_file_location("ddp_families", HERE / "ddp_families.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ddp_every_family(tmp_path, subprocess_env, free_port, zoo_data_dir):
    """One test (one launch: process start and imports dominate the cost of these tiny fits)."""
    runs = _launch(tmp_path / "ddp", subprocess_env, free_port, zoo_data_dir)
    for stage in ("validate", "test"):
        _check_metrics(runs, stage)
    _check_replicas_and_lockstep(runs)


def _launch(out, subprocess_env, free_port, zoo_data_dir):
    env = subprocess_env(ZOO_DATA_DIR=zoo_data_dir, WANDB_MODE="disabled")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), str(HERE / "ddp_families.py"), "ddp", str(out)]
    r = subprocess.run(cmd, env=env, cwd=HERE.parent, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    mod = _families_module()
    mod.run("ref", out)
    return out, list(mod._families()), mod.GANS


def _load(out, name):
    return [json.loads((out / f"{name}.{k}.json").read_text()) for k in ("0", "1", "ref")]


def _n_samples(records: dict, key: str) -> int:
    """Samples a metric was fed: per-sample updates count their rows; a batch-mean update (the eval loss,
    `ZooTask.log_eval_loss`) counts its weight, the batch size."""
    return sum(len(args[0][1]) if isinstance(args[0][1], list) else int(args[1][1]) for args in records.get(key, []))


def _check_metrics(runs, stage):
    out, names, gans = runs
    for name in names:
        r0, r1, ref = _load(out, name)
        assert (r0["world"], r1["world"], r0["rank"], r1["rank"]) == (2, 2, 0, 1)
        assert r0[stage]["metrics"] == r1[stage]["metrics"], name  # every rank logs the global value
        union = ref["union"][stage]
        for mname, value in union.items():
            logged = r0[stage]["metrics"][mname if mname.startswith("val/") else _logged_key(mname, stage)]
            if "median" in mname:  # exact: Lightning logs float32, so the float64 recomputation is rounded once
                assert logged == float(np.float32(value)), (name, mname, logged, value)
            else:
                assert logged == pytest.approx(value, **TOL), (name, mname)
        for key in set(r0[stage]["records"]) | set(ref[stage]["records"]):
            n_ddp = _n_samples(r0[stage]["records"], key) + _n_samples(r1[stage]["records"], key)
            assert n_ddp == _n_samples(ref[stage]["records"], key) > 0, (name, key, "padded or dropped samples")
        if name in gans:  # generated half random: compare the real half (labels, real-data observables)
            real = (0, 1, 2) if name == "rugan_T" else (2, 3)
            rows = lambda rs: sorted(tuple(row[c] for c in real) for r in rs for args in r[stage]["records"].get(
                "eval_rows", []) for row in args[0][1])  # noqa: E731
            assert rows([r0, r1]) == rows([ref]), name
        else:
            assert ref[stage]["metrics"].keys() == r0[stage]["metrics"].keys(), name
            for k, v in ref[stage]["metrics"].items():
                assert math.isfinite(v) and r0[stage]["metrics"][k] == pytest.approx(v, **TOL), (name, k)
    assert any(_load(out, n)[0][stage]["metrics"] for n in names)


def _logged_key(module_name: str, stage: str) -> str:
    """'val_metrics.median_abs_error' -> 'val/median_abs_error' (the MetricCollection prefix); 'eval_loss.val' ->
    'val/loss' (ZooTask.log_eval_loss)."""
    coll, metric = module_name.split(".", 1)
    if coll == "eval_loss":
        return f"{metric}/loss"
    return f"{coll.split('_')[0]}/{metric}"


def _check_replicas_and_lockstep(runs):
    out, names, gans = runs
    for name in names:
        r0, r1, ref = _load(out, name)
        assert r0["weights_hash"] == r1["weights_hash"] == ref["weights_hash"] != r0["init_hash"], name
        assert r0["steps"] == r1["steps"], name
        if name in ("rugan_T", "rugan_em"):  # [generator, critic]: a critic step per batch, generator every n_critic
            assert r0["steps"] == [2, 4], name
        elif name == "ntk_gan":  # [critic, particles]: the same with n_disc = 2
            assert r0["steps"] == [4, 2], name
        elif name == "cool":  # PPO: ppo_epochs (4) optimizer steps on each batch of episodes
            assert r0["steps"] == [4 * 4], name
        else:
            assert r0["steps"] == [4], name
