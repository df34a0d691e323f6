"""The trainer end to end: run folders, resume bit-exactness, bad input, NaN, the tools."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEBUG = ["--gin_file", "gin/debug.gin", "--no_progress"]


def tool(name, *args, check=True):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([PY, str(ROOT / "tools" / name), *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"{name} {args} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def test_run_folder_layout_and_training_improves(tmp_path):
    wd = tmp_path / "run"
    tool("train.py", *DEBUG, "--workdir", str(wd), "--gin_param", "train.steps = 60",
         "--gin_param", "train.batch_size = 256")
    for name in ("config.gin", "operative_config.gin", "metrics.jsonl", "summary.json",
                 "samples.png", "curves.png", "checkpoint.pt"):
        assert (wd / name).exists(), name
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["step"] == 60
    assert summary["steps_per_s"] > 0 and summary["dataset"] == "grid_gaussians"
    records = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["kind"] == "eval"]
    assert evals[-1]["energy_distance"] < 0.5 * evals[0]["energy_distance"]
    train = [r for r in records if r["kind"] == "train"]
    assert {"loss", "drift_rms", "scale", "drift_rms/1", "steps_per_s"} <= set(train[0])
    ckpt = torch.load(wd / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 60 and "rng_noise" in ckpt


def kill_and_resume(args, tmp_path, steps: int, check_lost_work: bool = False):
    """Train ``args`` whole in a/; in b/ SIGKILL at step 15 (tests/killer.py), then rerun the
    same command. Returns the two final checkpoints and the step b/ resumed from."""
    tool("train.py", *args, "--workdir", str(tmp_path / "a"))
    killed = subprocess.run([PY, str(ROOT / "tests" / "killer.py"), "15", *args,
                             "--workdir", str(tmp_path / "b")], cwd=ROOT, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    killed_at = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"]
    assert 15 <= killed_at < steps
    if check_lost_work:
        logged = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
        assert max(logged) > killed_at  # work after the checkpoint was lost and must be redone
    tool("train.py", *args, "--workdir", str(tmp_path / "b"))  # the same command resumes
    a, b = (torch.load(tmp_path / d / "checkpoint.pt", weights_only=True) for d in "ab")
    for part in ("model", "ema"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    return a, b, killed_at


def test_sigkill_and_resume_is_bit_identical(tmp_path):
    args = [*DEBUG, "--gin_param", "train.steps = 40", "--gin_param", "train.checkpoint_every = 7"]
    _, _, killed_at = kill_and_resume(args, tmp_path, 40, check_lost_work=True)
    losses = [[r["loss"] for r in map(json.loads, (tmp_path / d / "metrics.jsonl").read_text().splitlines())
               if r["kind"] == "train"] for d in "ab"]
    assert losses[0] == losses[1]
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["resumed_from"] == killed_at


@pytest.mark.parametrize("param,needle", [
    ("train.field = @meanshfit", "meanshift"),
    ("trian.steps = 5", "train"),
    ("train.temperatures = (-0.1, 0.05)", "temperatures"),
    ("train.batch_size = 1", "batch_size must be >= 2"),
    ("train.kernel = @laplace()\nlaplace.tau = 0", "tau must be > 0"),
])
def test_bad_input_fails_before_training(tmp_path, param, needle):
    r = tool("train.py", *DEBUG, "--workdir", str(tmp_path / "r"), "--gin_param", param, check=False)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


@pytest.mark.parametrize("content,needle", [
    (np.zeros((0, 2), np.float32), "need at least 2 points"),
    (np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]], np.float32), "NaN"),
])
def test_bad_datasets_fail_before_training(tmp_path, content, needle):
    np.save(tmp_path / "d.npy", content)
    r = tool("train.py", *DEBUG, "--workdir", str(tmp_path / "r"), "--gin_param",
             f"train.dataset = @points()\npoints.path = '{tmp_path / 'd.npy'}'", check=False)
    assert r.returncode == 2 and needle.lower() in r.stderr.lower(), r.stderr
    assert "Traceback" not in r.stderr


def test_nan_loss_marks_failed_and_keeps_last_good_checkpoint(tmp_path):
    wd = tmp_path / "r"
    r = tool("train.py", *DEBUG, "--workdir", str(wd), "--gin_param", "train.lr = 1e30",
             "--gin_param", "train.checkpoint_every = 1", "--gin_param", "train.inner_steps = 1",
             check=False)
    assert r.returncode != 0
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["status"] == "failed" and "non-finite loss" in summary["error"]
    ckpt = torch.load(wd / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] >= 1 and f"step {ckpt['step']}" in summary["error"]


def assert_finite_checkpoint(ckpt: dict) -> None:
    from zoo.run.state import _tensors

    for part in ("model", "ema", "opt"):
        tensors = [t for t in _tensors(ckpt[part]) if t.is_floating_point()]
        assert tensors and all(torch.isfinite(t).all() for t in tensors), part


def test_a_step_that_breaks_the_weights_keeps_the_last_finite_checkpoint(tmp_path):
    """Warm-up from lr 0: step 1 changes nothing, step 2 (lr 1e30, two inner steps) turns the
    weights to NaN while its first loss is finite; the run stops there and keeps step 1."""
    wd = tmp_path / "r"
    r = tool("train.py", *DEBUG, "--workdir", str(wd), "--gin_param", "train.lr = 1e30",
             "--gin_param", "train.lr_schedule = @warmup()", "--gin_param",
             "train.checkpoint_every = 1", check=False)
    assert r.returncode != 0
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["status"] == "failed", summary
    assert summary["error"] == ("FloatingPointError: non-finite weights after step 2; the last "
                                "good checkpoint (step 1) is kept. Lower train.lr or set "
                                "train.grad_clip")
    ckpt = torch.load(wd / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 1
    assert_finite_checkpoint(ckpt)


def train_here(wd, *params):
    """tools/train.py's path in this process: parse gin/debug.gin + ``params``, call train."""
    from zoo.config import parse
    from zoo.run.train import train

    text = parse(["gin/debug.gin"], ["train.eval_every = 0", *params])
    return train(workdir=str(wd), config_text=text, progress=False)


def test_a_crash_in_the_loop_keeps_its_traceback(tmp_path, monkeypatch):
    from zoo.run import train as train_module

    def crash(*args):
        raise RuntimeError("boom in the step\nsecond line")

    monkeypatch.setattr(train_module, "_update", crash)
    with pytest.raises(RuntimeError, match="boom in the step"):
        train_here(tmp_path / "r")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["error"] == "RuntimeError: boom in the step second line"
    trace = (tmp_path / "r" / "error.txt").read_text()
    assert trace.startswith("Traceback (most recent call last)") and "in _loop" in trace
    assert "RuntimeError: boom in the step\nsecond line" in trace
    assert not (tmp_path / "r" / ".run.lock").exists()          # released on the way out


def test_a_crash_while_finishing_marks_the_run_failed(tmp_path, monkeypatch):
    from zoo.run import train as train_module

    def crash(*args):
        raise OSError("no space left for curves.png")

    monkeypatch.setattr(train_module, "curves_png", crash)
    with pytest.raises(OSError, match="no space left"):
        train_here(tmp_path / "r")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == "OSError: no space left for curves.png"
    assert "in _finish" in (tmp_path / "r" / "error.txt").read_text()
    monkeypatch.undo()
    summary = train_here(tmp_path / "r")                          # the rerun finishes it
    assert summary["status"] == "finished" and summary["error"] is None
    assert not (tmp_path / "r" / "error.txt").exists()


def test_missing_workdir_is_a_clear_error(tmp_path):
    for t in ("sample.py", "eval.py"):
        args = ["--workdir", str(tmp_path / "nope")] + (["--out", str(tmp_path / "x.npy")] if t == "sample.py" else [])
        r = tool(t, *args, check=False)
        assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_sample_and_eval_tools(tmp_path):
    wd = tmp_path / "run"
    tool("train.py", *DEBUG, "--workdir", str(wd))
    tool("sample.py", "--workdir", str(wd), "--num", "123", "--out", str(tmp_path / "s.npy"))
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (123, 2) and np.isfinite(x).all()
    before = json.loads((wd / "summary.json").read_text())["final_metrics"]
    r = tool("eval.py", "--workdir", str(wd))
    after = json.loads((wd / "summary.json").read_text())["final_metrics"]
    assert after == pytest.approx(before) and "energy_distance" in r.stdout


def test_finished_run_is_not_retrained(tmp_path):
    import platform
    import socket

    wd = tmp_path / "run"
    tool("train.py", *DEBUG, "--workdir", str(wd))
    stamp = (wd / "checkpoint.pt").stat().st_mtime_ns
    first = json.loads((wd / "summary.json").read_text())
    assert first["resumed_from"] is None
    assert first["torch_version"] == torch.__version__ and first["host"] == socket.gethostname()
    assert first["python_version"] == platform.python_version()
    assert first["cuda_version"] == (torch.version.cuda if torch.cuda.is_available() else None)
    assert first["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    r = tool("train.py", *DEBUG, "--workdir", str(wd))
    assert (wd / "checkpoint.pt").stat().st_mtime_ns == stamp and "finished" in r.stdout
    assert json.loads((wd / "summary.json").read_text()) == first  # re-reported as it was


@pytest.mark.parametrize("gin_file", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "gin" / "experiments").glob("*.gin")))
def test_every_experiment_parses_and_runs_two_steps(tmp_path, gin_file):
    """Files marked ``# needs-data:`` (ImageNet: shards and an encoder the user makes) only parse;
    imagenet_smoke.gin runs end to end in tests/test_dist.py on shards it writes."""
    r = tool("train.py", "--gin_file", gin_file, "--dry_run")
    assert "train.dataset" in r.stdout
    if "# needs-data:" in (ROOT / gin_file).read_text():
        return
    tool("train.py", "--gin_file", gin_file, "--no_progress", "--workdir", str(tmp_path / "r"),
         "--gin_param", "train.steps = 2", "--gin_param", "train.batch_size = 32",
         "--gin_param", "train.eval_samples = 64", "--gin_param", "mlp.width = 16")


def test_sigint_checkpoints_and_marks_interrupted(tmp_path):
    import signal
    import time

    wd = tmp_path / "r"
    proc = subprocess.Popen([PY, str(ROOT / "tools" / "train.py"), *DEBUG, "--workdir", str(wd),
                             "--gin_param", "train.steps = 1000000", "--gin_param", "train.eval_every = 0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (wd / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130  # Ctrl-C: 128 + SIGINT, after the checkpoint
    assert b"rerun the same command to resume" in proc.stdout.read()
    summary = json.loads((wd / "summary.json").read_text())
    ckpt = torch.load(wd / "checkpoint.pt", weights_only=True)
    assert summary["status"] == "interrupted" and ckpt["step"] == summary["step"] > 0


def test_a_run_folder_refuses_a_different_config(tmp_path):
    wd = tmp_path / "r"
    tool("train.py", *DEBUG, "--workdir", str(wd))
    r = tool("train.py", *DEBUG, "--workdir", str(wd), "--gin_param", "train.lr = 0.01", check=False)
    assert r.returncode == 2 and "different config" in r.stderr


def test_make_demo_and_readme_commands_reference_real_files():
    """The README's commands and the Makefile's recipes name files that exist."""
    import re

    text = (ROOT / "Makefile").read_text() + (ROOT / "README.md").read_text()
    for path in set(re.findall(r"(?:tools|gin)/[\w/]+\.(?:py|gin)", text)):
        assert (ROOT / path).exists(), path


def test_queue_negatives_run_and_sigkill_resume_is_bit_identical(tmp_path):
    """train.negatives = @queue(): the queue's state rides in the checkpoint, so resume is exact."""
    args = [*DEBUG, "--gin_param", "train.negatives = @queue()", "--gin_param", "queue.size = 100",
            "--gin_param", "train.steps = 30", "--gin_param", "train.checkpoint_every = 7",
            "--gin_param", "train.eval_every = 0"]
    a, b, _ = kill_and_resume(args, tmp_path, 30)
    assert a["negatives"]["feats"].shape == (1, 100, 2)
    assert torch.equal(a["negatives"]["feats"], b["negatives"]["feats"])
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["negatives"] == "queue"


@pytest.mark.parametrize("name", ["cfg", "other_class"])
def test_class_negatives_fail_before_training_on_toy_data(tmp_path, name):
    r = tool("train.py", *DEBUG, "--workdir", str(tmp_path / "r"), "--gin_param",
             f"train.negatives = @{name}()", check=False)
    assert r.returncode == 2 and "class-conditional" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "r" / "checkpoint.pt").exists()


def test_a_run_folder_resumes_when_only_a_comment_changed(tmp_path):
    """config.gin holds the resolved config with its comments; a comment edited in a gin file
    the run includes (here: a --gin_param line that is only a comment) is not another config."""
    wd = tmp_path / "r"
    tool("train.py", *DEBUG, "--workdir", str(wd))
    r = tool("train.py", *DEBUG, "--workdir", str(wd), "--gin_param", "# a note, no binding")
    assert r.returncode == 0 and "finished" in r.stdout
