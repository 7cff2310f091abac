"""Where the zoo's own files are: the published checkpoints and configs, installed or in a checkout.

A wheel carries them as package data (`zoo/checkpoints`, `zoo/configs`; see pyproject.toml).  A source checkout keeps
them at its top (`checkpoints/`, `configs/`), where `zoo publish` writes and people edit.  `ZOO_CHECKPOINTS` points the
hub at any other folder of the same layout (`<model>/<variant>.json` + `.safetensors`).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

__all__ = ["source_checkout", "checkpoint_dirs", "checkpoints_root", "configs_root", "resolve_config",
           "list_configs"]

_PKG = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)  # the package does not move while it runs; every hub lookup asks
def source_checkout() -> Path | None:
    """The repository this `zoo` package runs from, or None when it is an installed wheel.  A bare
    `parent/checkpoints` is not enough: an installed zoo sits in site-packages beside other people's folders."""
    root = _PKG.parent
    try:
        is_ours = 'name = "physics-zoo"' in (root / "pyproject.toml").read_text()
    except OSError:
        return None
    return root if is_ours else None


def checkpoint_dirs() -> list[Path]:
    """The folders the hub looks in, in order (the first that exists is used)."""
    if os.environ.get("ZOO_CHECKPOINTS"):
        return [Path(os.environ["ZOO_CHECKPOINTS"])]
    repo = source_checkout()
    return ([repo / "checkpoints"] if repo else []) + [_PKG / "checkpoints"]


def checkpoints_root() -> Path:
    """The published-checkpoint folder in use (it may not exist: `zoo publish` creates it)."""
    dirs = checkpoint_dirs()
    return next((d for d in dirs if d.is_dir()), dirs[0])


def configs_root() -> Path:
    repo = source_checkout()
    return repo / "configs" if repo and (repo / "configs").is_dir() else _PKG / "configs"


def list_configs() -> list[str]:
    """Published config names, 'model/variant' (the file configs/<model>/<variant>.yaml)."""
    root = configs_root()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("*/*.yaml"))


def card_config(arg: str) -> str:
    """How a card names its config: 'configs/<model>/<variant>.yaml' for a published config however the user named it
    (by name, with or without 'configs/' or '.yaml', or by its path), else the path as given."""
    path = Path(resolve_config(arg)).resolve()
    root = Path(configs_root()).resolve()
    if path.is_relative_to(root):
        return "configs/" + path.relative_to(root).as_posix()
    return arg


def resolve_config(arg: str) -> str:
    """A config argument as users give it: an existing file (used as is), or a published config by name
    ('ising_cnn/8x8-classify', with or without '.yaml' or a leading 'configs/') -> the file's path."""
    if Path(arg).is_file():
        return arg
    name = arg[len("configs/"):] if arg.startswith("configs/") else arg
    name = name[:-len(".yaml")] if name.endswith(".yaml") else name
    path = configs_root() / f"{name}.yaml"
    if path.is_file():
        return str(path)
    from .registry import unknown_name_error

    err = unknown_name_error("config", arg, list_configs())
    raise ValueError(f"--config: {arg!r} is neither a file nor a published config (looked in {configs_root()}); "
                     f"{err.args[0]}")
