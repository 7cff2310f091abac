"""Pretrained weights: safetensors + a JSON card, verified by sha256 before anything is deserialized.

    checkpoints/<model>/<variant>.safetensors   the state dict (never a pickle)
    checkpoints/<model>/<variant>.json          the card: init_args, dataset, metrics, paper, training, sha256

A card may carry a `url`; when the weights are not in the checkout they are downloaded into
`$ZOO_DATA_DIR/weights/` and verified the same way.

A card with `"kind": "table"` publishes a measured table instead of a network (e.g. a phase-diagram sweep): its
safetensors file holds named arrays, and `load_pretrained` returns them as a `PublishedTable` (verified the same way).
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import torch

from datamodules.cache import data_root, sha256_file

from .paths import checkpoint_dirs, checkpoints_root
from .registry import get_model_class, unknown_name_error

__all__ = ["ChecksumError", "PublishedTable", "checkpoints_root", "list_pretrained", "get_card", "load_pretrained",
           "publish", "publish_table", "load_lightning_checkpoint", "sha256_file"]


class ChecksumError(RuntimeError):
    """The weights file does not match the sha256 its card promises; nothing was loaded."""


def _where() -> str:
    """Where the hub looked, for messages: a user without checkpoints must learn how to point it elsewhere."""
    return (f"looked in {', '.join(str(d) for d in checkpoint_dirs())}; set ZOO_CHECKPOINTS to a folder of "
            "<model>/<variant>.json + .safetensors to use another")


def _cards() -> dict[str, Path]:
    root = checkpoints_root()
    return {f"{p.parent.name}/{p.stem}": p for p in sorted(root.glob("*/*.json"))} if root.exists() else {}


def list_pretrained(model: str | None = None) -> list[str]:
    names = sorted(_cards())
    if model is not None:
        from .registry import list_models

        if model not in list_models():
            raise unknown_name_error("model", model, list_models())
        names = [n for n in names if n.split("/")[0] == model]
    return names


def get_card(name: str) -> dict:
    cards = _cards()
    if name not in cards:
        err = unknown_name_error("pretrained model", name, cards)
        raise KeyError(f"{err.args[0]} ({_where()})" if not cards else err.args[0])
    path = cards[name]
    try:
        card = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"card {path} of {name!r} is not readable JSON: {e}") from None
    if not isinstance(card, dict) or not isinstance(card.get("sha256"), str) or len(card["sha256"]) != 64:
        raise ValueError(f"card {path} of {name!r} has no valid 'sha256' (64 hex digits): the weights cannot be "
                         "verified, so they are not loaded")
    return card


def _download(url: str, sha256: str) -> Path:
    cache = data_root() / "weights"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{sha256}.safetensors"
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(dir=cache, suffix=".part")
    os.close(fd)
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        got = sha256_file(tmp)
        if got != sha256:
            raise ChecksumError(f"download from {url} has sha256 {got}, card says {sha256}; discarded")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def weights_path(name: str, card: dict | None = None) -> Path:
    card = card or get_card(name)
    local = checkpoints_root() / f"{name}.safetensors"
    if local.exists():
        return local
    if card.get("url"):
        return _download(card["url"], card["sha256"])
    raise FileNotFoundError(f"weights of {name} are not at {local} and its card has no url")


class PublishedTable(dict):
    """A published table (card kind 'table'): name -> tensor, with the card as `.card`."""

    card: dict

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.items())
        return f"PublishedTable({self.card.get('name')}: {shapes})"


def load_pretrained(name: str, map_location: str | torch.device = "cpu"):
    """The published model `name` ('model/variant') in eval mode, with its card as `.card`
    (a `PublishedTable` for table cards)."""
    device = _check_device(map_location)
    card = get_card(name)
    path = weights_path(name, card)
    got = sha256_file(path)
    if got != card["sha256"]:
        raise ChecksumError(f"{path} has sha256 {got} but the card of {name} says {card['sha256']}; refusing to load")
    tensors = _load_safetensors(path, device)
    if card.get("kind") == "table":
        table = PublishedTable(tensors)
        table.card = card
        return table
    for key in ("model", "init_args"):
        if key not in card:
            raise ValueError(f"card of {name!r} has no {key!r}: it cannot say which network to build")
    cls, init_args = card_class(card)
    model = cls(**init_args)
    model.load_state_dict(tensors)
    model.card = card
    return model.to(device).eval()


def card_class(card: dict) -> tuple[type, dict]:
    """The class a card names (`class_path`) and its init args.  The card is untrusted: only a zoo model class of
    the card's own model may be named (importing and calling an arbitrary path would run arbitrary code).  A card
    from before class paths (tools/migrate_cards.py adds them) is resolved by its model's `from_legacy_args`."""
    name, init_args = card.get("name", "?"), dict(card["init_args"])
    path = card.get("class_path")
    default = get_model_class(card["model"])
    legacy = getattr(default, "from_legacy_args", None)
    if legacy is not None:
        legacy_cls, legacy_args = legacy(dict(init_args))
        # an old card or checkpoint still carries the switch argument that picked a class inside one model (MBL's
        # kind, Ising's task, ...): that argument decides, whatever the old single class's path says
        if path is None or legacy_args != init_args:
            return legacy_cls, legacy_args
    elif path is None:
        return default, init_args
    return _zoo_model_class(path, f"card of {name!r}: class_path", card["model"]), init_args


def _zoo_model_class(path, what: str, model: str | None = None) -> type:
    """Import `path` only if it names a zoo model class (a path from a file is untrusted: importing and calling an
    arbitrary one would run arbitrary code); with `model`, only a class of that registered model."""
    from .base import ZooTask
    from .registry import import_class

    if not isinstance(path, str) or not path.startswith("zoo.") or path.count(".") < 2:
        raise ValueError(f"{what} must name a class in a zoo module; got {path!r}")
    try:
        cls = import_class(path)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"{what} {path!r} cannot be imported ({e})") from None
    if not (isinstance(cls, type) and issubclass(cls, ZooTask) and model in (None, cls.registry_name)):
        raise ValueError(f"{what} {path!r} is not a " + (f"model of {model!r}" if model else "zoo model"))
    return cls


def checkpoint_class(path: str, init_args: dict) -> tuple[type | None, dict]:
    """The class and init args to rebuild a Lightning checkpoint's model from its `_class_path` and hyperparameters,
    with old switch arguments mapped to today's classes (card_class).  A path outside the zoo is left to Lightning
    (None): its parser accepts only subclasses of the zoo's base task."""
    if not (isinstance(path, str) and path.startswith("zoo.")):
        return None, init_args
    cls = _zoo_model_class(path, "the checkpoint's class")
    return card_class({"name": path, "model": cls.registry_name, "class_path": path, "init_args": init_args})


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_device(map_location) -> torch.device:
    """map_location as a device this machine has (a clear error instead of a CUDA traceback deep in safetensors)."""
    try:
        device = torch.device(map_location)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"map_location must be a device such as 'cpu' or 'cuda:0'; got {map_location!r} ({e})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"map_location={map_location!r} but this machine has no CUDA device; use 'cpu'")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"map_location={map_location!r} but this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"map_location={map_location!r} but MPS is not available here; use 'cpu'")
    return device


def _load_safetensors(path: Path, device: torch.device) -> dict:
    """safetensors only: the format holds tensors and a JSON header, never code.  Anything else (a pickle renamed
    .safetensors, a truncated download) is refused with the file named, not unpickled."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path} is not a valid safetensors file ({e}); refusing to load it") from None


def load_lightning_checkpoint(path, map_location="cpu") -> dict:
    """A Lightning .ckpt for resuming, publishing or `InitWeights`, loaded with weights_only=True: tensors and plain
    containers only.  A checkpoint that needs pickled objects (code) is refused with the file named."""
    import pickle

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise ValueError(f"{path} holds pickled objects that a weights-only load refuses (a checkpoint from "
                         f"elsewhere could run code when unpickled); not loaded. {str(e).splitlines()[0]}") from None


def _git_commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, text=True,
                                       stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _publish_target(name: str, overwrite: bool) -> Path:
    """checkpoints/<name>.safetensors, refusing to replace a published model unless asked, and refusing to write
    into an installed package (its files are the release, and site-packages may be shared)."""
    parts = name.split("/")
    if len(parts) != 2 or not all(parts) or any(c in name for c in "\\:") or ".." in parts:
        raise ValueError(f"name must be 'model/variant'; got {name!r}")
    root = checkpoints_root()
    from .paths import _PKG, source_checkout

    if source_checkout() is None and root.resolve().is_relative_to(_PKG) and not os.environ.get("ZOO_CHECKPOINTS"):
        raise ValueError(f"will not publish into the installed package ({root}); set ZOO_CHECKPOINTS to a folder of "
                         "your own")
    out = root / f"{name}.safetensors"
    if not overwrite and (out.exists() or out.with_suffix(".json").exists()):
        raise FileExistsError(f"{name} is already published at {out}; pass overwrite=True (`zoo publish --overwrite`) "
                              "to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def publish_table(name: str, arrays: dict, *, settings: dict, metrics: list | None = None, paper: list | None = None,
                  source: str = "", wall_time_s: float | None = None, notes: str = "", license: str = "MIT",
                  overwrite: bool = False) -> Path:
    """Write `checkpoints/<name>.safetensors` (named arrays) and a card of kind 'table'."""
    from safetensors.torch import save_file

    model_name = name.split("/")[0]
    get_model_class(model_name)  # the table belongs to a registered model
    out = _publish_target(name, overwrite)
    save_file({k: torch.as_tensor(v).contiguous() for k, v in arrays.items()}, str(out))
    out.chmod(0o644)  # safetensors writes 0600; a published file is read by everyone who shares the checkout
    card = {"name": name, "model": model_name, "kind": "table", "settings": settings, "metrics": metrics or [],
            "paper": paper or [], "dataset": {},
            "training": {"source": source, "wall_time_s": wall_time_s, "hardware": f"{platform.machine()} CPU "
                         f"x{os.cpu_count()}", "git_commit": _git_commit()},
            "versions": {"torch": torch.__version__, "python": platform.python_version()},
            "published": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "notes": notes, "sha256": sha256_file(out), "license": license}
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return out


def publish(ckpt: str, name: str, config: str | None = None, metrics: list | None = None, paper: list | None = None,
            dataset: dict | None = None, training: dict | None = None, notes: str = "", license: str = "MIT",
            overwrite: bool = False) -> Path:
    """Write `checkpoints/<name>.safetensors` and its card from a Lightning checkpoint."""
    from safetensors.torch import save_file

    model_name = name.split("/")[0]
    cls = get_model_class(model_name)
    out = _publish_target(name, overwrite)
    state = load_lightning_checkpoint(ckpt)
    # LightningCLI stores its own keys (`_class_path`, `_instantiator`) beside the init args; the class it built is
    # the one the card must name (a variant class of the model, not necessarily its default)
    hp = state["hyper_parameters"]
    init_args = {k: v for k, v in hp.items() if not k.startswith("_")}
    cls, init_args = card_class({"name": name, "model": model_name, "class_path": hp.get("_class_path"),
                                 "init_args": init_args})
    model = cls(**init_args)
    model.load_state_dict(state["state_dict"])
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out))
    out.chmod(0o644)  # as the card (safetensors writes 0600)
    import pytorch_lightning
    import torchmetrics

    card = {
        "name": name,
        "model": model_name,
        "class_path": class_path(cls),
        "init_args": init_args,
        "config": config,
        "dataset": dataset or {},
        "metrics": metrics or [],
        "paper": paper or [],
        "training": {"epochs": state.get("epoch", 0) + 1, "global_step": state.get("global_step"),
                     "source_checkpoint": str(ckpt), "hardware": f"{platform.machine()} CPU x{os.cpu_count()}",
                     "git_commit": _git_commit(), **(training or {})},
        "versions": {"torch": torch.__version__, "pytorch_lightning": pytorch_lightning.__version__,
                     "torchmetrics": torchmetrics.__version__, "python": platform.python_version()},
        "published": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "notes": notes,
        "sha256": sha256_file(out),
        "license": license,
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return out
