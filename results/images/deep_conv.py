"""Plug-in for the generator-depth rows of results/images.md (issue 15): ``deep_conv``, the
``conv`` generator with ``depth`` convolutions per resolution and, optionally, the class in the
4x4 stem.

    h_4   = Linear(z) (+ Linear(c) when class_stem)                        [n, w, 4, 4]
    per resolution s = 8, 16, 32:
        h = SiLU(FiLM(GN(Conv3x3(Up2x(h)))))                               conv's block
        h = h + SiLU(FiLM(GN(Conv3x3(h))))      (depth - 1 times, residual, FiLM zero-init)
    x     = Conv3x3(h)

with c = SiLU(Linear([e_y, log alpha])) conv's conditioning code. ``conv`` puts the class in the
FiLM scales and shifts only, so its 4x4 layout is the same for every class and three 3x3
convolutions must turn it into class-specific geometry; this tests whether more convolutions per
resolution, or the class in the layout itself, is what the shapes recipe lacks (it is not:
results/images.md, section "Generator depth, the class in the stem, classes per step").
A measured negative result, so a plug-in here rather than a component of the package:

    drift-zoo --import results/images/deep_conv.py train --gin_file gin/experiments/shapes.gin \
        --gin_param 'train.generator = @deep_conv' --gin_param 'deep_conv.noise_dim = 64' \
        --gin_param 'deep_conv.width = 32' [--gin_param 'deep_conv.depth = 1'] \
        [--gin_param 'deep_conv.class_stem = False'] --gin_param 'train.seed = <s>'

Shapes: z [n, noise_dim], labels [n], alpha [n] -> x [n, C, H, W].
"""
import torch
from torch import nn

from zoo.generators.conv import conv
from zoo.registry import register


class Same(nn.Module):
    """h + SiLU(FiLM(GroupNorm(Conv3x3(h)))): [n, w, s, s] -> [n, w, s, s]."""

    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)
        self.norm = nn.GroupNorm(min(8, width), width)

    def forward(self, h, film=None):
        y = self.norm(self.conv(h))
        if film is not None:
            gamma, beta = film.chunk(2, dim=1)
            y = y * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        return h + nn.functional.silu(y)


@register("generator", "deep_conv")
class deep_conv(conv):  # noqa: N801
    """``conv`` with ``depth`` convs per resolution and the class in the stem (``class_stem``)."""

    def __init__(self, shape=(3, 32, 32), num_classes=None, noise_dim=64, width=64, tanh=False,
                 class_dim=32, out_dim=None, depth=2, class_stem=True):
        super().__init__(shape=shape, num_classes=num_classes, noise_dim=noise_dim, width=width,
                         tanh=tanh, class_dim=class_dim, out_dim=out_dim)
        self.extra = nn.ModuleList(nn.ModuleList(Same(width) for _ in range(depth - 1))
                                   for _ in self.blocks)
        self.class_stem = bool(class_stem and self.num_classes)
        if self.num_classes:
            self.extra_film = nn.ModuleList(nn.ModuleList(nn.Linear(width, 2 * width)
                                                          for _ in range(depth - 1))
                                            for _ in self.blocks)
            for lins in self.extra_film:
                for lin in lins:
                    nn.init.zeros_(lin.weight)
                    nn.init.zeros_(lin.bias)
            if self.class_stem:
                self.stem_c = nn.Linear(width, width * 16)

    def forward(self, z, labels=None, alpha=None):
        c = self._code(z, labels, alpha)  # conv's conditioning code, computed once
        films = self._films(c)
        h = self.stem(z) + (self.stem_c(c) if self.class_stem else 0)
        h = h.view(z.shape[0], self.width, 4, 4)
        for i, (block, film) in enumerate(zip(self.blocks, films)):
            h = block(h, film)
            for j, same in enumerate(self.extra[i]):
                h = same(h, self.extra_film[i][j](c) if c is not None else None)
        x = self.out(h)
        return torch.tanh(x) if self.tanh else x
