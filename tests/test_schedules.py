"""Schedules: their defining formulas and bad parameters."""
import math

import pytest

from zoo.schedules import constant, cosine, exponential


def test_constant_is_one():
    assert all(constant()(t) == 1.0 for t in (0.0, 0.3, 1.0))


def test_exponential_formula_floor_and_delay():
    s = exponential(rate=3.0, floor=0.1)
    assert s(0.0) == 1.0 and s(0.5) == pytest.approx(math.exp(-1.5))
    assert s(1.0) == pytest.approx(0.1)  # exp(-3) < 0.1 -> floored
    d = exponential(rate=3.0, floor=0.01, delay=0.25)
    assert d(0.2) == 1.0 and d(0.75) == pytest.approx(math.exp(-1.5))


def test_cosine_endpoints_and_midpoint():
    s = cosine(end=0.2)
    assert s(0.0) == pytest.approx(1.0) and s(1.0) == pytest.approx(0.2)
    assert s(0.5) == pytest.approx(0.6)


@pytest.mark.parametrize("kw", [dict(rate=-1.0), dict(floor=0.0), dict(floor=2.0), dict(delay=1.0)])
def test_bad_exponential_parameters(kw):
    with pytest.raises(ValueError, match="exponential schedule"):
        exponential(**kw)


def test_warmup_ramps_linearly_then_follows_its_schedule():
    from zoo.schedules import warmup

    w = warmup(fraction=0.1)
    assert w(0.0) == 0.0 and w(0.05) == pytest.approx(0.5) and w(0.1) == 1.0 and w(0.7) == 1.0
    assert warmup(fraction=0.1, steps=100)(0.0) == pytest.approx(0.1)  # first step: 1/10 of lr
    wc = warmup(fraction=0.5, then=cosine())
    assert wc(0.25) == pytest.approx(0.5 * cosine()(0.25)) and wc(1.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="warmup schedule"):
        warmup(fraction=0.0)


def test_adamw_decays_weights_decoupled_and_adam_adds_l2_to_the_gradient():
    """With a zero loss gradient, AdamW only shrinks w by (1 - lr wd); Adam's L2 term becomes a
    gradient wd w whose normalised step is ~lr sign(w)."""
    import torch

    from zoo.optimizers import adam, adamw

    out = {}
    for name, make in (("adam", adam), ("adamw", adamw)):
        w = torch.nn.Parameter(torch.tensor([2.0, -3.0]))
        opt = make([w], lr=0.1, betas=(0.9, 0.999), weight_decay=0.01)
        w.grad = torch.zeros_like(w)
        opt.step()
        out[name] = w.detach()
    assert torch.allclose(out["adamw"], torch.tensor([2.0, -3.0]) * (1 - 0.1 * 0.01))
    assert torch.allclose(out["adam"], torch.tensor([1.9, -2.9]), atol=1e-4)
