"""TensorBoard event files beside metrics.jsonl (zoo/run/tensorboard.py), an optional extra."""
import json
import subprocess
import sys

import pytest

from zoo.run import tensorboard
from zoo.run.folder import Run

from tests.test_train import DEBUG, ROOT

RECORDS = [{"kind": "train", "step": 10, "loss": 0.5, "drift_rms/0.05": 0.2, "ok": True},
           {"kind": "eval", "step": 10, "energy_distance": 0.01, "note": "text"}]


def test_records_become_tagged_scalars():
    assert tensorboard.scalars(RECORDS[0]) == [("train/loss", 0.5), ("train/drift_rms/0.05", 0.2)]
    assert tensorboard.scalars(RECORDS[1]) == [("eval/energy_distance", 0.01)]


def test_off_by_default_and_on_by_the_environment(monkeypatch):
    monkeypatch.delenv(tensorboard.ENV, raising=False)
    assert not tensorboard.enabled()
    monkeypatch.setenv(tensorboard.ENV, "0")
    assert not tensorboard.enabled()
    monkeypatch.setenv(tensorboard.ENV, "1")
    assert tensorboard.enabled()


def test_without_the_package_a_run_says_so_once_and_logs_as_before(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(tensorboard.ENV, "1")
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    run = Run(tmp_path / "run").create()
    with tensorboard.mirror(run) as writer:
        assert writer is None and run.listeners == []
        for r in RECORDS:
            run.log(r)
    err = capsys.readouterr().err
    assert err.count("tensorboard is not installed") == 1 and "drift-zoo[tensorboard]" in err
    assert [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()] == RECORDS
    assert not list(run.path.glob("events.out.tfevents.*"))


def test_mirror_sends_every_logged_record_to_the_writer(tmp_path, monkeypatch):
    """The mirror's plumbing with a stand-in writer: every record's numbers, at its step."""
    got = []

    class Writer:
        def add_scalar(self, tag, value, global_step):
            got.append((tag, value, global_step))

        def close(self):
            got.append("closed")

    monkeypatch.setenv(tensorboard.ENV, "1")
    monkeypatch.setattr(tensorboard, "writer", lambda folder: Writer())
    run = Run(tmp_path / "run").create()
    with tensorboard.mirror(run):
        for r in RECORDS:
            run.log(r)
    run.log({"kind": "train", "step": 11, "loss": 0.4})  # after the mirror closed: not sent
    assert got == [("train/loss", 0.5, 10), ("train/drift_rms/0.05", 0.2, 10),
                   ("eval/energy_distance", 0.01, 10), "closed"]
    assert run.listeners == []


def test_a_real_run_writes_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    wd = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "zoo.cli", "train", *DEBUG, "--tensorboard", "--workdir",
                        str(wd), "--gin_param", "train.steps = 20", "--gin_param", "train.batch_size = 64",
                        "--gin_param", "train.eval_every = 10", "--gin_param", "train.log_every = 5"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    acc = EventAccumulator(str(wd))
    acc.Reload()
    assert [e.step for e in acc.Scalars("train/loss")] == [5, 10, 15, 20]
    assert [e.step for e in acc.Scalars("eval/energy_distance")] == [10, 20]
