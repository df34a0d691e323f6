"""Sweeps: expansion and names, dry run, skip/resume/retry, locks and racing sweeps, submitit.

Most tests replace tools/train.py by a fake trainer (``--trainer``) that obeys the run-folder
contract in milliseconds; one test runs a real tiny sweep of tools/train.py end to end.
"""
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zoo.sweeps import build_sweep, chain, fixed, parse_axis, product, split_values, sweep, zip
from zoo.sweeps.launch import make_jobs, run_jobs, threads_per_worker
from zoo.sweeps.lock import LOCK, RunLock

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

FAKE = r'''
import json, os, sys, time
from pathlib import Path
args = sys.argv[1:]
wd = Path(args[args.index("--workdir") + 1])
params = dict(p.split(" = ", 1) for p in (args[i + 1] for i, a in enumerate(args) if a == "--gin_param"))
wd.mkdir(parents=True, exist_ok=True)
with open(wd / "executions.txt", "a") as f:
    f.write(f"{os.getpid()} {os.environ.get('OMP_NUM_THREADS')}\n")
attempts = len((wd / "executions.txt").read_text().splitlines())
time.sleep(float(params.get("fake.sleep", "0")))
if params.get("fake.crash") == "True" and attempts == 1:
    sys.exit(2)  # a bad config: no summary at all
if params.get("fake.kill") == "True" and attempts == 1:
    (wd / "summary.json").write_text(json.dumps({"status": "running", "step": 2}))
    os.kill(os.getpid(), 9)
status = params.get("fake.status", "'finished'").strip("'")
if params.get("fake.fail_first") == "True":
    status = "failed" if attempts == 1 else "finished"
(wd / "metrics.jsonl").write_text(json.dumps({"kind": "train", "step": 5, "loss": 1.5}) + "\n")
summary = {"status": status, "step": 5, "steps": 5, "seed": int(params.get("train.seed", 0))}
if status == "finished":
    summary["final_metrics"] = {"energy_distance": 0.1}
if status == "failed":
    summary["error"] = "FloatingPointError: boom"
(wd / "summary.json").write_text(json.dumps(summary))
sys.exit(1 if status == "failed" else 0)
'''


@pytest.fixture()
def fake(tmp_path):
    path = tmp_path / "fake_train.py"
    path.write_text(FAKE)
    return [PY, str(path)]


def _tool_main(name):
    spec = importlib.util.spec_from_file_location(f"tool_{name}", ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


class Quiet:
    """A view that records states instead of drawing them."""

    def __init__(self):
        self.seen = []

    def update(self, states, details=None):
        self.seen.append(dict(states))


def executions(wd) -> int:
    path = Path(wd) / "executions.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_product_zip_chain_expand_in_order():
    a, b = sweep("train.kernel", ["@laplace", "@gaussian"]), sweep("train.lr", [1e-3, 1e-2, 0.1])
    grid = product(a, b)
    assert len(grid) == 6 and grid[1] == {"train.kernel": "@laplace", "train.lr": "0.01"}
    paired = zip(sweep("x.a", [1, 2]), sweep("x.b", ["'u'", "'v'"]))
    assert paired == [{"x.a": "1", "x.b": "'u'"}, {"x.a": "2", "x.b": "'v'"}]
    with pytest.raises(ValueError, match="different lengths"):
        zip(a, b)
    both = chain(a, fixed("train.field", "@split"))
    assert len(both) == 3 and both[2] == {"train.field": "@split"}
    assert sweep("train.temperatures", [(1.0, 4.0)]) == [{"train.temperatures": "(1.0, 4.0)"}]


def test_axis_values_split_outside_brackets_and_quotes():
    assert split_values("(1.0, 4.0),(0.5, 2.0)") == ["(1.0, 4.0)", "(0.5, 2.0)"]
    assert split_values("[1, (2, 3)], {'a': 1}, 'x,y'") == ["[1, (2, 3)]", "{'a': 1}", "'x,y'"]
    assert parse_axis("train.kernel=@laplace,@gaussian") == [{"train.kernel": "@laplace"},
                                                             {"train.kernel": "@gaussian"}]
    for bad in ("train.kernel", "train.t=(1, 2", "x=1,,2"):
        with pytest.raises(ValueError):
            parse_axis(bad)


def test_run_names_are_stable_unique_and_filesystem_safe(tmp_path):
    long = "(" + ", ".join(str(i * 0.125) for i in range(20)) + ")"
    axes = chain(product(sweep("train.kernel", ["@laplace", "@gaussian"]),
                         sweep("train.temperatures", ["(1.0, 4.0)", "[1.0, 4.0]", long])),
                 product(fixed("train.kernel", "@laplace"), sweep("laplace.tau", [0.1])))
    make = lambda: build_sweep(gin_files=["gin/debug.gin"], axes=[axes], seeds=[0, 1], name="s").points(tmp_path)
    first, second = make(), make()
    names = [p.name for p in first]
    assert names == [p.name for p in second]  # stable across invocations
    assert len(set(names)) == len(names) == 14
    assert all(len(n) <= 100 and n.replace("-", "").replace("_", "").replace(".", "").isalnum() for n in names)
    assert "kernel-laplace_temperatures-1.0-4.0_s0" in names[0]  # collides with [1.0, 4.0]: hashed
    assert names[0] != "kernel-laplace_temperatures-1.0-4.0_s0"
    assert any(n.startswith("kernel-gaussian_temperatures-0.0-0.125") for n in names)
    assert names[-1] == "kernel-laplace_tau-0.1_s1"
    assert all(p.workdir == tmp_path / "s" / p.name for p in first)
    with pytest.raises(ValueError, match="duplicate"):
        build_sweep(gin_files=["gin/debug.gin"], axes=[chain(axes[:1], axes[:1])], name="d").points(tmp_path)


def test_dry_run_lists_reference_sweep_and_creates_nothing(tmp_path, capsys):
    main = _tool_main("sweep")
    outs = []
    for _ in range(2):
        assert main(["gin/sweeps/toy_kernels.py", "--dry_run", "--root", str(tmp_path)]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1]
    lines = [ln for ln in outs[0].splitlines() if str(tmp_path) in ln]
    assert len(lines) == 12 and all(ln.split()[0] == "new" for ln in lines)
    folders = {ln.split()[1] for ln in lines}
    assert len(folders) == 12 and str(tmp_path / "toy_kernels" / "kernel-gaussian_temperatures-0.5-2.0_s2") in folders
    assert "train.steps = 300" in outs[0] and not (tmp_path / "toy_kernels").exists()


def test_threads_per_worker():
    assert threads_per_worker(2, cores=2, env={}) == 1 and threads_per_worker(4, cores=2, env={}) == 1
    assert threads_per_worker(2, cores=16, env={}) == 8 and threads_per_worker(1, cores=3, env={}) == 3


def test_threads_per_worker_honours_the_callers_omp_num_threads():
    """OMP_NUM_THREADS=1 drift-zoo sweep --workers 1 on 2 cores ran every run on 2 threads (the
    sweep overwrote the variable for its subprocesses), the oversubscription it was set to avoid."""
    assert threads_per_worker(1, cores=2, env={"OMP_NUM_THREADS": "1"}) == 1
    assert threads_per_worker(1, cores=16, env={"OMP_NUM_THREADS": "4"}) == 4
    assert threads_per_worker(4, cores=16, env={"OMP_NUM_THREADS": "8"}) == 4  # a cap, not a floor
    assert threads_per_worker(1, cores=2, env={}) == 2
    assert threads_per_worker(1, cores=2, env={"OMP_NUM_THREADS": "junk"}) == 2


def test_skip_resume_and_retry(tmp_path, fake):
    axes = [chain(fixed("fake.status", "'finished'"), fixed("fake.status", "'interrupted'"),
                  fixed("fake.fail_first", True), fixed("fake.crash", True), fixed("fake.kill", True))]
    def go(retry=False):
        sw = build_sweep(gin_files=["gin/debug.gin"], axes=axes, seeds=[0], name="r")
        jobs = make_jobs(sw, tmp_path, threads=3, retry=retry, trainer=fake)
        return jobs, [r["status"] for r in run_jobs(jobs, Quiet(), workers=2, poll=0.05)]
    jobs, first = go()
    wds = [j.workdir for j in jobs]
    assert first == ["done", "interrupted", "failed", "failed", "interrupted"]
    assert Path(wds[0], "executions.txt").read_text().split()[1] == "3"  # threads reach the trainer
    assert json.loads(Path(wds[3], "summary.json").read_text())["status"] == "failed"  # remembered
    _, second = go()  # finished: skipped; interrupted and killed: resumed; failed: not retried
    assert second == ["skipped", "interrupted", "failed", "failed", "done"]
    assert [executions(w) for w in wds] == [1, 2, 1, 1, 2]
    _, third = go(retry=True)
    assert third == ["skipped", "interrupted", "done", "done", "skipped"]
    assert [executions(w) for w in wds] == [1, 3, 2, 2, 2]
    assert not any(Path(w, LOCK).exists() for w in wds)


def test_stale_and_live_locks(tmp_path):
    sleeper = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.Popen([PY, "-c", "pass"])
        dead.wait()
        cases = {"dead": ({"pid": dead.pid, "child": None, "host": socket.gethostname()}, True),
                 "live": ({"pid": sleeper.pid, "child": None, "host": socket.gethostname()}, False),
                 "child": ({"pid": dead.pid, "child": sleeper.pid, "host": socket.gethostname()}, False),
                 "remote": ({"pid": dead.pid, "child": None, "host": "elsewhere"}, False),
                 "old": ({"pid": sleeper.pid, "host": "elsewhere"}, True)}
        for name, (info, breakable) in cases.items():
            (tmp_path / name).mkdir()
            (tmp_path / name / LOCK).write_text(json.dumps({**info, "token": name}))
            if name == "old":
                os.utime(tmp_path / name / LOCK, (time.time() - 10**5,) * 2)
            lock = RunLock(tmp_path / name)
            assert lock.acquire() is breakable, name
            if breakable:
                assert json.loads((tmp_path / name / LOCK).read_text())["pid"] == os.getpid()
                assert not RunLock(tmp_path / name).acquire()  # now held by a live pid
                lock.release()
                assert not (tmp_path / name / LOCK).exists()
        assert [p.name for p in tmp_path.rglob("*.stale.*")] == []
    finally:
        sleeper.kill()


def test_two_sweeps_racing_run_each_point_once(tmp_path, fake):
    cmd = [PY, str(ROOT / "tools" / "sweep.py"), "--gin_file", "gin/debug.gin", "--root", str(tmp_path),
           "--name", "race", "--axis", "x.a=1,2,3,4", "--seeds", "0,1", "--gin_param", "fake.sleep = 0.3",
           "--workers", "3", "--trainer", " ".join(fake)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    runs = sorted(p for p in (tmp_path / "race").iterdir() if p.is_dir())
    assert len(runs) == 8, outs
    assert [executions(r) for r in runs] == [1] * 8, outs
    assert all(json.loads((r / "summary.json").read_text())["status"] == "finished" for r in runs)
    # a run the other sweep holds is 'busy' (rc 1) or was finished before this one looked (rc 0)
    assert all(p.returncode in (0, 1) for p in procs), outs
    assert all("failed" not in o[0] for o in outs), outs


def test_submitit_local_executor_path(tmp_path, fake):
    pytest.importorskip("submitit")
    sw = build_sweep(gin_files=["gin/debug.gin"], axes=[chain(fixed("fake.status", "'finished'"),
                                                              fixed("fake.status", "'failed'"))], name="sub")
    jobs = make_jobs(sw, tmp_path, threads=2, trainer=fake)
    results = run_jobs(jobs, Quiet(), launcher="submitit_local", workers=2, folder=tmp_path / "sub", poll=0.2)
    assert [r["status"] for r in results] == ["done", "failed"]
    assert "FloatingPointError: boom" in results[1]["detail"]
    assert list((tmp_path / "sub" / ".submitit").iterdir())  # submitit's own logs
    assert [executions(j.workdir) for j in jobs] == [1, 1]
    again = run_jobs(jobs, Quiet(), launcher="submitit_local", workers=2, folder=tmp_path / "sub")
    assert [r["status"] for r in again] == ["skipped", "failed"] and executions(jobs[1].workdir) == 1


def test_real_tiny_sweep_trains_then_skips(tmp_path, capsys):
    main = _tool_main("sweep")
    args = ["--gin_file", "gin/debug.gin", "--axis", "train.kernel=@gaussian", "--root", str(tmp_path),
            "--name", "tiny", "--gin_param", "train.steps = 4", "--gin_param", "train.eval_samples = 64",
            "--gin_param", "train.eval_every = 0"]
    assert main(args) == 0, capsys.readouterr()
    (run,) = [p for p in (tmp_path / "tiny").iterdir() if p.is_dir()]
    assert run.name == "s0"  # nothing varies but the seed
    assert (tmp_path / "tiny" / "curves.png").is_file()  # the sweep's curves, overlaid
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["kernel"] == "gaussian" and summary["step"] == 4
    assert "train.kernel = @gaussian" in (run / "config.gin").read_text() and (run / "checkpoint.pt").exists()
    assert (run / "train.log").read_text().count("# sweep attempt") == 1 and not (run / LOCK).exists()
    capsys.readouterr()
    assert main(args) == 0
    assert "1 skipped" in capsys.readouterr().out
    assert (run / "train.log").read_text().count("# sweep attempt") == 1


def test_editing_an_included_gin_file_makes_the_run_folder_a_conflict(tmp_path, fake):
    """The conflict check compares the resolved config: an edit to a file the sweep's base
    config includes is another config, reported and never overwritten."""
    (tmp_path / "a.gin").write_text("include 'b.gin'\ntrain.steps = 4\n")
    (tmp_path / "b.gin").write_text("include 'gin/debug.gin'\ntrain.lr = 0.001\n")

    def go():
        sw = build_sweep(gin_files=[str(tmp_path / "a.gin")], name="inc")
        jobs = make_jobs(sw, tmp_path / "runs", trainer=fake)
        return jobs, [r["status"] for r in run_jobs(jobs, Quiet(), workers=1, poll=0.05)]
    jobs, first = go()
    (wd,) = [j.workdir for j in jobs]
    Path(wd, "config.gin").write_text(jobs[0].config)  # what tools/train.py writes
    assert first == ["done"] and "train.lr = 0.001" in jobs[0].config
    assert go()[1] == ["skipped"]
    (tmp_path / "b.gin").write_text("include 'gin/debug.gin'\ntrain.lr = 0.01\n")  # a.gin untouched
    jobs, third = go()
    assert third == ["conflict"] and executions(wd) == 1
    assert "train.lr = 0.001" in Path(wd, "config.gin").read_text()  # not overwritten


SWEEP_FILES = sorted(str(p) for p in (Path(__file__).parents[1] / "gin" / "sweeps").glob("*.py"))


@pytest.mark.parametrize("sweep_file", SWEEP_FILES)
def test_every_committed_sweep_file_lists_its_points(sweep_file, tmp_path, capsys):
    """A sweep file a results table cites must load (axes, seeds, paper dict) and plan its runs."""
    assert _tool_main("sweep")([sweep_file, "--dry_run", "--root", str(tmp_path)]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if str(tmp_path) in ln]
    assert lines and all(ln.split()[0] == "new" for ln in lines)
    assert not any(tmp_path.iterdir())
