"""``fresh`` positives: every step draws new samples from the dataset (the default source).

    pos[c] ~ p(.|c) (``dataset.sample_class``),   uncond ~ p(.) (``dataset.sample``)

Protocol: ``zoo.positives``.
"""
from __future__ import annotations

import torch

from zoo.positives import Positives
from zoo.registry import register


@register("positives", "fresh")
class fresh(Positives):  # noqa: N801 -- file = class = registry key = gin name
    """New draws from the dataset every step (only ``generator``)."""

    def draw(self, dataset, classes, p: int, u: int, generator: torch.Generator):
        if classes is None:
            return dataset.sample(p, generator)[None], None
        pos = dataset.sample_class(classes.repeat_interleave(p), generator).view(len(classes), p, -1)
        uncond = dataset.sample(len(classes) * u, generator).view(len(classes), u, -1) if u else None
        return pos, uncond
