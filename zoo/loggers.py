"""Loggers: W&B offline by default, with WANDB_MODE from the environment taking precedence."""
from __future__ import annotations

import os

from pytorch_lightning.loggers import WandbLogger


class ZooWandbLogger(WandbLogger):
    """`WandbLogger(offline=True)` unless WANDB_MODE says otherwise (online / offline / disabled).

    No account or network is needed; `wandb sync <save_dir>/wandb/offline-run-*` uploads later.
    Weights are published with `zoo publish`, not as W&B artifacts (log_model stays off: it raises
    in offline mode).

    save_dir: left unset in the configs, `zoo` sets it to --trainer.default_root_dir
    (callbacks.run_folder.before_instantiate); "runs" when nobody does.
    id: a W&B run to continue (resume="allow": the same run, or a new one with that id if it
    never reached W&B).  `zoo fit --ckpt_path X` passes the id stored in X by callbacks.run_folder.RunFolder.
    """

    def __init__(self, project: str = "physics-zoo", save_dir: str | None = None, offline: bool = True,
                 id: str | None = None, **kwargs):  # noqa: A002 (WandbLogger's own name for it)
        mode = os.environ.get("WANDB_MODE")
        # `is None`, not setdefault: the CLI passes every wandb.init argument, unset ones as None
        if mode:
            offline = mode != "online"
            if kwargs.get("mode") is None:
                kwargs["mode"] = mode
        if id and kwargs.get("resume") is None:
            kwargs["resume"] = "allow"
        save_dir = save_dir or "runs"
        os.makedirs(save_dir, exist_ok=True)
        super().__init__(project=project, save_dir=save_dir, offline=offline, id=id, log_model=False, **kwargs)
