"""Start a fit from another run's weights with a fresh optimizer, schedule and epoch count (a second training stage).

`ckpt_path` resumes a run: it restores the optimizer, the learning-rate schedule and the epoch, so a finished cosine
schedule cannot start again.  `InitWeights` loads only the model weights of a Lightning checkpoint before the fit
begins; everything else comes from the config being run.  In a config:

    trainer:
      callbacks:
        - class_path: callbacks.init_weights.InitWeights
          init_args: {path: runs/ednn/count-digits-10/checkpoints/best.ckpt}
"""
from __future__ import annotations

from pathlib import Path

from pytorch_lightning import Callback
from pytorch_lightning.utilities import rank_zero_info

from zoo.hub import load_lightning_checkpoint


class InitWeights(Callback):
    """Load `path`'s state_dict into the model at the start of `fit` (strict: the architectures must match).

    Skipped when the fit itself resumes from a checkpoint (`ckpt_path`), which restores the weights anyway.
    """

    def __init__(self, path: str, strict: bool = True):
        self.path, self.strict = str(path), bool(strict)

    def setup(self, trainer, pl_module, stage: str) -> None:
        if stage != "fit" or trainer.ckpt_path:
            return
        p = Path(self.path)
        if not p.is_file():
            raise FileNotFoundError(f"InitWeights: {p} does not exist; train the stage it comes from first")
        # the file is the user's: weights-only, so a crafted checkpoint cannot run code when loaded (ours hold
        # tensors and primitives only and load this way)
        state = load_lightning_checkpoint(p)["state_dict"]
        pl_module.load_state_dict(state, strict=self.strict)
        rank_zero_info(f"InitWeights: model weights loaded from {p}")
