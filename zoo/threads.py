"""CPU thread settings the `zoo` command applies before Lightning starts (measured: benchmarks/perf_threads.py).

- Intra-op threads: torch's default (one per physical core) capped by the CPUs this process may use (affinity mask,
  cgroup quota: a container limited to 2 CPUs on a 64-core host would otherwise start 64 threads) and divided among
  the processes of one node (`LOCAL_WORLD_SIZE`, set by torchrun) so DDP ranks do not oversubscribe the cores.
  An explicit OMP_NUM_THREADS is the user's choice and is left alone.
- OMP_WAIT_POLICY=PASSIVE (set by some HPC profiles and benchmark scripts) makes idle OpenMP threads sleep at once;
  every small operation then pays a wake-up.  Measured on a 2-core machine (benchmarks/results/threads.json): an
  Ising CNN bf16 train step 15.9 ms on 2 threads by default, 25.7 ms with PASSIVE, slower than 1 thread (21.0 ms);
  fp32 20.8 vs 28.2 ms.  (An earlier run on a busier machine gave 144 ms with PASSIVE.)  It must be set before the
  OpenMP runtime starts, so the CLI cannot undo it: it warns.
"""
from __future__ import annotations

import math
import os
import warnings


def usable_cpus() -> int:
    """CPUs this process may run on: the affinity mask, capped by a cgroup v2 CPU quota."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def thread_plan(environ=None, torch_default: int | None = None) -> dict:
    """What `configure_threads` would do, as data: {"threads": int or None (leave alone), "warn": str or None}."""
    env = os.environ if environ is None else environ
    warn = None
    if env.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE":
        warn = ("OMP_WAIT_POLICY=PASSIVE makes multi-threaded CPU training slower for small networks (an Ising CNN "
                "bf16 step took 25.7 ms on 2 threads vs 15.9 ms without it, and 21.0 ms on 1 thread); unset it "
                "before running zoo")
    if "OMP_NUM_THREADS" in env:
        return {"threads": None, "warn": warn}
    if torch_default is None:
        import torch

        torch_default = torch.get_num_threads()
    try:
        local = max(1, int(env.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    return {"threads": max(1, min(torch_default, usable_cpus()) // local), "warn": warn}


def configure_threads() -> dict:
    plan = thread_plan()
    if plan["warn"]:
        warnings.warn(plan["warn"], RuntimeWarning, stacklevel=2)
    if plan["threads"] is not None:
        import torch

        if torch.get_num_threads() != plan["threads"]:
            torch.set_num_threads(plan["threads"])
    return plan
