"""Two equal Gaussians N(+-(separation/2, 0), std^2 I): the bimodal target of Deng et al. 2026,
Fig. 3 (no mode collapse), where q is started between the modes, far away, or on one mode
(``mlp.init_center`` / ``mlp.init_spread``) and the mass per mode is followed over training
(``mode_kl``: 0 for a 50/50 split, log 2 when one mode holds everything).
"""
from __future__ import annotations

import torch

from zoo.data.toy2d import GaussianMixture
from zoo.registry import register


@register("dataset", "two_gaussians")
class two_gaussians(GaussianMixture):
    """Modes at (-separation/2, 0) and (+separation/2, 0), std ``std``; class c = mode c when
    ``conditional``."""

    def __init__(self, separation: float = 4.0, std: float = 0.2, conditional: bool = False):
        half = float(separation) / 2
        super().__init__(torch.tensor([[-half, 0.0], [half, 0.0]], dtype=torch.float64), std,
                         conditional)
