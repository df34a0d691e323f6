"""``space_to_depth``: a lossless, weight-free "autoencoder" (pixel unshuffle / shuffle).

    encode: x [N, C, H, W] -> z [N, C f^2, H/f, W/f],   z[n, c f^2 + i f + j, y, x] = x[n, c, f y + i, f x + j]
    decode: the exact inverse (``torch.nn.functional.pixel_shuffle``)

An offline stand-in for a learned VAE (the paper's SD-VAE, Deng et al. 2026, Sec. 5): it has the
same interface and the same kind of output (more channels, lower resolution), needs no weights,
and round-trips exactly, so latent shards can be made and checked anywhere.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.autoencoders import Autoencoder
from zoo.registry import register


@register("autoencoder", "space_to_depth")
class space_to_depth(Autoencoder):
    """Fold each ``factor`` x ``factor`` pixel block into channels; ``decode`` unfolds it."""

    def __init__(self, factor: int = 2):
        super().__init__()
        if int(factor) != factor or factor < 1:
            raise ValueError(f"space_to_depth.factor must be a positive integer, got {factor}")
        self.factor = int(factor)
        self.freeze()

    def latent_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = shape
        f = self.factor
        if h % f or w % f:
            raise ValueError(f"space_to_depth(factor={f}) needs H and W divisible by {f}, got "
                             f"{h} x {w}; resize the images (make_shards --size) to a multiple")
        return c * f * f, h // f, w // f

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, C, H, W] -> [N, C f^2, H/f, W/f]."""
        self.latent_shape(tuple(x.shape[1:]))
        return F.pixel_unshuffle(x, self.factor)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, C f^2, h, w] -> [N, C, h f, w f]."""
        return F.pixel_shuffle(z, self.factor)

    def __repr__(self) -> str:
        return f"space_to_depth(factor={self.factor})"
