"""Does a precision keep a card's metric?  Train a published recipe again under another `--trainer.precision`
(default bf16-mixed, with channels-last), then measure the new weights and the published (fp32-trained) card with
the same `zoo.evaluation` measurement on the same fresh data.

Run (resumable: an interrupted fit continues from its last.ckpt; a finished one is only re-measured):

    PYTHONPATH=. python benchmarks/reproduce_precision.py ising_cnn/8x8-energy schrodinger_cnn/random

Runs go to runs/precision/<model>__<variant>-<precision>/; results to benchmarks/results/precision_cards.json
(merged per card, so cards can be run one at a time).  Wall times are recorded but are not speed measurements
(the machine may be shared): the step-time ratios are benchmarks/perf_precision.py's.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).parent
REPO = HERE.parent
OUT = HERE / "results" / "precision_cards.json"


def _run_dir(name: str, precision: str, channels_last: bool) -> Path:
    return REPO / "runs" / "precision" / f"{name.replace('/', '__')}-{precision}{'-cl' if channels_last else ''}"


def train(card: dict, precision: str, channels_last: bool, threads: int) -> tuple[Path, float]:
    """Fit the card's committed config under `precision`; returns (the checkpoint the card was published from,
    best.ckpt or last.ckpt, in this run; wall seconds of this invocation)."""
    run = _run_dir(card["name"], precision, channels_last)
    ckpt_name = Path(card["training"]["source_checkpoint"]).name
    last = run / "checkpoints" / "last.ckpt"
    done = run / "DONE"
    t0 = time.time()
    if not done.exists():
        cmd = [sys.executable, "-m", "zoo.cli", "fit", "--config", card["config"], "--trainer.precision", precision,
               "--trainer.default_root_dir", str(run), "--trainer.enable_progress_bar", "false"]
        if channels_last:
            cmd += ["--trainer.callbacks+=callbacks.memory_format.ChannelsLast"]
        if last.exists():
            cmd += ["--ckpt_path", str(last)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "WANDB_MODE": "offline", "PYTHONPATH": str(REPO)}
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, env=env, cwd=REPO)
        done.write_text("finished\n")
    return run / "checkpoints" / ckpt_name, time.time() - t0


def measure(card_name: str, ckpt: Path, seed: int | None) -> dict:
    import zoo
    from zoo import evaluation
    from zoo.hub import load_lightning_checkpoint

    ref = zoo.load_pretrained(card_name)
    card = ref.card
    data_args = dict(card["dataset"]["init_args"])
    seed = int(data_args.get("seed", 0)) + 1000 if seed is None else seed
    new = type(ref)(**card["init_args"])
    state = load_lightning_checkpoint(ckpt)["state_dict"]
    new.load_state_dict(state)
    new.eval()
    out = {}
    for label, model in (("published_fp32", ref), ("retrained", new)):
        recs = evaluation.measure(model, data_args, seed=seed, progress=False)
        out[label] = {r["name"]: r.get("value") for r in recs if isinstance(r.get("value"), (int, float))}
    return {"seed": seed, **out}


def main(argv=None) -> None:
    import zoo

    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="+")
    ap.add_argument("--precision", default="bf16-mixed")
    ap.add_argument("--no-channels-last", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in a.names:
        card = zoo.get_card(name)
        cl = not a.no_channels_last
        ckpt, wall = train(card, a.precision, cl, a.threads)
        m = measure(name, ckpt, a.seed)
        key = f"{name} {a.precision}{' channels-last' if cl else ''}"
        results[key] = {"card": name, "precision": a.precision, "channels_last": cl, "checkpoint": str(ckpt.relative_to(REPO)),
                        "published_training": card["training"], "wall_s_this_invocation": wall,
                        "loadavg_at_end": list(os.getloadavg()), **m,
                        "ratio_retrained_over_published": {k: (m["retrained"][k] / v if v else None)
                                                           for k, v in m["published_fp32"].items()
                                                           if k in m["retrained"]}}
        OUT.write_text(json.dumps(results, indent=1) + "\n")
        print(key, json.dumps(results[key]["ratio_retrained_over_published"]), flush=True)


if __name__ == "__main__":
    main()
