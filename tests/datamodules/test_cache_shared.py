"""The dataset cache shared between users and processes: file modes, the per-shard locks (two real
processes generating one recipe write each shard once), cleanup of a killed writer's temp files
(and only a dead writer's), a clear error for an unwritable ZOO_DATA_DIR, and shards holding
pickled objects refused without running them."""
from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from datamodules.cache import CacheNotWritableError, DatasetCache, sha256_file

REPO = Path(__file__).resolve().parents[2]


def _toy_shard(k: int, n: int) -> dict:
    return {"x": np.arange(n * 3, dtype=np.float32).reshape(n, 3) + k}


TOY = functools.partial(_toy_shard, n=4)
RECIPE = {"dataset": "toy-shared", "n": 4}


def test_files_0644_and_folders_0755_whatever_the_umask(tmp_path):
    root = tmp_path / "shared" / "cache"  # two folders the cache creates itself
    old = os.umask(0o077)  # a private umask: without explicit modes everything would be 0600 / 0700
    try:
        c = DatasetCache("toy", RECIPE, 3, root=root)
        c.load(TOY, workers=1, progress=False)
    finally:
        os.umask(old)
    files = sorted(c.dir.iterdir())
    names = {p.name for p in files}
    assert {"recipe.json", "manifest.json", "shard-00000.npz", "shard-00000.sha256"} <= names
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o644)}, \
        {p.name: oct(p.stat().st_mode & 0o777) for p in files}
    for d in (root.parent, root, c.dir):
        assert oct(os.stat(d).st_mode & 0o777) == oct(0o755), d


CHILD = r'''
import os, sys, time
from pathlib import Path
import numpy as np
from datamodules.cache import DatasetCache

root, calls, go = map(Path, sys.argv[1:4])

def make_shard(k):
    (calls / f"{k}-{os.getpid()}").touch()  # one file per call: the test counts them
    time.sleep(0.3)  # long enough for the other process to reach the same shard
    return {"x": np.full(3, k, dtype=np.int64)}

while not go.exists():  # both processes start generating at the same moment
    time.sleep(0.01)
c = DatasetCache("toy", {"dataset": "race"}, 4, root=root)
print("WROTE", " ".join(map(str, c.generate(make_shard, workers=1, progress=False))), flush=True)
c.finalize()
'''


def test_two_processes_generate_each_shard_once(tmp_path, subprocess_env):
    calls, go = tmp_path / "calls", tmp_path / "go"
    calls.mkdir()
    args = [sys.executable, "-c", CHILD, str(tmp_path / "cache"), str(calls), str(go)]
    procs = [subprocess.Popen(args, env=subprocess_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    time.sleep(0.5)  # both are importing / waiting for go
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    made = sorted(int(f.name.split("-")[0]) for f in calls.iterdir())
    assert made == [0, 1, 2, 3], made  # every shard made once, by one of the two processes
    wrote = [[int(k) for k in out.split("WROTE")[1].split()] for out, _ in outs]
    assert sorted(wrote[0] + wrote[1]) == [0, 1, 2, 3]  # each reports only the shards it wrote
    c = DatasetCache("toy", {"dataset": "race"}, 4, root=tmp_path / "cache")
    assert c.is_complete()
    np.testing.assert_array_equal(c.load()["x"], np.repeat(np.arange(4), 3))
    assert not list(c.dir.glob("*.tmp"))


HOLDER = r'''
import fcntl, os, sys, time
from pathlib import Path
from datamodules.cache import DatasetCache

c = DatasetCache("toy", {"dataset": "toy-shared", "n": 4}, 3, root=Path(sys.argv[1]))
c.dir.mkdir(parents=True, exist_ok=True)
fd = os.open(c.lock_path(2), os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)  # a writer busy with shard 2 ...
(c.dir / ".shard-00002.npz.live.tmp").write_bytes(b"half a shard")  # ... half way through its temp file
print("LOCKED", flush=True)
time.sleep(120)
'''


def test_stale_tmp_removed_only_when_its_writer_is_dead(tmp_path, subprocess_env):
    c = DatasetCache("toy", RECIPE, 3, root=tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], env=subprocess_env(), cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "LOCKED"
        dead = [c.dir / ".shard-00000.npz.killed.tmp", c.dir / ".shard-00001.sha256.killed.tmp",
                c.dir / ".recipe.json.killed.tmp"]  # left by a SIGKILLed run: nobody holds their locks
        for p in dead:
            p.write_bytes(b"partial")
        live = c.dir / ".shard-00002.npz.live.tmp"
        result = {}
        t = threading.Thread(target=lambda: result.update(wrote=c.generate(TOY, workers=1, progress=False)))
        t.start()
        time.sleep(1.0)
        assert t.is_alive()  # waiting for the live writer of shard 2 ...
        assert live.exists()  # ... whose temp file is left alone
        assert not [p for p in dead if p.exists()]  # the dead writers' temp files are gone already
        os.kill(holder.pid, signal.SIGKILL)  # the writer dies: the kernel drops its lock
        holder.wait(10)
        t.join(30)
        assert not t.is_alive()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
    assert result["wrote"] == [0, 1, 2]
    assert not live.exists() and not list(c.dir.glob("*.tmp"))
    c.finalize()
    assert c.is_complete()


def test_unwritable_cache_folder_names_zoo_data_dir(tmp_path, monkeypatch):
    # a folder under a regular file cannot be created, even by root (chmod would not stop root)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("ZOO_DATA_DIR", str(blocker / "cache"))
    c = DatasetCache("toy", RECIPE, 3)
    with pytest.raises(CacheNotWritableError, match="ZOO_DATA_DIR") as e:
        c.load(TOY, workers=1, progress=False)
    assert isinstance(e.value, PermissionError)
    assert str(blocker / "cache") in str(e.value) and str(c.dir) in str(e.value)
    from datamodules.ising import IsingDataModule  # the DataModule path (prepare_data) raises the same

    with pytest.raises(CacheNotWritableError, match="ZOO_DATA_DIR"):
        IsingDataModule(L=4, n_samples=150, shard_size=10, progress=False, gen_workers=1).prepare_data()


class _WritesFileWhenUnpickled:
    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


def test_shard_with_pickled_objects_is_refused_not_run(tmp_path):
    c = DatasetCache("toy", RECIPE, 3, root=tmp_path / "cache")
    c.load(TOY, workers=1, progress=False)
    marker = tmp_path / "pwned"
    shard = c.shard_path(1)
    with open(shard, "wb") as f:  # np.savez pickles object arrays
        np.savez(f, x=np.array([_WritesFileWhenUnpickled(marker)], dtype=object))
    # whoever can write the cache can write its checksums too: they do not protect against this
    shard.with_suffix(".sha256").write_text(sha256_file(shard))
    m = json.loads(c.manifest_path.read_text())
    m["shards"][shard.name] = sha256_file(shard)
    c.manifest_path.write_text(json.dumps(m))
    assert c.is_complete()
    with pytest.raises(ValueError, match="shard-00001.npz"):
        c.load()
    assert not marker.exists()
    with np.load(shard, allow_pickle=True) as z:  # the payload is real: a pickle-allowing load runs it
        z["x"]
    assert marker.exists()
