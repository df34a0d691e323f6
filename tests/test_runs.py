"""Run folders: read back whatever a crash or a stray write left in them; every write is
atomic and durable (unique temporary file, fsync, rename); one writer at a time (the lock)."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.run.folder import Run, environment
from zoo.sweeps.lock import WRITER_LOCK, FolderBusy

ROOT = Path(__file__).resolve().parent.parent


def test_corrupt_files_read_as_missing_or_skipped(tmp_path):
    run = Run(tmp_path / "r")
    run.create()
    for content in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"status": "fin'):
        run.file("summary.json").write_bytes(content)
        assert run.summary() is None
    run.file("metrics.jsonl").write_bytes(b'{"step": 1}\n\xff\xfe\n[3]\n{"step": 2}\n{"st')
    assert run.records() == [{"step": 1}, {"step": 2}]
    run.update_summary(status="running")  # a corrupt summary is replaced, not a crash
    assert run.summary() == {"status": "running"}


# --- writes: unique temporary file, fsync, rename ------------------------------------------

def test_every_write_is_fsynced_through_a_unique_temporary_file(tmp_path, monkeypatch):
    import os

    import torch

    run = Run(tmp_path / "r").create()
    synced, renamed = [], []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}"))
                        or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: renamed.append((str(a), str(b)))
                        or real_replace(a, b))
    run.write_text("config.gin", "a = 1\n")
    run.update_summary(status="running")
    run.save_checkpoint({"step": 3, "w": torch.ones(2)})
    run.truncate_records(0)
    run.log({"kind": "train", "step": 1})
    targets = [str(run.file(n)) for n in ("config.gin", "summary.json", "checkpoint.pt",
                                          "metrics.jsonl")]
    assert [b for _, b in renamed] == targets
    temps = [a for a, _ in renamed]
    assert len(set(temps)) == len(temps) and all(a.startswith(b + ".") for a, b in renamed)
    assert all(t in synced for t in temps)                     # each fsync'ed before the rename
    assert str(run.file("metrics.jsonl")) in synced[-1:]       # the appended record too
    assert str(run.path) in synced                             # and the folder's entries
    assert run.load_checkpoint()["step"] == 3 and run.records() == [{"kind": "train", "step": 1}]
    assert sorted(p.name for p in run.path.iterdir()) == sorted(
        ["config.gin", "summary.json", "checkpoint.pt", "metrics.jsonl"])


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    import pickle

    import torch

    run = Run(tmp_path / "r").create()
    run.save_checkpoint({"step": 1, "w": torch.ones(3)})
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        run.save_checkpoint({"step": 2, "w": torch.zeros(3), "f": lambda: 0})  # fails mid-write
    assert run.load_checkpoint()["step"] == 1
    assert [p.name for p in run.path.iterdir()] == ["checkpoint.pt"]


# --- one writer per run folder -------------------------------------------------------------

HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from zoo.run.folder import Run
with Run({folder!r}).lock("train"):
    print("held", flush=True)
    time.sleep(120)
"""


def hold_lock(folder):
    """A subprocess holding ``folder``'s writer lock (role train); returns once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD.format(root=str(ROOT), folder=str(folder))],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path):
    folder = tmp_path / "r"
    proc = hold_lock(folder)
    try:
        busy = (f"run folder {folder} is in use by pid {proc.pid} (train); wait for it or pass "
                f"another --workdir")
        with pytest.raises(FolderBusy) as err:
            with Run(folder).lock("eval"):
                pass
        assert str(err.value) == busy
        r = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), "--gin_file",
                            "gin/debug.gin", "--no_progress", "--workdir", str(folder)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert r.returncode == 2 and busy in " ".join(r.stderr.split()), r.stderr
        assert sorted(p.name for p in folder.iterdir()) == [WRITER_LOCK]  # nothing written
    finally:
        proc.kill()
        proc.wait()
    with Run(folder).lock("eval") as run:                       # a dead holder's lock is taken
        assert json.loads(run.file(WRITER_LOCK).read_text())["pid"] == os.getpid()
        assert json.loads(run.file(WRITER_LOCK).read_text())["role"] == "eval"
    assert not (folder / WRITER_LOCK).exists()


def test_a_dead_writers_lock_and_partial_files_are_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = Run(tmp_path / "r").create()
    run.file(WRITER_LOCK).write_text(json.dumps({"pid": dead.pid, "role": "train",
                                                 "host": socket.gethostname(), "token": "x"}))
    run.file("checkpoint.pt.k3j2_x.tmp").write_bytes(b"torn")
    with run.lock("train"):
        assert not run.file("checkpoint.pt.k3j2_x.tmp").exists()
        with pytest.raises(FolderBusy, match=f"in use by pid {os.getpid()} \\(train\\)"):
            with Run(run.path).lock("train"):                   # the same folder, held here
                pass
    assert not run.file(WRITER_LOCK).exists()


def test_environment_names_what_the_run_ran_on():
    import platform

    import torch

    env = environment()
    assert env["torch_version"] == torch.__version__
    assert env["python_version"] == platform.python_version()
    assert env["cuda_version"] == (torch.version.cuda if torch.cuda.is_available() else None)
    assert env["host"] == socket.gethostname()
    assert env["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert env["cpu"] is None or (isinstance(env["cpu"], str) and env["cpu"])


def test_a_held_lock_is_kept_fresh_until_released(tmp_path):
    """The heartbeat rewrites the lock (a holder on another host is judged by its age) and
    stops before release, so no late refresh brings a released lock back."""
    import time

    from zoo.sweeps.lock import RunLock

    lock = RunLock(tmp_path, WRITER_LOCK, "train")
    assert lock.acquire()
    first = json.loads(lock.path.read_text())["time"]
    lock.heartbeat(every=0.01)
    deadline = time.time() + 60
    while json.loads(lock.path.read_text())["time"] == first and time.time() < deadline:
        time.sleep(0.01)
    assert json.loads(lock.path.read_text())["time"] > first
    lock.release()
    time.sleep(0.05)
    assert not lock.path.exists() and sorted(tmp_path.iterdir()) == []
