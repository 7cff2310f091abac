"""Our RealNVP (zoo.flow_nets, as in configs/flows/ring2d-realnvp.yaml) vs normflows' RealNVP on Ring2D: step time
and test NLL, in one run.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_flows.py [--steps 2000]

Both flows: 4 affine couplings on the 2-D Ring2D target (Wang's Marburg 2018 lecture note, Sec. 5.3), conditioner
MLPs of width 10, standard-normal base, Adam lr 0.01 / weight_decay 0.001 with a cosine decay, the same fresh exact
batches of 1024 (datamodules.flows.Ring2DDataModule, seed 0, drawn before timing), the same 100 000 test samples.  normflows'
(Stimper et al., JOSS 2023) RealNVP is its README's: AffineCouplingBlock(MLP([1, 10, 2], init_zeros=True)) +
Permute(2, 'swap'); ours has separate s- and t-nets and tanh on the last s-net (the lecture's).  Training is
interleaved in blocks of 50 steps (ours, theirs, ours, ...); the step time is the median over blocks, and the
ratio the median of per-block ratios.  1 thread.  Load average recorded.  normflows is a `peers` extra: if it does
not import, the json says so and only our side is timed.
Results: benchmarks/results/perf_flows.json.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from datamodules.flows import Ring2DDataModule
from datamodules.physics import ring2d
from zoo.flows import Ring2DFlow

OUT = Path(__file__).parent / "results" / "perf_flows.json"
BLOCK = 50


def ours():
    torch.manual_seed(0)
    m = Ring2DFlow(kind="affine", n_couplings=4, hidden=[10], tanh_scale="last")
    return m, m.log_prob


def theirs():
    import normflows as nf

    torch.manual_seed(0)
    flows = []
    for _ in range(4):
        flows += [nf.flows.AffineCouplingBlock(nf.nets.MLP([1, 10, 2], init_zeros=True)), nf.flows.Permute(2, mode="swap")]
    m = nf.NormalizingFlow(nf.distributions.DiagGaussian(2, trainable=False), flows)
    return m, m.log_prob


def make_opt(m, steps):
    opt = torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=0.001)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)


def run_block(log_prob, opt, sched, batches, start):
    t0 = time.perf_counter()
    for j in range(start, start + BLOCK):
        opt.zero_grad()
        loss = -log_prob(batches[j]).mean()
        loss.backward()
        opt.step()
        sched.step()
    return (time.perf_counter() - t0) / BLOCK


@torch.no_grad()
def test_nll(log_prob, x):
    lp = torch.cat([log_prob(c) for c in x.split(20000)]).double()
    return float(-lp.mean()), float(lp.std() / math.sqrt(len(lp)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2000)
    a = ap.parse_args()
    torch.set_num_threads(1)
    steps = a.steps - a.steps % BLOCK
    dm = Ring2DDataModule(batch_size=1024, seed=0, progress=False)
    batches = [dm.batch(j) for j in range(steps)]  # drawn before timing: the sampler is not what is compared
    x_test = torch.from_numpy(ring2d.sample(100_000, np.random.default_rng(12345)).astype(np.float32))
    sides = {"ours": ours()}
    peer_error = None
    try:
        sides["normflows"] = theirs()
    except Exception as e:  # noqa: BLE001 - a peer that does not install is stated, not faked
        peer_error = f"{type(e).__name__}: {e}"
    state = {k: (m, lp, *make_opt(m, steps)) for k, (m, lp) in sides.items()}
    times = {k: [] for k in sides}
    load = [os.getloadavg()[0]]
    for start in range(0, steps, BLOCK):
        for k, (m, lp, opt, sched) in state.items():
            times[k].append(run_block(lp, opt, sched, batches, start))
        load.append(os.getloadavg()[0])
    result = {"benchmark": "perf_flows", "steps": steps, "batch": 1024, "block": BLOCK, "threads": 1,
              "host": platform.node(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
              "load_avg_1min": {"start": load[0], "median": statistics.median(load), "max": max(load)},
              "exact_entropy": ring2d.entropy()}
    for k, (m, lp, _, _) in state.items():
        nll, err = test_nll(lp, x_test)
        result[k] = {"step_time_ms_median": 1e3 * statistics.median(times[k]), "test_nll": nll, "test_nll_stderr": err,
                     "kl_to_target": nll - ring2d.entropy(), "n_params": sum(p.numel() for p in m.parameters())}
    if peer_error is None:
        import normflows

        result["normflows_version"] = getattr(normflows, "__version__", "?")
        ratios = [o / t for o, t in zip(times["ours"], times["normflows"])]
        result["step_time_ratio_ours_over_normflows_median"] = statistics.median(ratios)
        result["test_nll_difference_ours_minus_normflows"] = result["ours"]["test_nll"] - result["normflows"]["test_nll"]
    else:
        result["normflows"] = f"not installed here ({peer_error}); only our side was timed"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
