"""VMC step time and energy: our RBM + VMC (zoo.nqs) against NetKet on the N = 8 Heisenberg chain, in one run.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/perf_nqs.py   (NetKet from `.venv/bin/pip install netket`, the
`peers` extra; without it the JSON says why and only our timing is recorded).  Caution: NetKet pulls in `rich`, and
with rich importable Lightning 2.6 swaps its default model summary and progress bar for the Rich ones, whose
"Total params: N" line tests/test_cli.py's fast_dev_run check does not read; `.venv/bin/pip uninstall -y rich` after
the benchmark restores the defaults (NetKet then no longer imports).

Both sides: the periodic chain N = 8 in the S^z = 0 sector and the Marshall-rotated basis (NetKet:
`Heisenberg(..., J=0.25, sign_rule=True)`: NetKet writes it with Pauli matrices, J = 1/4 makes it S.S), a real RBM with 16 hidden units
(alpha = 2) initialized with std 0.1 (visible bias 0), 128 chains x 8 samples = 1024 samples per step, one sweep (8
moves) between samples and 2 discarded sweeps per step, SR with diagonal shift 1e-3 and plain SGD at lr 0.05, float64,
one thread.  The same imaginary-time step: NetKet's SR preconditions its gradient 2 Re F (netket.vqs.mc.common.
force_to_grad), ours F (zoo/nqs.py), so NetKet runs at lr 0.05 / 2 (configs/nqs/heisenberg-8-rbm.yaml's settings).  The moves differ: ours exchange a random up spin with a
random down spin or flip all spins (p = 0.05); NetKet's MetropolisExchange exchanges nearest neighbours.
Timing: BLOCKS blocks of STEPS steps, ours then NetKet's in each block (interleaved), after WARMUP steps each (JIT
compilation excluded); medians of the per-block seconds per step, and the median of the per-block ratios.  Both keep
training through the blocks, and the energies of the final states are computed by exact enumeration.
Results: benchmarks/results/perf_nqs.json.

`--ablation NAME [ITERS]` (NAME: complex-marshall, real-marshall, complex-unrotated, real-unrotated): the J1-J2 chain N = 20, J2 = 0.2
with another ansatz under the settings of configs/nqs/j1j2-20.yaml (translation-symmetric, alpha = 2, SR, 256 x 4
samples), ITERS (300) iterations without Lightning, exact comparison every 50; results/nqs_ablation_NAME.json.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from datamodules.physics import heisenberg as hb  # noqa: E402
from zoo.base import build_optimizer  # noqa: E402
from zoo.nqs import RBMWavefunction  # noqa: E402

N, HIDDEN, CHAINS, PER_CHAIN, LR, SHIFT, INIT = 8, 16, 128, 8, 0.05, 1e-3, 0.1
WARMUP, BLOCKS, STEPS = 5, 25, 10


def ours():
    torch.set_num_threads(1)
    m = RBMWavefunction(n_sites=N, n_hidden=HIDDEN, n_chains=CHAINS, samples_per_chain=PER_CHAIN, sr=True, lr=LR,
                        sr_shift=SHIFT, init_std=INIT, seed=10086, history_size=4096)
    opt = build_optimizer(m.net.parameters(), "sgd", LR)
    state = {"j": 0}

    def step(n):
        for _ in range(n):
            m.vmc_step(1000 + state["j"], opt)
            state["j"] += 1

    return step, lambda: m.energy(exact=True)


def netket():
    import jax
    import netket as nk

    jax.config.update("jax_enable_x64", True)
    g = nk.graph.Chain(N, pbc=True)
    hi = nk.hilbert.Spin(s=0.5, N=N, total_sz=0)
    H = nk.operator.Heisenberg(hi, g, J=0.25, sign_rule=True)
    init = jax.nn.initializers.normal(INIT)
    model = nk.models.RBM(alpha=HIDDEN // N, param_dtype=float, kernel_init=init, hidden_bias_init=init,
                          visible_bias_init=jax.nn.initializers.zeros)
    sampler = nk.sampler.MetropolisExchange(hi, graph=g, n_chains=CHAINS, sweep_size=N)
    vs = nk.vqs.MCState(sampler, model, n_samples=CHAINS * PER_CHAIN, n_discard_per_chain=2, seed=10086,
                        sampler_seed=10086)
    driver = nk.driver.VMC(H, nk.optimizer.Sgd(learning_rate=LR / 2), variational_state=vs,
                           preconditioner=nk.optimizer.SR(diag_shift=SHIFT))

    def step(n):
        driver.run(n, out=(), show_progress=False)
        jax.block_until_ready(vs.parameters)

    def energy():
        psi = np.asarray(vs.to_array(normalize=True))
        Hs = H.to_sparse()
        return float(np.real(np.vdot(psi, Hs @ psi)))

    return step, energy, {"netket": nk.__version__, "jax": jax.__version__}


def main():
    t_start = time.perf_counter()
    e0 = hb.ground_state(N)[0]
    res = {"system": f"periodic Heisenberg chain N = {N}, S^z = 0, Marshall basis", "E0": e0,
           "settings": {"hidden": HIDDEN, "chains": CHAINS, "samples_per_chain": PER_CHAIN, "lr": LR,
                        "sr_diag_shift": SHIFT, "init_std": INIT, "warmup": WARMUP, "blocks": BLOCKS,
                        "steps_per_block": STEPS},
           "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                       "loadavg_at_start": list(os.getloadavg())},
           "versions": {"torch": torch.__version__, "python": platform.python_version()}}
    o_step, o_energy = ours()
    try:
        n_step, n_energy, versions = netket()
        res["versions"].update(versions)
    except Exception as e:  # noqa: BLE001 - the peer is optional; say why it did not run
        n_step, res["netket"], res["netket_error"] = None, None, f"{type(e).__name__}: {e}"
    o_step(WARMUP)
    if n_step:
        n_step(WARMUP)
    to, tn, ratios, load = [], [], [], []
    for _ in range(BLOCKS):
        t0 = time.perf_counter()
        o_step(STEPS)
        to.append((time.perf_counter() - t0) / STEPS)
        if n_step:
            t0 = time.perf_counter()
            n_step(STEPS)
            tn.append((time.perf_counter() - t0) / STEPS)
            ratios.append(tn[-1] / to[-1])
        load.append(os.getloadavg()[0])
    iters = WARMUP + BLOCKS * STEPS
    eo = o_energy()
    res["ours"] = {"step_s_per_block": [round(x, 5) for x in to], "step_s_median": statistics.median(to),
                   "energy_exact": eo, "rel_error": (eo - e0) / abs(e0), "iterations": iters}
    if n_step:
        en = n_energy()
        res["netket"] = {"step_s_per_block": [round(x, 5) for x in tn], "step_s_median": statistics.median(tn),
                         "energy_exact": en, "rel_error": (en - e0) / abs(e0), "iterations": iters}
        res["ratio_step_time"] = statistics.median(ratios)  # NetKet seconds / ours, per block
        res["summary"] = (f"{iters} VMC steps each, {BLOCKS} interleaved blocks of {STEPS}: ours "
                          f"{res['ours']['step_s_median'] * 1e3:.1f} ms/step, NetKet {res['netket']['step_s_median'] * 1e3:.1f}"
                          f" ms/step (NetKet/ours = {res['ratio_step_time']:.2f}); final relative error ours "
                          f"{res['ours']['rel_error']:.1e}, NetKet {res['netket']['rel_error']:.1e}.")
    res["loadavg"] = {"median_1min": statistics.median(load), "per_block": [round(x, 2) for x in load]}
    res["machine"]["loadavg_at_end"] = list(os.getloadavg())
    res["total_wall_s"] = time.perf_counter() - t_start
    out = Path(__file__).parent / "results" / "perf_nqs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(res.get("summary") or f"NetKet did not run ({res.get('netket_error')}); ours "
          f"{res['ours']['step_s_median'] * 1e3:.1f} ms/step")
    print(f"-> {out}")
    return res


def ablation(name: str, iters: int = 300) -> dict:
    from zoo.evaluation.nqs import exact_comparison
    from zoo.nqs import ComplexRBMWavefunction

    torch.set_num_threads(1)
    cls, marshall = {"real-marshall": (RBMWavefunction, True), "complex-unrotated": (ComplexRBMWavefunction, False),
                     "real-unrotated": (RBMWavefunction, False), "complex-marshall": (ComplexRBMWavefunction, True)}[name]
    kw = dict(n_sites=20, J2=0.2, n_hidden=40, symmetric=True, marshall=marshall, n_chains=256, samples_per_chain=4,
              sr=True, lr=0.05, sr_shift=1e-3, init_std=0.01, seed=0)
    if cls is ComplexRBMWavefunction:
        kw["init_std_imag"] = 0.01
    m = cls(**kw)
    opt = build_optimizer(m.net.parameters(), "sgd", 0.05)
    t, trace, diverged = time.time(), [], None
    for j in range(iters):
        try:
            out = m.vmc_step(j, opt)
        except FloatingPointError as e:  # recorded, not hidden: the state before the failed step is measured
            diverged = f"iteration {j}: {e}"
            break
        if j % 50 == 0 or j == iters - 1:
            c = exact_comparison(m)
            trace.append((j + 1, c["E"], c["rel_error"]))
            print(name, j, out["energy"], c["rel_error"], flush=True)
    res = {"name": name, "iterations": int(m.iteration), "diverged": diverged, "settings": kw, "wall_s": time.time() - t, "final": exact_comparison(m),
           "trace": trace, "loadavg_at_end": list(os.getloadavg())}
    out = Path(__file__).parent / "results" / f"nqs_ablation_{name}.json"
    out.write_text(json.dumps(res, indent=1) + "\n")
    return res


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 2 and sys.argv[1] == "--ablation":
        ablation(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    else:
        main()
