"""The graded clouds (zoo/data/graded.py): density varies along the support, as documented."""
import math

import pytest
import torch

import zoo

N = 40000


def _draw(name, **kw):
    return zoo.build("dataset", name, **kw).sample(N, torch.Generator().manual_seed(0))


def test_unequal_rings_hold_the_given_mass_shares():
    x = _draw("unequal_rings")
    r = x.norm(dim=1)
    shares = [((r - c).abs() < 0.15).float().mean().item() for c in (0.5, 1.0, 1.6)]
    assert shares == pytest.approx([0.6, 0.3, 0.1], abs=0.01)
    with pytest.raises(ValueError, match="one positive mass per radius"):
        zoo.build("dataset", "unequal_rings", mass=(1.0, 1.0))


def test_thin_pinwheel_is_dense_in_the_middle_of_each_arm():
    ds = zoo.build("dataset", "thin_pinwheel")
    z = ds.frame(_draw("thin_pinwheel"))[0]
    middle, ends = (z.abs() < 1).float().mean().item(), (z.abs() > 2).float().mean().item()
    assert middle == pytest.approx(0.683, abs=0.01) and ends == pytest.approx(0.046, abs=0.006)


def test_heavy_tail_curve_is_truncated_cauchy_on_a_sine():
    x = _draw("heavy_tail_curve", noise=0.0)
    assert x[:, 0].abs().max() <= 2.0 + 1e-5  # no mass beyond the cut, none piled up at it
    assert (x[:, 0].abs() > 1.9).float().mean() < 0.01
    assert torch.allclose(x[:, 1], 0.6 * torch.sin(1.5 * x[:, 0]), atol=1e-5)
    # truncated Cauchy(0, 0.25): P(|u| < 0.25) = atan(1) / atan(8)
    assert (x[:, 0].abs() < 0.25).float().mean().item() == pytest.approx(
        math.atan(1) / math.atan(8), abs=0.01)


def test_graded_spiral_angle_is_a_truncated_gaussian():
    x = _draw("graded_spiral", noise=0.0)
    t = x.norm(dim=1) * 4.5 * math.pi / 2  # |x| = 2 t / (4.5 pi)
    assert t.min() >= 1.5 * math.pi - 1e-3 and t.max() <= 4.5 * math.pi + 1e-3
    mid = ((t - 3 * math.pi).abs() < 0.6 * math.pi).float().mean().item()
    assert mid == pytest.approx(0.683 / 0.987, abs=0.01)  # within one std, renormalised by the cut
