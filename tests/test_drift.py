"""The drift step: parity with the official release, scaling and combination switches."""
import numpy as np
import pytest
import torch

import zoo
from zoo.drift import drift_loss, drift_target
from tests.reference import official_goal_and_loss

CASES = [  # (B, G, P, Q, D, weighted)
    (1, 16, 16, 0, 2, False),
    (2, 12, 20, 6, 3, False),
    (2, 12, 20, 6, 3, True),
    (3, 8, 5, 11, 32, True),
    (2, 32, 64, 0, 640, False),
]


def _inputs(b, g, p, q, d, weighted, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, g, d, generator=gen)
    pos = torch.randn(b, p, d, generator=gen) * 1.3 + 0.5
    neg = torch.randn(b, q, d, generator=gen) if q else None
    w = {}
    if weighted:
        w = dict(x_w=torch.rand(b, g, generator=gen) + 0.5,
                 pos_w=torch.rand(b, p, generator=gen) + 0.5)
        if q:
            w["neg_w"] = torch.rand(b, q, generator=gen) * 2
    return x, pos, neg, w


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_parity_with_official_release(case):
    x, pos, neg, w = _inputs(*case)
    target, stats = drift_target(x, pos, neg, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace,
                                 **w)
    ref_goal, ref_loss = official_goal_and_loss(
        x.numpy(), pos.numpy(), None if neg is None else neg.numpy(),
        *(None if w.get(k) is None else w[k].numpy() for k in ("x_w", "pos_w", "neg_w")))
    np.testing.assert_allclose(target.numpy(), ref_goal, rtol=2e-4, atol=2e-5 * np.abs(ref_goal).max())
    np.testing.assert_allclose(stats["loss"].item(), ref_loss.mean(), rtol=1e-4)
    loss, _ = drift_loss(x, pos, neg, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace, **w)
    np.testing.assert_allclose(loss.detach().numpy(), ref_loss, rtol=1e-4)


def test_loss_gradient_is_minus_the_scaled_drift():
    x, pos, neg, _ = _inputs(1, 10, 14, 0, 2, False)
    x.requires_grad_(True)
    loss, stats = drift_loss(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)
    loss.sum().backward()
    target, _ = drift_target(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)
    c = stats["scale"] / 2**0.5
    expected = -2 * (target - x.detach()) / c**2 / x[0].numel()
    torch.testing.assert_close(x.grad, expected, rtol=1e-4, atol=1e-7)


def test_per_temperature_keeps_raw_terms_and_none_scaling_is_data_units():
    x, pos, _, _ = _inputs(1, 20, 30, 0, 2, False)
    target, stats = drift_target(x, pos, field=zoo.fields.split, kernel=zoo.kernels.gaussian,
                                 temperatures=(0.3, 1.0), scaling="none", combine="per_temperature")
    assert target.shape == (2, 1, 20, 2)
    for i, tau in enumerate((0.3, 1.0)):
        v = zoo.fields.split(x, pos, kernel=zoo.kernels.gaussian(tau=tau))
        torch.testing.assert_close(target[i] - x, v)
        torch.testing.assert_close(stats[f"drift_rms/{tau:g}"], v.pow(2).mean().sqrt())
    assert stats["scale"].item() == 1.0


def test_normalized_sum_has_unit_rms_per_temperature():
    x, pos, _, _ = _inputs(2, 20, 30, 0, 5, False)
    target, stats = drift_target(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace,
                                 temperatures=(0.05,))
    c = stats["scale"] / 5**0.5
    rms = ((target - x) / c).pow(2).mean().sqrt()
    assert abs(rms.item() - 1.0) < 1e-4
    assert abs(stats["loss"].item() - 1.0) < 1e-3


@pytest.mark.parametrize("temps", [(), (0.05, -0.1), (0.0,)])
def test_bad_temperatures_are_refused(temps):
    x, pos, _, _ = _inputs(1, 4, 4, 0, 2, False)
    with pytest.raises(ValueError, match="temperatures"):
        drift_target(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace, temperatures=temps)


def test_bad_switches_are_refused():
    x, pos, _, _ = _inputs(1, 4, 4, 0, 2, False)
    with pytest.raises(ValueError, match="scaling"):
        drift_target(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace, scaling="l2")
    with pytest.raises(ValueError, match="D=2"):
        drift_target(x, torch.randn(1, 4, 3), field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)


def test_kernel_instance_and_class_give_the_same_target():
    """``train.kernel = @laplace()`` (an instance) works like ``@laplace``: tau is set per temperature."""
    x, pos, _, _ = _inputs(1, 12, 16, 0, 2, False)
    a, _ = drift_target(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)
    b, _ = drift_target(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace(tau=123.0))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("block_size", ["auto", None, 64])
def test_force_rms_is_accurate_on_many_groups(block_size):
    """drift_rms over 2^22 entries equals its float64 value: one flat float32 norm loses ~1e-3."""
    x, pos, _, _ = _inputs(512, 16, 16, 0, 512, False)
    target, stats = drift_target(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace,
                                 temperatures=(0.2,), combine="per_temperature", block_size=block_size)
    v = (target[0].double() - x.double()) / (stats["scale"].double() / 512**0.5)
    torch.testing.assert_close(stats["drift_rms/0.2"].double(), v.pow(2).mean().sqrt(), rtol=2e-5, atol=0)


# -- segments: equal blocks of groups, each normalised on its own (zoo.features batches sets) --

def _segmented(seed=0, s=3, b=2, n=7, p=9, q=4, d=5, weighted=True):
    """S blocks of B groups at very different scales (x1, x10, x0.1), so a scale or force RMS
    shared across blocks would move every block's target."""
    x, pos, neg, w = _inputs(s * b, n, p, q, d, weighted, seed)
    size = torch.tensor([1.0, 10.0, 0.1][:s]).repeat_interleave(b)[:, None, None]
    return x * size, pos * size, None if neg is None else neg * size, w


@pytest.mark.parametrize("field", ["meanshift", "split", "split_self"])
@pytest.mark.parametrize("block_size", ["auto", None, 4])
@pytest.mark.parametrize("combine", ["normalized_sum", "per_temperature"])
@pytest.mark.parametrize("q, weighted", [(4, True), (0, False)])
def test_segments_equal_one_call_per_segment(field, block_size, combine, q, weighted):
    s, b = 3, 2
    x, pos, neg, w = _segmented(s=s, b=b, q=q, weighted=weighted)
    kw = dict(field=zoo.registry.lookup("field", field), kernel=zoo.kernels.laplace,
              block_size=block_size, combine=combine)
    goal, c, stats = zoo.drift.drift(x, pos, neg, segments=s, **w, **kw)
    assert c.shape == (s * b, 1, 1) and stats["scale"].shape == stats["drift_rms"].shape == (s,)
    for i in range(s):
        g = slice(i * b, (i + 1) * b)
        part = {k: v[g] for k, v in w.items()}
        ref_goal, ref_c, ref_stats = zoo.drift.drift(x[g], pos[g], None if neg is None else neg[g],
                                                     **part, **kw)
        torch.testing.assert_close(goal[..., g, :, :], ref_goal, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(c[g], ref_c.expand(b, 1, 1), rtol=1e-6, atol=0)
        for k, v in ref_stats.items():
            torch.testing.assert_close(stats[k][i], v, rtol=1e-5, atol=1e-7)


def test_segmented_loss_is_per_segment_and_gaussian_segments_match():
    x, pos, neg, w = _segmented()
    kw = dict(field=zoo.fields.split, kernel=zoo.kernels.gaussian, segments=3)
    loss, stats = drift_loss(x, pos, neg, **w, **kw)
    torch.testing.assert_close(stats["loss"], loss.detach().view(3, 2).mean(1))
    ref = [drift_loss(x[i:i + 2], pos[i:i + 2], neg[i:i + 2], field=zoo.fields.split,
                      kernel=zoo.kernels.gaussian, **{k: v[i:i + 2] for k, v in w.items()})[0]
           for i in (0, 2, 4)]
    torch.testing.assert_close(loss, torch.cat(ref), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [0, 4, 2.0, True])
def test_segments_must_divide_the_groups(bad):
    x, pos, neg, _ = _segmented()
    with pytest.raises(ValueError, match=r"segments must be a positive integer dividing the "
                                         r"number of groups B = 6"):
        zoo.drift.drift(x, pos, neg, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace,
                        segments=bad)
