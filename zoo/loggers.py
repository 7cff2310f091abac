"""Loggers: W&B offline by default, with WANDB_MODE from the environment taking precedence."""
from __future__ import annotations

import os

from pytorch_lightning.loggers import WandbLogger


class ZooWandbLogger(WandbLogger):
    """`WandbLogger(offline=True)` unless WANDB_MODE says otherwise (online / offline / disabled).

    No account or network is needed; `wandb sync <save_dir>/wandb/offline-run-*` uploads later.
    Weights are published with `zoo publish`, not as W&B artifacts (log_model stays off: it raises
    in offline mode).
    """

    def __init__(self, project: str = "physics-zoo", save_dir: str = "runs", offline: bool = True, **kwargs):
        mode = os.environ.get("WANDB_MODE")
        if mode:
            offline = mode != "online"
            kwargs.setdefault("mode", mode)
        os.makedirs(save_dir, exist_ok=True)
        super().__init__(project=project, save_dir=save_dir, offline=offline, log_model=False, **kwargs)
