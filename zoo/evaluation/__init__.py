"""What a published card measures, one module per paper, apart from the models: `zoo.evaluation.<model>` holds

    measure(model, data_args, seed=None, progress=False[, out_dir=None]) -> list of zoo.records.metric records
    PAPER = {variant: [{"metric", "value" or "text", "ref"}, ...]}   the paper's numbers beside each card

`zoo evaluate` and `zoo publish` call `measure` here; the reports read both.
"""
from __future__ import annotations

import importlib
import inspect

__all__ = ["measure", "paper"]


def _module(model_name: str):
    from ..registry import get_model_class

    get_model_class(model_name)  # a known model, or the registry's error with the valid names
    return importlib.import_module(f"{__name__}.{model_name}")


def measure(model, data_args: dict, seed: int | None = None, progress: bool = False, out_dir=None,
            **kwargs) -> list[dict]:
    """The card's metrics of `model` on data built from `data_args` (with `seed` for fresh data).  `out_dir`: where
    a measurement that keeps more than the card's numbers (RUGAN's per-point rows) writes them; nothing is written
    without it."""
    fn = _module(model.registry_name).measure
    if out_dir is not None and "out_dir" in inspect.signature(fn).parameters:
        kwargs["out_dir"] = str(out_dir)
    return fn(model, data_args, seed=seed, progress=progress, **kwargs)


def paper(name: str) -> list[dict]:
    """The paper's numbers for the published model `name` ('model/variant'); [] where the paper gives none."""
    model_name, _, variant = name.partition("/")
    return list(getattr(_module(model_name), "PAPER", {}).get(variant, []))
