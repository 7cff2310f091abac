"""Phase-diagram sweep execution (zoo.ntk_gan_sweep.sweep, benchmarks/reproduce_ntk_gan_sweep.py): the process-pool
mode runs the same cells as the batched ensemble, a resumed sweep skips finished cells, torchrun ranks write the
same per-cell files as one process, and the averaged order parameter is the mean of the recorded MC trajectory
over its window."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo import ntk_gan_sweep as S

REPO = Path(__file__).resolve().parents[2]
TINY = dict(steps=6, n_particles=12, width=16, lr_d=5e-2, lr_g=1.0, init_std=0.5, dtype=torch.float64, progress=False)


def _reproduce():
    spec = importlib.util.spec_from_file_location("reproduce_ntk_gan_sweep",
                                                  REPO / "benchmarks" / "reproduce_ntk_gan_sweep.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("critic", ["relu"])
def test_processes_mode_gives_the_batched_table(critic):
    ratios, n_discs = [0.0, 0.2, 0.9], [1, 2]
    batched = S.sweep(ratios, n_discs, critic=critic, mode="batched", **TINY)
    pool = S.sweep(ratios, n_discs, critic=critic, mode="processes", workers=2, **TINY)
    serial = S.sweep(ratios, n_discs, critic=critic, mode="processes", workers=1, chunk=2, **TINY)
    assert len({c["pid"] for c in pool["cells"]} - {c["pid"] for c in serial["cells"]}) >= 1  # ran in workers
    for other in (pool, serial):
        np.testing.assert_array_equal(other["counts"], batched["counts"])
        np.testing.assert_allclose(other["mc"], batched["mc"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(other["mc_avg"], batched["mc_avg"], rtol=1e-12, atol=1e-12)
    # the runs differ from each other (the test is not comparing constants)
    assert len({tuple(c) for c in batched["counts"].reshape(-1, 8).tolist()}) > 1


def test_resume_skips_finished_cells():
    ratios, n_discs = [0.0, 0.3, 1.0], [1, 3]
    full = S.sweep(ratios, n_discs, mode="processes", workers=1, **TINY)
    done = [c for c in full["cells"] if c["n_disc"] == 1 or c["r"] == 0.3]
    seen = []
    resumed = S.sweep(ratios, n_discs, mode="batched", done=done, on_cell=seen.append, **TINY)
    assert sorted((c["n_disc"], c["r"]) for c in seen) == [(3, 0.0), (3, 1.0)]
    np.testing.assert_allclose(resumed["mc_avg"], full["mc_avg"], rtol=1e-12, atol=1e-12)


def test_reproduce_script_resumes_and_refuses_other_settings(tmp_path, capsys):
    R = _reproduce()
    out = tmp_path / "sweep.json"
    base = ["--critic", "tanh", "--n-ratios", "3", "--steps", "4", "--width", "16", "--n-particles", "12",
            "--workers", "1", "--out", str(out)]
    threads = torch.get_num_threads()
    try:
        R.main(base + ["--n-discs", "1"])
        first = json.loads(out.read_text())
        assert first["complete"] and len(first["cells"]) == 3 and first["settings"]["spacing"] == "linear"
        capsys.readouterr()
        R.main(base + ["--n-discs", "1,2"])  # resume: only the n_disc = 2 cells run
        assert "3 of 6 cells to run" in capsys.readouterr().out
        second = json.loads(out.read_text())
        # an explicit --ratios grid (the old one plus a point between) runs only the new r's cells
        refined = ",".join(str(r) for r in second["ratios"] + [0.5 * (second["ratios"][0] + second["ratios"][1])])
        R.main(base[:2] + ["--ratios", refined] + base[4:] + ["--n-discs", "1,2"])
        assert "2 of 8 cells to run" in capsys.readouterr().out
        third = json.loads(out.read_text())
        assert len(third["ratios"]) == 4 and third["complete"]
        with pytest.raises(ValueError, match="at least two"):
            R.main(base[:2] + ["--ratios", "0.1"] + base[4:] + ["--n-discs", "1"])
        out.write_text(json.dumps(second))  # back to the 3-point grid for the checks below
        assert second["complete"] and second["mc"][0] == first["mc"][0] and len(second["wall_s_sessions"]) == 2
        with pytest.raises(ValueError, match="other settings"):
            R.main(base + ["--n-discs", "1", "--lr-g", "1e-3"])
        # the cell files of other settings stop a resume as the JSON does; --restart moves them aside
        out.unlink()
        with pytest.raises(ValueError, match="other settings"):
            R.main(base + ["--n-discs", "1", "--lr-g", "1e-3"])
        R.main(base + ["--n-discs", "1", "--lr-g", "1e-3", "--restart"])
        assert len(list(out.with_suffix(".cells.prev").glob("n*.json"))) == 8  # the 4 r x 2 n_disc grid's
        assert {json.loads(f.read_text())["settings"]["lr_g"] for f in R.cells_dir(out).glob("n*.json")} == {1e-3}
        # the cell files hold every cell too: without them only the JSON (in the first format below) is read
        shutil.rmtree(R.cells_dir(out))
        # the first JSON format (a final-MC matrix, no cells) resumes under --order-param final
        old = {"settings": {k: v for k, v in second["settings"].items() if k != "avg_frac"},
               "ratios": second["ratios"], "n_discs": [1], "mc": [second["mc_final"][0]], "wall_s_total": 1.0}
        out.write_text(json.dumps(old))
        capsys.readouterr()
        R.main(base + ["--n-discs", "1", "--order-param", "final"])
        assert "0 of 3 cells to run" in capsys.readouterr().out
    finally:
        torch.set_num_threads(threads)


def test_published_sweep_table_loads_by_name(tmp_path, monkeypatch):
    import zoo

    R = _reproduce()
    monkeypatch.setenv("ZOO_CHECKPOINTS", str(tmp_path / "ck"))
    threads = torch.get_num_threads()
    try:
        R.main(["--critic", "fourier-exp", "--n-ratios", "3", "--n-discs", "1,2", "--steps", "3", "--n-particles", "12",
                "--workers", "1", "--out", str(tmp_path / "s.json"), "--publish", "ntk_gan/sweep-fourier-exp"])
    finally:
        torch.set_num_threads(threads)
    t = zoo.load_pretrained("ntk_gan/sweep-fourier-exp")
    res = json.loads((tmp_path / "s.json").read_text())
    assert t.card["settings"]["order_param"] == "avg" and t.card["settings"]["spacing"] == "linear"
    np.testing.assert_allclose(t["mc"].numpy(), np.array(res["mc_avg"], float))
    assert t["mc_final"].shape == (2, 3) and [p["value"] for p in t.card["paper"]] == [1.86]
    # --publish replaces its own earlier table (hub.publish_table refuses that without overwrite=True)
    R.main(["--critic", "fourier-exp", "--n-ratios", "3", "--n-discs", "1,2", "--steps", "3", "--n-particles", "12",
            "--out", str(tmp_path / "s.json"), "--publish", "ntk_gan/sweep-fourier-exp", "--publish-only",
            "--order-param", "final"])
    card = json.loads((tmp_path / "ck" / "ntk_gan" / "sweep-fourier-exp.json").read_text())
    assert card["settings"]["order_param"] == "final"
    with pytest.raises(ValueError, match="does not match"):
        R.main(["--critic", "tanh", "--publish", "ntk_gan/sweep-relu", "--out", str(tmp_path / "x.json")])


@pytest.mark.parametrize("mode", ["batched", "processes"])
def test_ranks_share_the_jobs(mode):
    ratios, n_discs = [0.0, 0.4, 1.0], [1, 2, 3]
    full = S.sweep(ratios, n_discs, mode=mode, **TINY)
    shares = [S.sweep(ratios, n_discs, mode=mode, rank=k, world_size=2, **TINY)["cells"] for k in (0, 1)]
    keys = [{S.cell_key(c["n_disc"], c["r"]) for c in cells} for cells in shares]
    assert keys[0] and keys[1] and not keys[0] & keys[1]  # both ranks work, no cell twice
    assert keys[0] | keys[1] == {S.cell_key(c["n_disc"], c["r"]) for c in full["cells"]}
    own = {S.cell_key(c["n_disc"], c["r"]): c for c in shares[0] + shares[1]}
    for c in full["cells"]:
        assert own[S.cell_key(c["n_disc"], c["r"])]["counts"] == c["counts"]
    with pytest.raises(ValueError, match="rank"):
        S.sweep(ratios, n_discs, rank=2, world_size=2, **TINY)


def test_torchrun_ranks_write_the_one_rank_cell_files(tmp_path, subprocess_env, free_port, monkeypatch, capsys):
    """2 torchrun ranks resume a killed run (some cell files, no JSON) and write the process pool's bytes."""
    R = _reproduce()
    for var in ("RANK", "WORLD_SIZE"):  # the in-process runs are the 1-rank reference
        monkeypatch.delenv(var, raising=False)
    # lr_g 1, width 16, 4 steps: cheap, and the clouds move, so the cells differ (bytes of constants prove nothing)
    args = ["--critic", "relu", "--n-ratios", "3", "--n-discs", "1,2", "--steps", "4", "--width", "16",
            "--n-particles", "12", "--lr-g", "1.0", "--lr-d", "0.05"]
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    threads = torch.get_num_threads()
    try:
        R.main(args + ["--workers", "2", "--out", str(one)])
    finally:
        torch.set_num_threads(threads)
    files = sorted(f.name for f in R.cells_dir(one).glob("n*.json"))
    assert len(files) == 6 and len({json.dumps(json.loads((R.cells_dir(one) / f).read_text())["counts"])
                                    for f in files}) > 1
    R.cells_dir(two).mkdir()
    for f in files[:2]:  # what a killed 2-rank run left: two cell files, no JSON yet
        shutil.copy(R.cells_dir(one) / f, R.cells_dir(two) / f)
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                          str(free_port()), str(REPO / "benchmarks" / "reproduce_ntk_gan_sweep.py"), *args,
                          "--out", str(two)], env=subprocess_env(), cwd=REPO, capture_output=True, text=True,
                         timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("4 of 6 cells to run") == 2  # both ranks resumed from the cell files
    for k in (0, 1):  # the 4 cells were dealt 2 and 2
        assert len((R.cells_dir(two) / f"timing-rank{k}.jsonl").read_text().splitlines()) == 2
    for f in files:
        assert (R.cells_dir(two) / f).read_bytes() == (R.cells_dir(one) / f).read_bytes(), f

    def deterministic(res):
        res = {k: v for k, v in res.items() if not k.startswith(("wall_s", "run_s")) and k != "execution"}
        res["cells"] = [{k: v for k, v in c.items() if k not in R.TIMING} for c in res["cells"]]
        return res

    merged, reference = json.loads(two.read_text()), json.loads(one.read_text())
    assert merged["execution"]["world_size"] == 2 and merged["complete"]
    assert deterministic(merged) == deterministic(reference)
    # resume: with every cell present a rerun runs nothing (no new timing line, no cell file rewritten)
    before = {f.name: (f.stat().st_mtime_ns, f.read_bytes()) for f in R.cells_dir(two).iterdir()}
    capsys.readouterr()
    try:
        R.main(args + ["--workers", "1", "--out", str(two)])
    finally:
        torch.set_num_threads(threads)
    assert "0 of 6 cells to run" in capsys.readouterr().out
    assert {f.name: (f.stat().st_mtime_ns, f.read_bytes()) for f in R.cells_dir(two).iterdir()} == before


def test_averaged_order_parameter_is_the_mean_over_its_window():
    r = S.run_ensemble([0.0, 0.5], n_disc=1, steps=8, n_particles=12, width=16, lr_d=5e-2, lr_g=0.3,
                       dtype=torch.float64, record_every=1, avg_frac=0.25)
    np.testing.assert_allclose(r["mc_avg"], r["record_mc"][-2:].mean(0))
    np.testing.assert_allclose(r["mc"], r["record_mc"][-1])
    assert not np.allclose(r["record_mc"][-2], r["record_mc"][-1])  # the window holds two different values
    r0 = S.run_ensemble([0.5], n_disc=1, steps=3, n_particles=12, width=16, avg_frac=0.0)
    assert r0["mc_avg"] == r0["mc"]
    with pytest.raises(ValueError, match="avg_frac"):
        S.run_ensemble([0.5], n_disc=1, steps=3, avg_frac=1.5)
    with pytest.raises(ValueError, match="mode"):
        S.sweep([0.5], [1], 3, mode="threads")


def _pooled_module():
    spec = importlib.util.spec_from_file_location("ntk_gan_sweep_pooled", REPO / "benchmarks" / "ntk_gan_sweep_pooled.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pooled_boundary_averages_repeats_and_refuses_mismatched_ones():
    """benchmarks/ntk_gan_sweep_pooled.py: MC averaged per cell over seeds, then one boundary fit; repeats that differ
    in anything but the seed are refused."""
    P = _pooled_module()
    ratios, n_discs = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3], [1, 2, 4, 8]
    hi = float(np.log(8))

    def run(seed, r_star):  # a sharp step from 0 to log 8 at r_star per slice
        mc = [[hi if r > rs else 0.0 for r in ratios] for rs in r_star]
        return {"settings": {"critic": "relu", "steps": 10, "seed": seed}, "ratios": ratios, "n_discs": n_discs,
                "complete": True, "mc_final": mc}

    a, b = run(0, [1, 0.002, 0.005, 0.02]), run(1, [1, 0.002, 0.02, 0.05])
    res = P.pool([a, b], "final")
    np.testing.assert_allclose(res["mc_mean"], (np.array(a["mc_final"]) + np.array(b["mc_final"])) / 2)
    assert res["seeds"] == [0, 1] and set(res["per_seed"]) == {"0", "1"}
    assert res["pooled"]["n_points"] == 3 and np.isfinite(res["pooled"]["slope"])
    with pytest.raises(ValueError, match="only the seed"):
        P.pool([a, {**b, "settings": {**b["settings"], "steps": 20}}], "final")
    with pytest.raises(ValueError, match="distinct seeds"):
        P.pool([a, a], "final")
    with pytest.raises(ValueError, match="not complete"):
        P.pool([a, {**b, "complete": False}], "final")
