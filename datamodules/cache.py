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

Shared caches: files are made 0644 and folders 0755 whatever the umask, so other users can read
an entry.  Concurrent writers: each shard has a lock file (`.shard-00000.lock`, fcntl.flock) held
while it is checked, cleaned of a killed run's temp files and written; recipe.json and
manifest.json are written under the entry's `.lock`.  Locks are per shard, not per process or rank
slice, so two jobs generating the same recipe (with any worker count or world size) share the
work and write each shard once, while torchrun ranks, whose slices are disjoint, never wait on
each other.  The kernel drops a killed process's locks: a temp file whose lock can be taken has
no live writer and is removed.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["data_root", "recipe_hash", "DatasetCache", "CorruptCacheWarning", "CacheNotWritableError"]

FILE_MODE, DIR_MODE = 0o644, 0o755  # readable by the other users of a shared cache


class CorruptCacheWarning(UserWarning):
    pass


class CacheNotWritableError(PermissionError):
    """The cache folder cannot be created or written (raised instead of a bare OSError traceback)."""


def data_root() -> Path:
    return Path(os.environ.get("ZOO_DATA_DIR", Path.home() / ".cache" / "physics-zoo"))


def recipe_hash(recipe: dict) -> str:
    blob = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _mkdirs(path: Path) -> None:
    """mkdir -p, chmod 0755 on each folder it creates (mkdir's mode is cut by the umask)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:  # another process made it in between
            if not d.is_dir():
                raise
            continue
        os.chmod(d, DIR_MODE)


@contextlib.contextmanager
def _flock(path: Path):
    """Exclusive flock on `path` (created 0644 if missing), released on exit or by the kernel if we die."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            with contextlib.suppress(PermissionError):  # another user's lock file: theirs to set
                os.fchmod(fd, FILE_MODE)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _remove_stale_tmp(folder: Path, pattern: str) -> None:
    """Temp files of a killed writer; call only while holding the lock that every writer of them holds."""
    for tmp in folder.glob(pattern):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, FILE_MODE)  # mkstemp creates 0600: other users of a shared cache could not read it
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
    """Write shard k under its lock, unless another process wrote it since the caller checked."""
    cache, make_shard, k = args
    path = cache.shard_path(k)
    with _flock(cache.lock_path(k)):
        _remove_stale_tmp(cache.dir, f".{path.stem}.*.tmp")
        side = path.with_suffix(".sha256")
        if path.exists() and side.exists():
            digest = sha256_file(path)
            if digest == side.read_text().strip() and cache.expected.get(path.name, digest) == digest:
                return None
        _atomic_write(path, _write_npz(make_shard(k)))
        _atomic_write(side, _write_text(sha256_file(path)))
    return k


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
        self.root = Path(root or data_root())
        self.root_from = "given as root" if root else "ZOO_DATA_DIR" if os.environ.get("ZOO_DATA_DIR") else \
            "default; ZOO_DATA_DIR is unset"
        self.dir = self.root / f"{name}-{self.hash}"
        self.expected: dict = {}  # manifest checksums seen by generate(), for the shard workers' re-check

    def shard_path(self, k: int) -> Path:
        return self.dir / f"shard-{k:05d}.npz"

    def lock_path(self, k: int | None = None) -> Path:
        """Shard k's lock file, or the entry's (recipe.json, manifest.json) for k=None."""
        return self.dir / (".lock" if k is None else f".shard-{k:05d}.lock")

    def _writable_entry(self) -> None:
        try:
            _mkdirs(self.dir)
            with _flock(self.lock_path()):
                pass
        except OSError as e:
            raise CacheNotWritableError(
                f"cannot write the dataset cache entry {self.dir}: {e.strerror or e}. The cache folder {self.root} "
                f"({self.root_from}) must be a writable folder: set ZOO_DATA_DIR to one.") from e

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
        if sha256_file(p) != expected:
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
        except (FileNotFoundError, NotADirectoryError):  # not generated (or the cache path is unusable)
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
        self._writable_entry()
        recipe_file = self.dir / "recipe.json"
        with _flock(self.lock_path()):
            _remove_stale_tmp(self.dir, ".recipe.json.*.tmp")
            _remove_stale_tmp(self.dir, ".manifest.json.*.tmp")
            if not recipe_file.exists():
                _atomic_write(recipe_file, _write_text(json.dumps(self.recipe, indent=2, sort_keys=True, default=str)))
        manifest = self._read_manifest()
        self.expected = dict(manifest or {})
        todo = []
        for k in range(rank, self.n_shards, world_size):
            with _flock(self.lock_path(k)):  # waits for a live writer of shard k, then sees its result
                _remove_stale_tmp(self.dir, f".{self.shard_path(k).stem}.*.tmp")
                if not self._valid(k, manifest):
                    todo.append(k)
        if not todo:
            return []
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        jobs = [(self, make_shard, k) for k in todo]
        written = []
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"generating {self.dir.name}", unit="shard", disable=not progress)
        try:
            if workers == 1:
                for j in jobs:
                    written.append(_shard_worker(j))
                    bar.update()
            else:
                with ProcessPoolExecutor(workers) as pool:
                    for k in pool.map(_shard_worker, jobs):
                        written.append(k)
                        bar.update()
        finally:
            bar.close()
        return [k for k in written if k is not None]  # a shard another process wrote meanwhile is not ours

    def finalize(self) -> None:
        shards = {}
        for k in range(self.n_shards):
            p = self.shard_path(k)
            side = p.with_suffix(".sha256")
            if not (p.exists() and side.exists()):
                raise RuntimeError(f"cache entry {self.dir} is missing shard {k}; run generate() on every rank first")
            shards[p.name] = side.read_text().strip()
        with _flock(self.lock_path()):
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
            # allow_pickle stays False: a shard holding pickled objects (code run on load) is refused
            try:
                with np.load(self.shard_path(k), allow_pickle=False) as z:
                    parts.append({key: z[key] for key in z.files})
            except ValueError as e:
                raise ValueError(f"{self.shard_path(k)} is not a plain-array shard ({e}); not loaded") from e
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def is_complete(self) -> bool:
        manifest = self._read_manifest()
        return manifest is not None and all(self._valid(k, manifest) for k in range(self.n_shards))
