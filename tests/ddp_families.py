"""Every model family trained with Trainer.fit, on tiny data, under DDP or in one process (used by tests/test_ddp.py).

    torchrun --nproc_per_node 2 tests/ddp_families.py ddp OUT   # fit + validate + test, 2 gloo ranks
    ddp_families.run("ref", OUT)                                # validate + test of rank 0's weights, 1 process

Each process writes OUT/<family>.<rank|ref>.json: the logged val/test metrics, the per-sample inputs every metric
received on this process (`records`), the optimizer steps it took, a hash of its weights. One launch covers all
families (process start + imports cost more than a tiny fit).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
import pytorch_lightning as pl  # noqa: E402
import torchmetrics  # noqa: E402
from pytorch_lightning.callbacks import Callback  # noqa: E402

# The GANs step the critic and the generator in separate backward passes of one training_step, each leaving the
# other network's parameters without a gradient: zoo.cli.ddp_strategy_for gives them the DDP variant that allows it.
GANS = ("rugan_T", "rugan_em", "ntk_gan")
TRAIN_BATCHES = 4  # per rank; RUGAN has n_critic=2 so 2 generator steps, the particle GAN n_disc=2 likewise


def _families() -> dict:
    """name -> (model, datamodule) factories.  Schrodinger's evaluation sets are odd-sized on purpose: Lightning's
    default DistributedSampler would pad them with a repeated sample, which would enter a median twice;
    datamodules.base gives each rank its own samples, unrepeated, and the test counts them.  Train sets give every
    rank TRAIN_BATCHES batches."""
    from datamodules.cool import COOLDataModule
    from datamodules.digits import DigitCountingDataModule
    from datamodules.ednn import EDNNIsingDataModule
    from datamodules.flows import IsingDualSeeds, Ring2DDataModule
    from datamodules.gaussians import GaussianRingDataModule
    from datamodules.ising import IsingDataModule
    from datamodules.ising_long_range import LongRangeSpinDataModule
    from datamodules.mbl import MBLDataModule
    from datamodules.rugan import IsingThermalDataModule
    from datamodules.rugan_em import IsingEMDataModule
    from datamodules.schrodinger import SchrodingerDataModule
    from zoo.cool import COOLAgent
    from zoo.ednn import CountingEDNN, IsingEDNN
    from zoo.flows import IsingDualFlow, Ring2DFlow
    from zoo.ising_cnn import IsingCNN, IsingCNNRegressor
    from zoo.mbl import MBLClassifier
    from zoo.ntk_gan import ParticleGAN
    from zoo.rugan import RUGAN, RUGANEM
    from zoo.schrodinger_cnn import SchrodingerCNN

    q = dict(progress=False, gen_workers=1)
    small_cnn = dict(reducing_filters=4, nonreducing_filters=4, fc_width=16, optimizer="adam", lr=1e-3)
    gan = dict(latent_channels=2, g_width=4, c_width=4, n_critic=2, lr=1e-3)
    return {
        "ising_cnn": (lambda: IsingCNN(L=4, padding="circular", **small_cnn),
                      lambda: IsingDataModule(L=4, n_samples=510, shard_size=10, batch_size=16, **q)),
        "ising_cnn_long_range": (lambda: IsingCNNRegressor(L=8, hamiltonian="screened_coulomb", padding="circular",
                                                             **small_cnn),
                                 lambda: LongRangeSpinDataModule(n_train=64, n_val=15, n_test=17, shard_size=50,
                                                                 batch_size=8, **q)),
        "schrodinger_cnn": (lambda: SchrodingerCNN(grid=16, **small_cnn),
                            lambda: SchrodingerDataModule(grid=16, solve_grid=16, n_train=16, n_val=5, n_test=7,
                                                          shard_size=8, batch_size=2, **q)),
        "ednn_ising": (lambda: IsingEDNN(focus=1, context=1, optimizer="adam", lr=1e-3),
                       lambda: EDNNIsingDataModule(L=4, n_samples=510, shard_size=10, batch_size=16, **q)),
        "ednn_counting": (lambda: CountingEDNN(focus=8, context=8, padding="zeros", n_outputs=1, filters=4,
                                           fc_width=8, conv_padding="valid", zero_background=True, optimizer="adam"),
                          lambda: DigitCountingDataModule(dataset="digits-1", canvas=32, test_canvas=48, n_train=16,
                                                          n_val=4, n_test=4, shard_size=4, batch_size=2, **q)),
        "rugan_T": (lambda: RUGAN(train_temperatures=[1.5, 3.0], **gan),
                    lambda: IsingThermalDataModule(L=8, temperatures=[1.5, 3.0], heldout_temperatures=[2.2], n_per_T=8,
                                                   val_per_T=4, n_chains=4, n_equil=2, batch_size=2, **q)),
        "rugan_em": (lambda: RUGANEM(**gan),
                     lambda: IsingEMDataModule(L=8, per_level=10, shard_size=10, n_select_labels=2, batch_size=2,
                                               train_windows=[[-1.5, -0.5, -0.25, 0.25], [0.5, 2.0, -0.25, 0.25]], **q)),
        "mbl": (lambda: MBLClassifier(L=8, region_size=4, hidden=[8], optimizer="adam", lr=1e-3),
                lambda: MBLDataModule(L=8, n_delta=4, n_lambda=3, grid_realizations=2, states_per_realization=5,
                                      train_realizations=10, n_resamples=1, points_per_shard=12, batch_size=16, **q)),
        "ntk_gan": (lambda: ParticleGAN(n_particles=32, disc_depth=2, disc_width=16, n_disc=2),
                    lambda: GaussianRingDataModule(batch_size=32, steps_per_epoch=2 * TRAIN_BATCHES,  # split over ranks
                                                           progress=False)),
        "flows_ring": (lambda: Ring2DFlow(hidden=[8]),
                       lambda: Ring2DDataModule(batch_size=32, steps_per_epoch=2 * TRAIN_BATCHES, progress=False)),
        "flows_ising": (lambda: IsingDualFlow(L=3, batch_size=16, n_couplings=2, hidden=[8]),
                        lambda: IsingDualSeeds(L=3, batch_size=16, steps_per_epoch=2 * TRAIN_BATCHES, progress=False)),
        "cool": (lambda: COOLAgent(n_reps=4, n_steps=3, n_sweeps=1),
                 lambda: COOLDataModule(n_reps=4, n_steps=3, n_sweeps=1, episodes_per_batch=2,
                                        batches_per_epoch=TRAIN_BATCHES)),
    }


class _StepCounter(Callback):
    """Optimizer steps this process really took, per optimizer (a buffer like RUGAN.generator_steps is
    broadcast from rank 0 by DDP, so it cannot show a rank that stepped a different number of times)."""

    def __init__(self):
        self.steps = []

    def on_train_start(self, trainer, pl_module):
        self.steps = [0] * len(trainer.optimizers)
        for i, opt in enumerate(trainer.optimizers):
            opt.register_step_post_hook(lambda *a, i=i: self.steps.__setitem__(i, self.steps[i] + 1))


def _spy(model) -> dict:
    """Record the tensors every torchmetrics Metric of `model` is updated with, by module name."""
    records: dict = {}
    for name, m in model.named_modules():
        if isinstance(m, torchmetrics.Metric):
            def update(*args, _orig=m.update, _name=name, **kw):
                records.setdefault(_name, []).append([[str(a.dtype)[6:], a.detach().cpu().tolist()] for a in args])
                return _orig(*args, **kw)
            m.update = update
    return records


def _weights_hash(model) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode() + v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _trainer(world: int, model, callbacks=()) -> pl.Trainer:
    from zoo.cli import ddp_strategy_for  # what `zoo fit --trainer.strategy ddp` picks for this model

    strategy = "auto" if world == 1 else ddp_strategy_for(type(model), "ddp")
    return pl.Trainer(accelerator="cpu", devices=world, strategy=strategy, max_epochs=1,
                      limit_train_batches=TRAIN_BATCHES, num_sanity_val_steps=0, logger=False,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      callbacks=list(callbacks), deterministic=True)


def _evaluate(trainer, model, dm, records) -> dict:
    out = {}
    for stage, fn in (("validate", trainer.validate), ("test", trainer.test)):
        records.clear()
        logged = (fn(model, datamodule=dm, verbose=False) or [{}])[0]  # the particle GAN has no eval data
        out[stage] = {"metrics": {k: float(v) for k, v in logged.items()},
                      "records": json.loads(json.dumps(records))}
    return out


def run(mode: str, out: Path, only: list[str] | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    world = int(os.environ.get("WORLD_SIZE", 1)) if mode == "ddp" else 1
    rank = int(os.environ.get("RANK", 0)) if mode == "ddp" else 0
    for name, (make_model, make_dm) in _families().items():
        if only and name not in only:
            continue
        pl.seed_everything(0, workers=True)
        model, dm = make_model(), make_dm()
        records = _spy(model)
        result = {"world": world, "rank": rank}
        if mode == "ddp":
            init_hash = _weights_hash(model)
            counter = _StepCounter()
            trainer = _trainer(world, model, [counter])
            trainer.fit(model, datamodule=dm)
            result.update(steps=counter.steps, init_hash=init_hash, fit_metrics=sorted(trainer.callback_metrics))
            if rank == 0:
                torch.save(model.state_dict(), out / f"{name}.pt")
        else:
            model.load_state_dict(torch.load(out / f"{name}.pt", weights_only=True))
            trainer = _trainer(1, model)
        result.update(_evaluate(trainer, model, dm, records))
        result["weights_hash"] = _weights_hash(model)
        if mode == "ref":
            result["union"] = _union_values(model, out, name)
        (out / f"{name}.{rank if mode == 'ddp' else 'ref'}.json").write_text(json.dumps(result))


def _union_values(model, out: Path, name: str) -> dict:
    """Each stage's metrics recomputed in this one process from the records of ALL DDP ranks together."""
    ranks = sorted(out.glob(f"{name}.[0-9]*.json"))
    res = {}
    for stage in ("validate", "test"):
        recs = [json.loads(p.read_text())[stage]["records"] for p in ranks]
        metrics = dict(model.named_modules())
        vals = {}
        for mname in {k for r in recs for k in r}:
            m = metrics[mname]
            m.reset()
            for r in recs:
                for args in r.get(mname, []):
                    m.update(*[torch.tensor(a, dtype=getattr(torch, dt)) for dt, a in args])
            val = m.compute()
            if hasattr(model, "eval_stats") and mname == "eval_rows":  # RUGAN: rows -> its val metrics
                vals.update(model.eval_stats(val))
            else:
                vals[mname] = float(val)
            m.reset()
        res[stage] = vals
    return res


if __name__ == "__main__":
    run(sys.argv[1], Path(sys.argv[2]), sys.argv[3:] or None)
    # Tear the gloo group down before the interpreter exits: left to interpreter shutdown, its threads were
    # destroyed mid-flight once in CI ("terminate called without an active exception", rank exit -6).
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
