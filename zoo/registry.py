"""One decorator, one name per architecture (timm-style); pretrained names are `model/variant`."""
from __future__ import annotations

import difflib
import importlib
import importlib.util

_MODELS: dict[str, type] = {}
# registry name -> module holding it; imported lazily so `import zoo` stays cheap.  A name whose
# module is not in this checkout (a paper still being built) is simply not listed.
_MODULES = {"ising_cnn": "zoo.ising_cnn", "schrodinger_cnn": "zoo.schrodinger_cnn", "ednn": "zoo.ednn",
            "rugan": "zoo.rugan", "ntk_gan": "zoo.ntk_gan", "mbl": "zoo.mbl",
            "flows": "zoo.flows", "nqs": "zoo.nqs", "cool": "zoo.cool"}


def register_model(name: str, variant: bool = False):
    """Register `cls` as the model `name` (its default class), or with variant=True as another class of the same
    paper (e.g. `mbl`'s clusterer beside its classifier): cards name their exact class, the registry name groups
    them."""
    def deco(cls):
        if not variant:
            if name in _MODELS and _MODELS[name] is not cls:
                raise ValueError(f"model name {name!r} is registered twice")
            _MODELS[name] = cls
        cls.registry_name = name
        return cls
    return deco


def unknown_name_error(kind: str, name: str, valid) -> KeyError:
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return KeyError(f"unknown {kind} {name!r}.{hint} Valid: {', '.join(valid) or '(none)'}")


def import_class(class_path: str) -> type:
    """'package.module.Class' -> the class (config `class_path` values)."""
    mod, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def list_models() -> list[str]:
    return sorted({n for n, m in _MODULES.items() if _available(m)} | set(_MODELS))


def get_model_class(name: str) -> type:
    if name not in _MODELS:
        if name not in _MODULES or not _available(_MODULES[name]):
            raise unknown_name_error("model", name, list_models())
        importlib.import_module(_MODULES[name])
    return _MODELS[name]
