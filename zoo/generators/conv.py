"""A small convolutional generator for 8x8, 16x16 and 32x32 images: noise vector -> image.

DCGAN-style upsampling (Radford et al. 2016) with nearest-neighbour upsampling + 3x3 convs
instead of transposed convs (no checkerboard artefacts; Odena et al. 2016):

    z ~ N(0, I) [n, noise_dim] -> Linear -> [n, width, 4, 4]
    then log2(H / 4) blocks (1 for 8x8, 2 for 16x16, 3 for 32x32):
        h = SiLU(FiLM(GroupNorm(Conv3x3(Upsample2x(h)))))          [n, width, 2s, 2s]
    x = Conv3x3(h)                                                  [n, C, H, W]

The output is linear by default (``tanh=False``): data live in [-1, 1], but a saturating
tanh starves the drift regression of gradient near the bounds, and the release's DiT generator
is linear too; clamp for display. ``tanh=True`` bounds it.
``coords=True`` appends the pixel coordinates before every conv (registered as ``coord_conv``,
zoo/generators/coord_conv.py).

Class-conditional (``num_classes`` = K, as the ``mlp``): c = SiLU(Linear([e_y, log alpha]))
with e_y a learned ``class_dim`` embedding and alpha the guidance scale (default 1), and each
block applies FiLM (Perez et al. 2018): h * (1 + gamma(c)) + beta(c), gamma/beta zero-initialised
so conditioning starts neutral. Unconditional models (num_classes None/0) have no FiLM, and
their parameters and initial draws do not depend on the conditioning code (it is built last).
Shapes: z [n, noise_dim], labels [n] int64, alpha [n] or scalar -> x [n, C, H, W].
"""
from __future__ import annotations

import math

import torch
from torch import nn

from zoo.registry import register

SIZES = (8, 16, 32)


def with_coords(h: torch.Tensor) -> torch.Tensor:
    """[n, w, s, s] -> [n, w + 2, s, s]: the pixel centres' (x, y) in [-1, 1] appended as two
    channels (CoordConv, Liu et al. 2018), the same for every image."""
    n, _, hh, ww = h.shape
    ys = torch.linspace(-1 + 1 / hh, 1 - 1 / hh, hh, device=h.device, dtype=h.dtype)
    xs = torch.linspace(-1 + 1 / ww, 1 - 1 / ww, ww, device=h.device, dtype=h.dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))              # [2, s, s]
    return torch.cat([h, grid.expand(n, -1, -1, -1)], dim=1)


class Up(nn.Module):
    """Upsample x2, conv 3x3, GroupNorm, optional FiLM, SiLU: [n, w, s, s] -> [n, w, 2s, 2s].
    ``coords``: the conv also reads the pixel coordinates (``with_coords``)."""

    def __init__(self, width: int, coords: bool = False):
        super().__init__()
        self.coords = coords
        self.conv = nn.Conv2d(width + 2 * coords, width, 3, padding=1)
        self.norm = nn.GroupNorm(min(8, width), width)

    def forward(self, h: torch.Tensor, film: torch.Tensor | None = None) -> torch.Tensor:
        h = nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
        h = self.norm(self.conv(with_coords(h) if self.coords else h))
        if film is not None:
            gamma, beta = film.chunk(2, dim=1)
            h = h * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        return nn.functional.silu(h)


@register("generator", "conv")
class conv(nn.Module):  # noqa: N801  (file = class = registry key = gin name)
    """Noise vector -> linear -> upsampling conv blocks -> image; see the module docstring."""

    def __init__(self, shape=(3, 32, 32), num_classes: int | None = None, noise_dim: int = 64,
                 width: int = 64, tanh: bool = False, class_dim: int = 32,
                 out_dim: int | None = None, coords: bool = False):
        super().__init__()
        if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in SIZES or shape[0] < 1:
            raise ValueError(f"conv: shape must be (C, H, W) with H = W in {SIZES}, got "
                             f"{tuple(shape)}")
        if out_dim is not None and out_dim != math.prod(shape):
            raise ValueError(f"conv: out_dim = {out_dim} does not match shape {tuple(shape)} "
                             f"(C*H*W = {math.prod(shape)}); bind conv.shape")
        if min(noise_dim, width, class_dim) < 1:
            raise ValueError("conv: noise_dim, width and class_dim must all be >= 1")
        if num_classes and (int(num_classes) != num_classes or num_classes < 0):
            raise ValueError(f"conv: num_classes must be a non-negative int, got {num_classes}")
        self.shape, self.noise_dim, self.width = tuple(int(s) for s in shape), noise_dim, width
        self.num_classes = int(num_classes) if num_classes else None
        self.tanh, self.coords = tanh, coords
        self.stem = nn.Linear(noise_dim, width * 16)
        self.blocks = nn.ModuleList(Up(width, coords) for _ in range(int(math.log2(shape[1] // 4))))
        self.out = nn.Conv2d(width + 2 * coords, shape[0], 3, padding=1)
        if self.num_classes:  # built last: unconditional init draws stay unchanged
            self.class_embed = nn.Embedding(self.num_classes, class_dim)
            self.cond = nn.Sequential(nn.Linear(class_dim + 1, width), nn.SiLU())
            self.film = nn.ModuleList(nn.Linear(width, 2 * width) for _ in self.blocks)
            for lin in self.film:
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    def noise(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """z [n, noise_dim] ~ N(0, I) from ``generator``."""
        return torch.randn(n, self.noise_dim, generator=generator)

    def _code(self, z, labels, alpha) -> torch.Tensor | None:
        """The conditioning code c [n, width] = SiLU(Linear([e_y, log alpha])), or None for an
        unconditional model."""
        if not self.num_classes:
            if labels is not None or alpha is not None:
                raise ValueError("conv: labels / alpha given to an unconditional generator "
                                 "(build it with num_classes)")
            return None
        if labels is None:
            raise ValueError(f"conv: a class-conditional generator ({self.num_classes} "
                             f"classes) needs labels [n]")
        n = z.shape[0]
        log_alpha = (z.new_zeros(n) if alpha is None
                     else torch.log(torch.as_tensor(alpha, device=z.device).to(z.dtype)).expand(n))
        return self.cond(torch.cat([self.class_embed(labels), log_alpha[:, None]], dim=1))

    def _films(self, c: torch.Tensor | None) -> list:
        """Per-block FiLM parameters [n, 2 width] from the code c, or Nones (c None)."""
        return [None] * len(self.blocks) if c is None else [film(c) for film in self.film]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                alpha: torch.Tensor | None = None) -> torch.Tensor:
        """x [n, C, H, W]; labels [n] are required iff conditional, alpha [n] defaults to 1."""
        if z.dim() != 2 or z.shape[1] != self.noise_dim:
            raise ValueError(f"conv: noise of shape {tuple(z.shape)}, expected "
                             f"[n, {self.noise_dim}]")
        films = self._films(self._code(z, labels, alpha))
        h = self.stem(z).view(z.shape[0], self.width, 4, 4)
        for block, film in zip(self.blocks, films):
            h = block(h, film)
        x = self.out(with_coords(h) if self.coords else h)
        return torch.tanh(x) if self.tanh else x
