"""An example plug-in: a field and a kernel registered from outside ``zoo/`` (zoo/plugins.py).

    drift-zoo --import tests/plugins/example_plugin.py train --gin_file gin/debug.gin \
        --gin_param 'train.field = @damped_meanshift' --gin_param 'train.kernel = @cubic_laplace'

tests/conftest.py loads it, so the registry-wide tests (tests/test_registry.py) cover it like
a built-in component.
"""
from __future__ import annotations

import torch

from zoo.fields import meanshift
from zoo.kernels import Kernel
from zoo.registry import register


@register("field", "damped_meanshift")
def damped_meanshift(x, pos, neg=None, *, kernel, damping: float = 0.5, **weights) -> torch.Tensor:
    """The mean-shift field times ``damping``: V = damping * V_meanshift, x [B, N, D] -> [B, N, D]."""
    return damping * meanshift(x, pos, neg, kernel=kernel, **weights)


@register("kernel", "cubic_laplace")
class cubic_laplace(Kernel):
    """k = exp(-(r / tau)^3 / 3 - r / tau); positive, decays faster than laplace far away."""

    def log_profile(self, r):
        s = r / self.tau
        return -s ** 3 / 3 - s

    def dlog_profile(self, r):
        s = r / self.tau
        return -(s ** 2 + 1) / self.tau
