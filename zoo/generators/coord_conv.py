"""``conv`` whose every convolution also reads the pixel coordinates (CoordConv, Liu et al.
2018, "An intriguing failing of convolutional neural networks and the CoordConv solution").

    h_{s}  = SiLU(FiLM(GroupNorm(Conv3x3([Upsample2x(h_{s/2}); X; Y]))))     X, Y in [-1, 1]
    x      = Conv3x3([h; X; Y])

Liu et al. show that a deconvolutional generator fails at the simplest rendering task --
painting a square at a given (x, y) -- because a translation-equivariant stack has no way to
turn a coordinate held in a vector into a place on the map; two constant channels with each
pixel's position fix it. Drawing a shape where the noise says is exactly that task
(``zoo.data.shapes``: position, scale and rotation are continuous factors), so this is the
``conv`` of ``zoo/generators/conv.py`` with the two channels appended before each conv (two
more input channels per conv: ~2% more parameters and time at width 32). Everything else --
noise, FiLM class conditioning, ``tanh`` -- is ``conv``'s.
Shapes: z [n, noise_dim], labels [n], alpha [n] -> x [n, C, H, W].
"""
from __future__ import annotations

from zoo.generators.conv import conv
from zoo.registry import register


@register("generator", "coord_conv")
class coord_conv(conv):  # noqa: N801  (file = class = registry key = gin name)
    """``conv`` with coordinate channels before every convolution; same arguments."""

    def __init__(self, shape=(3, 32, 32), num_classes: int | None = None, noise_dim: int = 64,
                 width: int = 64, tanh: bool = False, class_dim: int = 32,
                 out_dim: int | None = None):
        super().__init__(shape, num_classes, noise_dim, width, tanh, class_dim, out_dim,
                         coords=True)
