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
