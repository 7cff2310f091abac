"""Content-addressed dataset cache: one folder per recipe hash, shards checked by sha256.

A dataset is a pure function of its recipe and the shard index: shard k is generated from a seed
derived from (recipe hash, k), so the bytes do not depend on the number of worker processes or
ranks.  Layout of an entry::

    $ZOO_DATA_DIR/<name>-<hash>/recipe.json
                               /shard-00000.npz  + shard-00000.sha256
                               /manifest.json   {"shards": {"shard-00000.npz": sha256, ...}}

Every file is written to a temporary name and renamed, so a killed run leaves complete shards
(reused on the next run) and no manifest.  A shard whose bytes do not match its checksum is
regenerated with a warning, never used.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["data_root", "recipe_hash", "DatasetCache", "CorruptCacheWarning"]


class CorruptCacheWarning(UserWarning):
    pass


def data_root() -> Path:
    return Path(os.environ.get("ZOO_DATA_DIR", Path.home() / ".cache" / "physics-zoo"))


def recipe_hash(recipe: dict) -> str:
    blob = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_npz(arrays: dict) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return write


def _write_text(text: str) -> Callable[[Path], None]:
    return lambda tmp: tmp.write_text(text)


def _shard_worker(args):
    make_shard, k, path = args
    _atomic_write(path, _write_npz(make_shard(k)))
    digest = _sha256(path)
    _atomic_write(path.with_suffix(".sha256"), _write_text(digest))
    return k, digest


class DatasetCache:
    """One cache entry: `DatasetCache(name, recipe, n_shards).load(make_shard)` -> dict of arrays.

    make_shard(k) -> dict[str, np.ndarray] must be a picklable top-level callable (a
    functools.partial is fine) that depends only on the recipe and k.
    """

    def __init__(self, name: str, recipe: dict, n_shards: int, root: str | os.PathLike | None = None):
        if n_shards < 1:
            raise ValueError(f"n_shards must be >= 1; got {n_shards}")
        self.recipe = recipe
        self.hash = recipe_hash(recipe)
        self.n_shards = n_shards
        self.dir = Path(root or data_root()) / f"{name}-{self.hash}"

    def shard_path(self, k: int) -> Path:
        return self.dir / f"shard-{k:05d}.npz"

    @property
    def manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def _valid(self, k: int, manifest: dict | None) -> bool:
        p = self.shard_path(k)
        if not p.exists():
            return False
        expected = (manifest or {}).get(p.name)
        side = p.with_suffix(".sha256")
        if expected is None and side.exists():
            expected = side.read_text().strip()
        if expected is None:
            warnings.warn(f"{p} has no checksum (partial write?); regenerating", CorruptCacheWarning, stacklevel=3)
            return False
        if _sha256(p) != expected:
            warnings.warn(f"{p} does not match its sha256 (corrupt cache entry); regenerating", CorruptCacheWarning,
                          stacklevel=3)
            return False
        return True

    def _read_manifest(self) -> dict | None:
        try:
            m = json.loads(self.manifest_path.read_text())
            if m.get("recipe_hash") != self.hash or len(m.get("shards", {})) != self.n_shards:
                raise ValueError("manifest does not describe this recipe")
            return m["shards"]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as e:
            warnings.warn(f"{self.manifest_path} is unreadable ({e}); rechecking shards", CorruptCacheWarning, stacklevel=3)
            return None

    def generate(self, make_shard: Callable[[int], dict], workers: int | None = None, rank: int = 0,
                 world_size: int = 1, progress: bool = True) -> list[int]:
        """Generate the missing or corrupt shards of this rank's slice (k = rank, rank + world, ...).

        Returns the shard indices this call wrote.  The manifest is written by whoever sees all
        shards valid afterwards (`finalize`).
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        recipe_file = self.dir / "recipe.json"
        if not recipe_file.exists():
            _atomic_write(recipe_file, _write_text(json.dumps(self.recipe, indent=2, sort_keys=True, default=str)))
        manifest = self._read_manifest()
        todo = [k for k in range(rank, self.n_shards, world_size) if not self._valid(k, manifest)]
        if not todo:
            return []
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        jobs = [(make_shard, k, self.shard_path(k)) for k in todo]
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"generating {self.dir.name}", unit="shard", disable=not progress)
        try:
            if workers == 1:
                for j in jobs:
                    _shard_worker(j)
                    bar.update()
            else:
                with ProcessPoolExecutor(workers) as pool:
                    for _ in pool.map(_shard_worker, jobs):
                        bar.update()
        finally:
            bar.close()
        return todo

    def finalize(self) -> None:
        shards = {}
        for k in range(self.n_shards):
            p = self.shard_path(k)
            side = p.with_suffix(".sha256")
            if not (p.exists() and side.exists()):
                raise RuntimeError(f"cache entry {self.dir} is missing shard {k}; run generate() on every rank first")
            shards[p.name] = side.read_text().strip()
        _atomic_write(self.manifest_path, _write_text(json.dumps(
            {"recipe_hash": self.hash, "n_shards": self.n_shards, "shards": shards}, indent=1)))

    def load(self, make_shard: Callable[[int], dict] | None = None, workers: int | None = None,
             progress: bool = True) -> dict[str, np.ndarray]:
        """Verify every shard against the manifest (generating what is missing) and concatenate."""
        manifest = self._read_manifest()
        if manifest is None or not all(self._valid(k, manifest) for k in range(self.n_shards)):
            if make_shard is None:
                raise FileNotFoundError(f"dataset {self.dir} is not generated; call prepare_data() first")
            self.generate(make_shard, workers=workers, progress=progress)
            self.finalize()
        parts = []
        for k in range(self.n_shards):
            with np.load(self.shard_path(k)) as z:
                parts.append({key: z[key] for key in z.files})
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def is_complete(self) -> bool:
        manifest = self._read_manifest()
        return manifest is not None and all(self._valid(k, manifest) for k in range(self.n_shards))
