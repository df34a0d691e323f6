"""Point-cloud metrics: exact values on hand-built clouds, brute-force agreement of the
streamed passes, null / alternative behaviour, determinism and input validation."""
from __future__ import annotations

import math

import pytest
import torch

import zoo.metrics.point_cloud as pc
from zoo.metrics import (METRIC_GOAL, energy_distance, evaluate, mmd, mode_metrics,
                         precision_recall, sliced_w2)
from zoo.registry import names


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gauss(n: int, d: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=gen(seed))


# ---- brute-force references (full distance matrices, fine for small clouds) ----

def ref_energy(x, y):
    x, y = x.double(), y.double()
    n, m = len(x), len(y)
    return (2 * torch.cdist(x, y).mean() - torch.cdist(x, x).sum() / (n * (n - 1))
            - torch.cdist(y, y).sum() / (m * (m - 1))).item()


def ref_mmd(x, y, h):
    x, y = x.double(), y.double()
    k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * h * h))  # noqa: E731
    n, m = len(x), len(y)
    return ((k(x, x).sum() - n) / (n * (n - 1)) + (k(y, y).sum() - m) / (m * (m - 1))
            - 2 * k(x, y).mean()).item()


def ref_precision_recall(x, y, k):
    x, y = x.double(), y.double()
    rx = torch.cdist(x, x).kthvalue(k + 1, dim=1).values   # k-th neighbour, self excluded
    ry = torch.cdist(y, y).kthvalue(k + 1, dim=1).values
    dxy = torch.cdist(x, y)
    return {"precision": (dxy <= ry[None]).any(1).double().mean().item(),
            "recall": (dxy <= rx[:, None]).any(0).double().mean().item()}


def test_all_metrics_registered():
    assert {"energy_distance", "mmd", "sliced_w2", "precision_recall",
            "mode_metrics"} <= set(names("metric"))


def test_streamed_passes_match_brute_force(monkeypatch):
    monkeypatch.setattr(pc, "BLOCK_BYTES", 8 * 37)     # 37-row blocks: many, ragged
    x, y = gauss(150, 3, seed=1), gauss(120, 3, seed=2) * 1.3 + 0.2
    assert energy_distance(x, y) == pytest.approx(ref_energy(x, y), rel=1e-9, abs=1e-12)
    assert mmd(x, y, bandwidth=0.7) == pytest.approx(ref_mmd(x, y, 0.7), rel=1e-9, abs=1e-12)
    assert precision_recall(x, y, k=4) == ref_precision_recall(x, y, 4)


@pytest.mark.parametrize("dim", [1, 3])
def test_energy_distance_point_masses_is_twice_the_distance(dim):
    d = 2.5
    offset = torch.zeros(dim)
    offset[0] = d
    x, y = torch.zeros(5, dim), torch.zeros(7, dim) + offset + 10.0
    x = x + 10.0
    # rel 1e-7: the Gram expansion leaves ~1e-15 in d^2 between coincident points, ~3e-8 after sqrt
    assert energy_distance(x, y) == pytest.approx(2 * d, rel=1e-7)


@pytest.mark.parametrize("metric", [energy_distance, mmd])
def test_same_distribution_near_zero_and_grows_with_shift(metric):
    n = 1000
    tol = 0.3 / math.sqrt(n)          # the null statistic is O(1/n); this is loose
    for seed in range(3):
        x, y = gauss(n, seed=2 * seed), gauss(n, seed=2 * seed + 1)
        assert abs(metric(x, y)) < tol
    x, y = gauss(n, seed=10), gauss(n, seed=11)
    values = [metric(x, y + torch.tensor([s, 0.0])) for s in (0.0, 0.5, 1.0, 2.0)]
    assert values[1] > tol and values[2] > 3 * tol
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_mmd_median_bandwidth_is_deterministic_and_used_by_default():
    x, y = gauss(1500, seed=3), gauss(1500, seed=4) + 0.3     # pooled 3000 > subset 2000
    h = pc.median_bandwidth(*pc.as_pair(x, y))
    assert h == pc.median_bandwidth(*pc.as_pair(x, y))
    assert mmd(x, y) == pytest.approx(mmd(x, y, bandwidth=h), rel=1e-12)


def test_sliced_w2_of_a_shift_is_the_projected_shift():
    x, v = gauss(300, seed=5), torch.tensor([3.0, 4.0])
    theta = pc.directions(2, 256, seed=0)
    exact = (v.double() @ theta).pow(2).mean().sqrt().item()    # W2 of a shift along theta
    assert sliced_w2(x, x + v) == pytest.approx(exact, rel=1e-9)
    # E_theta (theta.v)^2 = |v|^2 / 2 in 2-D; Monte-Carlo std of the mean ~ 0.35 / sqrt(L)
    assert sliced_w2(x, x + v, num_projections=4096) == pytest.approx(5 / math.sqrt(2), rel=0.02)


def test_sliced_w2_exact_in_one_dimension():
    col = lambda *v: torch.tensor(v).reshape(-1, 1)  # noqa: E731
    assert sliced_w2(col(0.0, 1.0, 2.0), col(5.0, 3.0, 4.0)) == pytest.approx(3.0)
    # unequal sizes: quantile steps {0,1} at 1/2 vs {0,.5,1} at 1/3, 2/3 -> W2^2 = 1/12
    assert sliced_w2(col(0.0, 1.0), col(0.0, 0.5, 1.0)) == pytest.approx(math.sqrt(1 / 12))


def test_sliced_w2_seeded_and_symmetric():
    x, y = gauss(200, 3, seed=6), gauss(170, 3, seed=7) * 2
    assert sliced_w2(x, y, seed=1) == sliced_w2(x, y, seed=1)
    assert sliced_w2(x, y, seed=1) != sliced_w2(x, y, seed=2)
    assert sliced_w2(x, y) == pytest.approx(sliced_w2(y, x), rel=1e-12)


def test_precision_recall_hand_built():
    col = lambda *v: torch.tensor(v).reshape(-1, 1)  # noqa: E731
    y = col(0.0, 1.0, 3.0, 6.0)        # k=1 radii: 1, 1, 2, 3
    x = col(4.9, -1.5)                 # 4.9 is inside the ball of 6; -1.5 is in none
    assert precision_recall(x, y, k=1) == {"precision": 0.5, "recall": 1.0}


def test_precision_recall_identical_half_and_disjoint():
    y = gauss(1000, seed=8)
    assert precision_recall(y, y) == {"precision": 1.0, "recall": 1.0}
    x = gauss(2500, seed=9)
    half = x[x[:, 0] > 0][:1000]
    pr = precision_recall(half, y)
    assert pr["precision"] > 0.9 and pr["recall"] < 0.7
    far = precision_recall(y + 100.0, y)
    assert far == {"precision": 0.0, "recall": 0.0}


MODES = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def test_mode_metrics_hand_built_counts():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, -2.0], [2.0, 2.0], [-0.5, 0.5],  # mode 0: 5
                      [10.0, 0.0], [13.0, 0.0], [9.0, 1.0],                          # mode 1: 3
                      [0.0, 11.0],                                                   # mode 2: 1
                      [50.0, 50.0], [5.0, 5.0], [13.1, 0.0]])                        # outside
    out = mode_metrics(x, MODES, std=1.0)            # radius 3: 13.0 is in, 13.1 is out
    p = torch.tensor([5, 3, 1], dtype=torch.float64) / 9
    assert out["high_quality"] == pytest.approx(9 / 12)
    assert out["modes_covered"] == 2.0               # threshold 0.5 * 12 / 4 = 1.5
    assert out["mode_kl"] == pytest.approx((p * torch.log(4 * p)).sum().item(), rel=1e-12)
    assert mode_metrics(x, MODES, std=1.0, fair_fraction=0.3)["modes_covered"] == 3.0


def test_mode_metrics_balanced_and_empty():
    balanced = MODES.repeat(3, 1) + 0.1
    assert mode_metrics(balanced, MODES, std=0.5) == {
        "high_quality": 1.0, "modes_covered": 4.0, "mode_kl": 0.0}
    empty = mode_metrics(MODES + 5.0, MODES, std=0.5)
    assert empty == {"high_quality": 0.0, "modes_covered": 0.0, "mode_kl": math.log(4)}


def test_evaluate_keys_finite_and_consistent():
    x, y = gauss(400, seed=12), gauss(300, seed=13) + 0.2
    out = evaluate(x, y)
    assert set(out) == {"energy_distance", "mmd", "sliced_w2", "precision", "recall"}
    assert out["energy_distance"] == pytest.approx(energy_distance(x, y), rel=1e-12)
    assert out["mmd"] == pytest.approx(mmd(x, y), rel=1e-12)
    assert out["sliced_w2"] == sliced_w2(x, y)
    full = evaluate(x, y, modes=MODES / 10, mode_std=0.5)
    image_only = {"fd", "kid", "feature_precision", "feature_recall", "class_coverage",
                  "classes_covered", "fid", "png_fd"}      # zoo.metrics.image / fid keys
    assert set(full) == set(METRIC_GOAL) - {"class_accuracy"} - image_only
    labels = torch.arange(len(x)) % len(MODES)
    assert (set(evaluate(x, y, modes=MODES / 10, mode_std=0.5, labels=labels))
            == set(METRIC_GOAL) - image_only)
    assert all(isinstance(v, float) and math.isfinite(v) for v in full.values())
    assert set(METRIC_GOAL.values()) == {"min", "max"}


GOOD = torch.zeros(10, 2)
BAD_INPUTS = {
    "1-D": (torch.zeros(10), "2-D"),
    "3-D": (torch.zeros(2, 5, 2), "2-D"),
    "empty": (torch.zeros(0, 2), "empty"),
    "mismatched D": (torch.zeros(10, 3), "same dimension"),
    "nan": (torch.full((10, 2), float("nan")), "NaN"),
}
METRICS = {"energy_distance": energy_distance, "mmd": mmd, "sliced_w2": sliced_w2,
           "precision_recall": precision_recall, "evaluate": evaluate,
           "mode_metrics": lambda x, y: mode_metrics(x, y, std=1.0)}


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=list(BAD_INPUTS))
@pytest.mark.parametrize("name", METRICS)
def test_bad_input_raises_value_error(name, bad):
    tensor, message = BAD_INPUTS[bad]
    with pytest.raises(ValueError, match=message):
        METRICS[name](tensor, GOOD)
    with pytest.raises(ValueError, match=message):
        METRICS[name](GOOD, tensor)


def test_too_few_points_and_bad_arguments():
    with pytest.raises(ValueError, match="needs >= 4"):
        precision_recall(torch.zeros(3, 2), GOOD, k=3)
    with pytest.raises(ValueError, match="needs >= 2"):
        energy_distance(torch.zeros(1, 2), GOOD)
    with pytest.raises(ValueError, match="mode_std"):
        evaluate(GOOD, GOOD, modes=MODES)
    with pytest.raises(ValueError, match="std"):
        mode_metrics(GOOD, MODES, std=0.0)
