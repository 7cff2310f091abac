"""Model selection by physics, not by the loss (RUGAN: Casert et al., arXiv:2002.07055, Supp. A.3, thesis L3158-3165:
the Wasserstein estimate plateaus, so the paper picks the epoch whose generated observables deviate least from the
reference, weighted by its error, at the training labels only).

Every `every_n_steps` training steps the callback samples `n_samples` configurations from the model at
each TRAINING label, measures the observables the DataModule names, and scores the error-weighted
squared deviation from the DataModule's Monte Carlo reference,

    score = mean over labels and observables of (<O>_gen - <O>_MC)^2 / (se_MC^2 + se_gen^2),

(a reduced chi^2: ~1 when the generated means agree with Monte Carlo within sampling error).  The
lowest score so far is kept as a checkpoint (`<dirpath>/<filename>.ckpt`) and every score is appended
to `<dirpath>/<filename>-history.json`.  Held-out labels never take part: the reference comes only
from `datamodule.selection_reference()`, which lists training labels.

The score is `zoo.evaluation.rugan.selection_score`.  Duck-typed contract (no model or data class imported here):
    datamodule.selection_reference() -> {"L": int, "labels": [dict of sample() kwargs, ...],
                                         "observables": {name: (means (n_labels,), std errors (n_labels,))}}
    datamodule.selection_observables(spins) -> {name: per-sample values}
        (or selection_observables(spins, **label) when it takes the label too, e.g. the (E/L^2, m)
        RUGAN's |realized - requested| observables)
    model.sample(n, L=..., seed=..., **label) -> (n, L, L) +-1 configurations
    model.generator_steps (optional) -> the step counter used instead of trainer.global_step
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from pytorch_lightning import Callback

from zoo.evaluation.rugan import selection_score


class PhysicsSelection(Callback):
    """Args:
        every_n_steps: evaluate whenever the model's step counter (`generator_steps` if the model has
            one, else trainer.global_step) reaches a multiple of this.
        n_samples: generated configurations per training label.
        dirpath, filename: where the best checkpoint goes (default: <default_root_dir>/checkpoints,
            'physics-best').
        seed: noise seed for the generated samples (the same latents every time, so scores differ
            only through the weights).
    """

    def __init__(self, every_n_steps: int = 200, n_samples: int = 500, dirpath: str | None = None,
                 filename: str = "physics-best", seed: int = 12345):
        if every_n_steps < 1 or n_samples < 2:
            raise ValueError(f"every_n_steps must be >= 1 and n_samples >= 2; got {every_n_steps}, {n_samples}")
        self.every_n_steps, self.n_samples = every_n_steps, n_samples
        self.dirpath, self.filename, self.seed = dirpath, filename, seed
        self.best_score = math.inf
        self.best_step = -1
        self._last = -1
        self._reference = None

    def _dir(self, trainer) -> Path:
        return Path(self.dirpath) if self.dirpath else Path(trainer.default_root_dir) / "checkpoints"

    @property
    def best_model_path(self) -> str:
        return str(Path(self.dirpath or ".") / f"{self.filename}.ckpt")

    @staticmethod
    def _step(trainer, pl_module) -> int:
        s = getattr(pl_module, "generator_steps", None)
        return int(s) if s is not None else int(trainer.global_step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = self._step(trainer, pl_module)
        if step == self._last or step == 0 or step % self.every_n_steps:
            return
        self._last = step
        self.evaluate(trainer, pl_module, step)

    def evaluate(self, trainer, pl_module, step: int) -> float:
        dm = trainer.datamodule
        if self._reference is None:
            self._reference = dm.selection_reference()
        score, details = selection_score(pl_module, self._reference, dm.selection_observables, self.n_samples,
                                         self.seed)
        improved = score < self.best_score
        if improved:
            self.best_score, self.best_step = score, step
        for lg in trainer.loggers:
            lg.log_metrics({"select/score": score, "select/best_score": self.best_score}, step=trainer.global_step)
        if trainer.fast_dev_run:  # a smoke test writes no files
            return score
        d = self._dir(trainer)
        if improved:
            trainer.save_checkpoint(str(d / f"{self.filename}.ckpt"))
        if trainer.is_global_zero:
            d.mkdir(parents=True, exist_ok=True)
            hist = d / f"{self.filename}-history.json"
            rows = json.loads(hist.read_text()) if hist.exists() else []
            rows = [r for r in rows if r["step"] < step]  # a resumed run overwrites what followed its checkpoint
            rows.append({"step": step, "global_step": int(trainer.global_step), "score": score, "best": improved,
                         **details})
            hist.write_text(json.dumps(rows, indent=1) + "\n")
        return score

    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "best_step": self.best_step, "last": self._last}

    def load_state_dict(self, state: dict) -> None:
        self.best_score = state.get("best_score", math.inf)
        self.best_step = state.get("best_step", -1)
        self._last = state.get("last", -1)
