"""Procedural RGB shapes: unlimited, seeded, class-conditional, with known generating factors.

One coloured shape on a plain background per image (``size`` x ``size``, default 32). In the
canvas frame p in [-1, 1]^2 (pixel centres, y down), an image is drawn from its factors

    class c ~ U{0..K-1},  scale s ~ U[s_min, s_max],  position t ~ U[-(1 - s), 1 - s]^2,
    rotation a ~ U[0, 2 pi),  colour ~ HSV(U, U[.6, 1], U[.75, 1]),
    background ~ HSV(U, U[0, .6], U[0, .45])

as   u = R(-a)(p - t) / s,   cover(p) = clip(1/2 - d_c(u) s size/2, 0, 1),
     image = 2 (background (1 - cover) + colour cover) - 1        in [-1, 1]

where d_c is the (approximate, exact near the edge) signed distance of class c's unit shape,
which fits the unit disc: circle |u| - 1; ring ||u| - 3/4| - 1/4; square (half-side 0.72) and
equilateral triangle (circumradius 1) as the max of their edges' half-plane distances; cross
(two 1.9 x 0.56 bars); star r - (0.5 + 0.45 cos 5 phi). ``cover`` is a one-pixel anti-aliased
mask. The unit areas differ by class (circle 3.14, ring 2.36, square 2.07, cross 1.81, triangle
1.30, star 1.10), so classes are told apart by construction, not only by learnt features.

``factors(n, generator, labels=None)`` draws the factors (dict of tensors, below),
``render(factors)`` draws the images [n, 3, size, size]; ``sample`` = render(factors) flattened to
[n, 3 size^2] rows (``shape`` = (3, size, size)). Everything is vectorised torch (no PIL) and
driven only by the generator given; ``held_out`` uses the fixed seed of ``zoo.data``.
"""
from __future__ import annotations

import math

import torch

from zoo.data import HELD_OUT_SEED, Dataset
from zoo.registry import register

SHAPES = ("circle", "square", "triangle", "cross", "ring", "star")


def _polygon(u: torch.Tensor, v: torch.Tensor, sides: int, inradius: float) -> torch.Tensor:
    """max_k (n_k . p - inradius) over the outward edge normals n_k of a regular polygon."""
    angles = torch.arange(sides, dtype=u.dtype, device=u.device) * (2 * math.pi / sides)
    angles = angles + (math.pi / 2 if sides % 2 else math.pi / sides)  # a vertex/edge on top
    proj = u[..., None] * torch.cos(angles) - v[..., None] * torch.sin(angles)
    return proj.max(dim=-1).values - inradius


def _box(u: torch.Tensor, v: torch.Tensor, a: float, b: float) -> torch.Tensor:
    return torch.maximum(u.abs() - a, v.abs() - b)


def unit_sdf(name: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Signed distance (negative inside) of the unit shape ``name`` at (u, v), any shape."""
    r = torch.sqrt(u * u + v * v)
    if name == "circle":
        return r - 1.0
    if name == "ring":
        return (r - 0.75).abs() - 0.25
    if name == "square":
        return _polygon(u, v, 4, 0.72)
    if name == "triangle":
        return _polygon(u, v, 3, 0.5)
    if name == "cross":
        return torch.minimum(_box(u, v, 0.95, 0.28), _box(u, v, 0.28, 0.95))
    if name == "star":
        return r - (0.5 + 0.45 * torch.cos(5 * torch.atan2(-v, u)))
    raise ValueError(f"unknown shape '{name}'; known: {SHAPES}")


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """[n, 3] HSV in [0, 1] -> [n, 3] RGB in [0, 1]."""
    h, s, v = hsv.unbind(-1)
    out = []
    for m in (5.0, 3.0, 1.0):
        k = (m + 6.0 * h) % 6.0
        out.append(v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0))
    return torch.stack(out, dim=-1)


@register("dataset", "shapes")
class shapes(Dataset):
    """Procedural shapes, class = shape (``classes``: a subset of SHAPES, in that order).

    Factors (``factors``): label [n] int64, position [n, 2] (x, y in [-1, 1]), scale [n] (half-size
    / canvas half-size), rotation [n] radians, colour [n, 3] and background [n, 3] RGB in [0, 1].
    """

    def __init__(self, size: int = 32, classes: tuple[str, ...] = SHAPES,
                 scale_range: tuple[float, float] = (0.35, 0.7), conditional: bool = True):
        unknown = [c for c in classes if c not in SHAPES]
        if unknown or not classes:
            raise ValueError(f"shapes.classes must be a non-empty subset of {SHAPES}, "
                             f"got {classes}")
        lo, hi = (float(s) for s in scale_range)
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"shapes.scale_range needs 0 < lo <= hi <= 1, got {scale_range}")
        if int(size) < 4:
            raise ValueError(f"shapes.size must be >= 4 pixels, got {size}")
        self.size, self.classes, self.scale_range = int(size), tuple(classes), (lo, hi)
        self.class_names = list(self.classes)  # row labels of sample grids
        # the committed evaluator: results/evaluators/shapes.pt from 32 pixels up (larger images
        # are area-resized to 32x32 for it), shapes<size>.pt below (drift-zoo train-evaluator
        # --dataset shapes --size <size>): the 32x32 one reads real 16x16 shapes at 0.36 accuracy
        self.evaluator = "shapes" if self.size >= 32 else f"shapes{self.size}"
        self.shape = (3, self.size, self.size)
        self.dim = 3 * self.size * self.size
        self.conditional = bool(conditional)
        self.num_classes = len(self.classes) if self.conditional else None

    def factors(self, n: int, generator: torch.Generator, labels=None) -> dict[str, torch.Tensor]:
        """Draw n images' factors from ``generator`` only (labels [n] fixes the classes)."""
        dev = generator.device
        k = len(self.classes)
        if labels is None:
            labels = torch.randint(k, (n,), generator=generator, device=dev)
        else:
            labels = torch.as_tensor(labels, dtype=torch.long, device=dev)
            if labels.dim() != 1 or bool(((labels < 0) | (labels >= k)).any()):
                raise ValueError(f"dataset 'shapes': labels must be a [n] tensor of classes in "
                                 f"0..{k - 1}")
            n = len(labels)
        u = torch.rand(n, 10, generator=generator, device=dev)
        lo, hi = self.scale_range
        scale = lo + (hi - lo) * u[:, 0]
        position = (2 * u[:, 1:3] - 1) * (1 - scale[:, None])
        rotation = 2 * math.pi * u[:, 3]
        colour = hsv_to_rgb(torch.stack([u[:, 4], 0.6 + 0.4 * u[:, 5], 0.75 + 0.25 * u[:, 6]], 1))
        background = hsv_to_rgb(torch.stack([u[:, 7], 0.6 * u[:, 8], 0.45 * u[:, 9]], 1))
        return {"label": labels, "position": position, "scale": scale, "rotation": rotation,
                "colour": colour, "background": background}

    def coverage(self, factors: dict[str, torch.Tensor]) -> torch.Tensor:
        """[n, size, size] in [0, 1]: the anti-aliased shape mask of each image."""
        labels, scale = factors["label"], factors["scale"]
        dev, n, m = scale.device, len(scale), self.size
        axis = (torch.arange(m, device=dev, dtype=torch.float32) + 0.5) * (2.0 / m) - 1.0
        dx = axis[None, None, :] - factors["position"][:, 0, None, None]  # [n, 1, m]
        dy = axis[None, :, None] - factors["position"][:, 1, None, None]  # [n, m, 1]
        cos = torch.cos(factors["rotation"])[:, None, None]
        sin = torch.sin(factors["rotation"])[:, None, None]
        s = scale[:, None, None]
        u, v = (cos * dx + sin * dy) / s, (cos * dy - sin * dx) / s  # [n, m, m]
        sdf = torch.empty(n, m, m, device=dev)
        for c, name in enumerate(self.classes):
            rows = (labels == c).nonzero().flatten()
            if len(rows):
                sdf[rows] = unit_sdf(name, u[rows], v[rows])
        return torch.clamp(0.5 - sdf * s * (m / 2), 0.0, 1.0)

    def render(self, factors: dict[str, torch.Tensor]) -> torch.Tensor:
        """[n, 3, size, size] float32 images in [-1, 1] for the given factors."""
        cover = self.coverage(factors)[:, None]
        bg = factors["background"][:, :, None, None]
        fg = factors["colour"][:, :, None, None]
        return 2 * (bg + (fg - bg) * cover) - 1

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 3 size^2] rows: random classes and factors."""
        return self.render(self.factors(n, generator)).reshape(n, self.dim)

    def sample_class(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[n, 3 size^2] rows of shape class labels[i], other factors random."""
        if not self.conditional:
            return super().sample_class(labels, generator)
        f = self.factors(0, generator, labels=labels)
        return self.render(f).reshape(len(f["label"]), self.dim)

    def held_out_factors(self, n: int) -> dict[str, torch.Tensor]:
        """The factors behind ``held_out(n)`` (fixed seed HELD_OUT_SEED + n)."""
        return self.factors(n, torch.Generator().manual_seed(HELD_OUT_SEED + n))

    def __repr__(self) -> str:
        return f"shapes(size={self.size}, classes={self.classes})"
