"""zoo/bench/grouped.py: its straight port of the release is a fair baseline (it equals the
default drift path and, over a step's feature sets, feature_drift_loss), and a row of the
table is built for single calls and for whole steps. No timings are asserted."""
import argparse

import pytest
import torch

import zoo
from zoo.bench import grouped
from zoo.features import feature_drift_loss


@pytest.mark.parametrize("shape", [(3, 8, 8, 0, 5), (2, 6, 7, 3, 4)])
def test_port_equals_the_default_path(shape):
    x, pos, neg = grouped.inputs(shape, 0)
    port, c = grouped.port_goal(x, pos, neg)
    goal, c_ours, _ = zoo.drift.drift(x, pos, neg if neg.shape[1] else None,
                                      field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)
    torch.testing.assert_close(goal, port, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(c_ours, c)


def test_step_port_equals_feature_drift_loss(monkeypatch):
    monkeypatch.setattr(grouped, "STEP_SETS", {(4, 3): 2, (1, 5): 1})
    gen, pos, neg = grouped.step_inputs((2, 6, 6, 3, None), 0)
    assert list(gen) == ["4x3/0", "4x3/1", "1x5/0"] and gen["4x3/1"].shape == (2, 6, 4, 3)
    ours, _ = feature_drift_loss(gen, pos, neg, field=zoo.fields.meanshift,
                                 kernel=zoo.kernels.laplace)
    torch.testing.assert_close(ours, grouped.port_step(gen, pos, neg), rtol=1e-5, atol=1e-6)


def test_rows_for_calls_and_steps(monkeypatch):
    monkeypatch.setattr(grouped, "STEP_SETS", {(4, 3): 2})
    args = argparse.Namespace(seed=0, rounds=1, clock="cpu")
    call = grouped.row("issue", (2, 6, 6, 2, 4), args)
    step = grouped.row("step", (2, 6, 6, 0, "2 sets"), args)
    assert call[4] == "-" and step[4].endswith(" ms")  # "per set" only for steps
    for r in (call, step):
        assert len(r) == 10 and r[-2].endswith("x") and float(r[-1]) < 1e-5
