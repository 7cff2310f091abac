"""Figure helpers shared by callbacks and reports: headless matplotlib, PNG out, logger-agnostic."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def log_images(trainer, key: str, paths) -> None:
    """Log PNGs to every attached logger that can take images (W&B, TensorBoard); others are skipped."""
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):  # WandbLogger
            logger.log_image(key=key, images=[str(p) for p in paths], step=trainer.global_step)
        elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoard
            import numpy as np
            from PIL import Image

            for p in paths:
                img = np.asarray(Image.open(p).convert("RGB"))
                logger.experiment.add_image(f"{key}/{Path(p).stem}", img, trainer.global_step, dataformats="HWC")
