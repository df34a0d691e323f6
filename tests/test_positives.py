"""Positive sources (zoo.positives): fresh draws vs the release's memory banks."""
import json

import pytest
import torch

import zoo
from zoo.data import check_dataset
from zoo.positives import bank, fresh

from tests.test_conditional import COND
from tests.test_train import kill_and_resume, tool


def _digits():
    ds = zoo.build("dataset", "digits")
    check_dataset(ds)
    return ds


def _label_of(ds, rows: torch.Tensor) -> torch.Tensor:
    """The class of each row, found by exact match among the training rows."""
    match = (rows[:, None, :] == ds._train[None]).all(-1)
    assert bool(match.any(1).all()), "a positive is not a training digit"
    return ds.train_labels[match.float().argmax(1)]


@pytest.mark.parametrize("source", [fresh(), bank(per_class=8, global_size=32)])
def test_positives_are_real_samples_of_their_class(source):
    ds, g = _digits(), torch.Generator().manual_seed(0)
    source.reset(ds)
    classes = torch.tensor([3, 7, 0])
    for _ in range(3):
        pos, uncond = source.draw(ds, classes, 5, 4, g)
        assert pos.shape == (3, 5, 64) and uncond.shape == (3, 4, 64)
        assert torch.equal(_label_of(ds, pos.reshape(-1, 64)), classes.repeat_interleave(5))
        _label_of(ds, uncond.reshape(-1, 64))  # real digits, any class
    assert source.draw(ds, classes, 5, 0, g)[1] is None


def test_bank_reuses_recent_samples_and_fresh_does_not():
    """A bank of 4 slots per class answers 6 positives of a class from at most 4 + pushed rows;
    fresh draws come from the whole training set."""
    ds = _digits()
    src, g = bank(per_class=4, global_size=16, push_per_step=1), torch.Generator().manual_seed(0)
    src.reset(ds)
    rows = torch.cat([src.draw(ds, torch.tensor([2]), 6, 0, g)[0][0] for _ in range(10)])
    assert len(torch.unique(rows, dim=0)) <= 4 + 10
    g = torch.Generator().manual_seed(0)
    rows = torch.cat([fresh().draw(ds, torch.tensor([2]), 6, 0, g)[0][0] for _ in range(10)])
    assert len(torch.unique(rows, dim=0)) > 14


def test_bank_state_round_trips():
    ds, g = _digits(), torch.Generator().manual_seed(1)
    a = bank(per_class=4, global_size=16)
    a.reset(ds)
    a.draw(ds, torch.tensor([1, 2]), 3, 2, g)
    b = bank(per_class=4, global_size=16)
    b.reset(ds)
    b.load_state_dict(a.state_dict())
    ga, gb = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for x, y in zip(a.draw(ds, torch.tensor([4]), 3, 2, ga), b.draw(ds, torch.tensor([4]), 3, 2, gb)):
        assert torch.equal(x, y)


def test_unconditional_bank_draws_from_the_global_ring():
    ds, g = zoo.build("dataset", "moons"), torch.Generator().manual_seed(0)
    src = bank(per_class=8, global_size=32, push_per_step=4)
    src.reset(ds)
    pos, uncond = src.draw(ds, None, 10, 0, g)
    assert pos.shape == (1, 10, 2) and uncond is None
    assert len(torch.unique(pos[0], dim=0)) <= 10


@pytest.mark.parametrize("kw", [{"per_class": 0}, {"global_size": 2.5}, {"push_per_step": -1}])
def test_bad_bank_settings_are_refused(kw):
    with pytest.raises(ValueError, match="bank."):
        bank(**kw)


@pytest.mark.slow
def test_bank_run_learns_and_resumes_bit_identical(tmp_path):
    """The conditional toy with @cfg() and banked positives: SIGKILL + resume ends identical."""
    args = [*COND, "--gin_param", "train.negatives = @cfg()", "--gin_param",
            "train.positives = @bank()", "--gin_param", "bank.per_class = 16",
            "--gin_param", "train.steps = 30", "--gin_param", "train.checkpoint_every = 7",
            "--gin_param", "train.eval_every = 0"]
    a, _, _ = kill_and_resume(args, tmp_path, 30)
    assert a["positives"]["banks"]["bank"].shape == (25, 16, 2)
    losses = [[r["loss"] for r in map(json.loads, (tmp_path / d / "metrics.jsonl").read_text()
                                      .splitlines()) if r["kind"] == "train"] for d in "ab"]
    assert losses[0] == losses[1]


@pytest.mark.parametrize("binding,name", [(None, "fresh"), ("train.positives = @bank()", "bank")])
def test_the_summary_names_the_positive_source(tmp_path, binding, name):
    extra = ["--gin_param", binding] if binding else []
    tool("train.py", *COND, *extra, "--workdir", str(tmp_path / "r"), "--gin_param",
         "train.steps = 2", "--gin_param", "train.eval_every = 0")
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["positives"] == name
