"""The identity encoder: the input itself as one feature set (pixels, or points on the toys).

    identity(x) = {"global": x.reshape(N, 1, D)}       x [N, D] rows or [N, C, H, W] images

This is the release's "encoder input itself" set (lambertae/drifting JAX
``models/mae_model.py``, ``build_activation_function``: ``usual_feats["global"] =
x.reshape(x.shape[0], 1, -1)``): one location holding the whole flattened sample, D = C*H*W
(flattened C, H, W; the release flattens H, W, C, a permutation that leaves distances alone).
With it the multi-feature loss reduces to the plain drift loss on x, the toy setting.
"""
from __future__ import annotations

import torch

from zoo.encoders import FeatureEncoder
from zoo.registry import register


@register("encoder", "identity")
class identity(FeatureEncoder):  # noqa: N801  (file = class = registry key = gin name)
    """phi(x) = x as the single set ``global`` [N, 1, D]; no parameters."""

    def __init__(self):
        super().__init__()
        self.freeze()

    def feature_sets(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() < 2:
            raise ValueError(f"encoder 'identity': x must be [N, ...], got shape {tuple(x.shape)}")
        return {"global": x.reshape(x.shape[0], 1, -1)}
