"""Image generators through a frozen encoder: digits end to end (train.encoder, @conv)."""
import json

import pytest
import torch

import zoo
from zoo.run.batches import Batch
from zoo.registry import lookup
from zoo.run.sampling import make_generator, sample

from tests.test_train import tool

DIGITS = ["--gin_file", "gin/experiments/digits.gin", "--no_progress",
          "--gin_param", "train.steps = 40", "--gin_param", "train.batch_size = 160",
          "--gin_param", "train.data_batch_size = 160", "--gin_param", "train.eval_every = 10",
          "--gin_param", "train.eval_samples = 359", "--gin_param", "train.checkpoint_every = 20"]


def test_conv_generator_on_digits_gives_flat_rows():
    ds = zoo.build("dataset", "digits")
    torch.manual_seed(0)
    model = make_generator(lookup("generator", "conv"), ds)
    assert model.shape == (1, 8, 8) and model.num_classes == 10
    x = sample(model, 25, seed=0)
    assert x.shape == (25, 64) and torch.isfinite(x).all()
    g = torch.Generator().manual_seed(0)
    batch = Batch(model.noise(20, g), ds.sample(20, g).view(10, 2, 64),
                  torch.arange(10).repeat_interleave(2))
    assert batch.generate(model).shape == (10, 2, 64)


@pytest.mark.parametrize("encoder", ["@identity()", "None"])
def test_digits_conv_run_improves(tmp_path, encoder):
    wd = tmp_path / "run"
    tool("train.py", *DIGITS, "--gin_param", f"train.encoder = {encoder}", "--workdir", str(wd))
    for name in ("config.gin", "metrics.jsonl", "summary.json", "samples.png", "checkpoint.pt"):
        assert (wd / name).exists(), name
    summary = json.loads((wd / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["generator"] == "conv"
    assert summary.get("encoder") == (None if encoder == "None" else "identity")
    assert summary["cpu_time"] > 0  # user + sys of the process: a run's cost on a shared machine
    records = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()]
    evals = [r["energy_distance"] for r in records if r["kind"] == "eval"]
    assert len(evals) == 4 and evals[-1] < 0.8 * evals[0], evals
    # the default recipe (tanh output, cosine lr) also improves in the evaluator's features
    fds = [r["fd"] for r in records if r["kind"] == "eval"]
    assert fds == sorted(fds, reverse=True) and fds[-1] < 0.8 * fds[0], fds
    train = [r for r in records if r["kind"] == "train"]
    assert {"loss", "drift_rms"} <= set(train[0])


def test_encoder_with_inner_steps_fails_before_training(tmp_path):
    r = tool("train.py", *DIGITS, "--workdir", str(tmp_path / "r"),
             "--gin_param", "train.inner_steps = 2", check=False)
    assert r.returncode == 2 and "inner_steps must be 1 with train.encoder" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "r" / "checkpoint.pt").exists()


def test_encoder_on_point_data_fails_before_training(tmp_path):
    r = tool("train.py", "--gin_file", "gin/debug.gin", "--no_progress", "--workdir",
             str(tmp_path / "r"), "--gin_param", "train.encoder = @identity()",
             "--gin_param", "train.inner_steps = 1", check=False)
    assert r.returncode == 2 and "needs an image dataset" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
