r"""An example plug-in: a field registered from outside ``zoo/`` (zoo/plugins.py).

    drift-zoo --import tests/plugins/example_plugin.py train --gin_file gin/debug.gin \
        --gin_param 'train.field = @damped_meanshift' --gin_param 'damped_meanshift.damping = 0.8'

tests/conftest.py loads it, so the registry-wide tests (tests/test_registry.py, and every
test parametrised over ``zoo.names("field")``) cover it like a built-in field.
"""
from __future__ import annotations

import torch

from zoo.fields import meanshift
from zoo.registry import register


@register("field", "damped_meanshift")
def damped_meanshift(x, pos, neg=None, *, kernel, damping: float = 0.5, **weights) -> torch.Tensor:
    """The mean-shift field times ``damping``: V = damping * V_meanshift, x [B, N, D] -> [B, N, D]."""
    return damping * meanshift(x, pos, neg, kernel=kernel, **weights)
