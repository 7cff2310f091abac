"""Threads and OpenMP wait policy: a training step on 1 vs 2 threads, with OMP_WAIT_POLICY unset (libgomp's default:
spin briefly, then sleep) vs PASSIVE (sleep at once) vs ACTIVE (spin), for a small (Ising CNN 8x8, batch 256) and a
larger (Schrodinger CNN 64^2, batch 128) network, fp32 and bf16 autocast.

The wait policy is read when the OpenMP runtime starts, so every setting runs in its own child process; settings
are interleaved round by round and we report medians.  What the zoo CLI does with the result: zoo/threads.py.
Run: `PYTHONPATH=. python benchmarks/perf_threads.py` (about 3 min idle).  On a shared machine the 2-thread
numbers mean little: the load average is recorded per round.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROUNDS = int(os.environ.get("BENCH_REPEATS", 3))

CHILD = r"""
import json, statistics, sys, time, torch
name, threads, bf16 = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "bf16"
torch.set_num_threads(threads)
torch.manual_seed(0)
if name == "ising_cnn":
    from zoo.ising_cnn import IsingCNNRegressor
    m = IsingCNNRegressor(L=8, label="energy"); x = torch.randint(0, 2, (256, 8, 8)).float() * 2 - 1; steps = 30
else:
    from zoo.schrodinger_cnn import SchrodingerCNN
    m = SchrodingerCNN(grid=64); x = torch.rand(128, 64, 64) * 0.6; steps = 6
y = torch.rand(len(x))
opt = torch.optim.Adam(m.parameters(), 1e-3)
def step():
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = m(x)
    loss = ((out.float() - y) ** 2).mean(); loss.backward(); opt.step()
for _ in range(3):
    step()
ts = []
for _ in range(steps):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
print(json.dumps(statistics.median(ts)))
"""


def child(name: str, threads: int, precision: str, policy: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    env["PYTHONPATH"] = str(HERE.parent)
    out = subprocess.run([sys.executable, "-c", CHILD, name, str(threads), precision], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> dict:
    settings = [(n, t, p, w) for n in ("ising_cnn", "schrodinger_cnn") for p in ("fp32", "bf16")
                for w in (None, "PASSIVE", "ACTIVE") for t in (1, 2)]
    runs = {s: [] for s in settings}
    load = []
    for r in range(ROUNDS):
        for s in settings:
            runs[s].append(child(*s))
        load.append(os.getloadavg()[0])
        print(f"round {r + 1}/{ROUNDS}, load {load[-1]:.2f}", flush=True)
    rows = []
    for (n, t, p, w), ts in runs.items():
        base = statistics.median(runs[(n, 1, p, None)])
        med = statistics.median(ts)
        rows.append({"family": n, "precision": p, "OMP_WAIT_POLICY": w or "unset", "threads": t,
                     "median_step_ms": 1e3 * med, "speedup_vs_1_thread_unset": base / med,
                     "runs_ms": [1e3 * x for x in ts]})
        print(f"{n:16s} {p} {w or 'unset':8s} {t} thread(s): {1e3 * med:7.1f} ms ({base / med:.2f}x vs 1 thread)")
    res = {"benchmark": "train step time: threads x OMP_WAIT_POLICY (each setting in its own process)",
           "rounds": ROUNDS, "loadavg_1min_per_round": load, "rows": rows,
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}}
    (HERE / "results" / "threads.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


if __name__ == "__main__":
    main()
