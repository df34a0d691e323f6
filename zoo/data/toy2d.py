"""Synthetic 2-D densities, the classic benchmarks of flow and drifting papers.

All live roughly in [-2, 2]^2 at O(1) scale (the FFJORD set of Grathwohl et al. 2019, whose
[-4, 4]^2 layouts are halved here). Each is an exact sampler driven only by the generator it
is given (see ``zoo.data.Dataset``):

    checkerboard    x ~ U(black squares of a 4x4 board of unit cells over [-2, 2]^2)
    swiss_roll      t ~ U[1.5 pi, 4.5 pi],  x = s (t cos t, t sin t) + noise,  s = 2 / (4.5 pi)
    eight_gaussians x ~ N(r (cos 2 pi k / 8, sin 2 pi k / 8), std^2 I),  k ~ U{0..7}
    grid_gaussians  x ~ N(mu_k, std^2 I),  mu_k on an n x n grid of given spacing centred at 0
    moons           sklearn make_moons geometry, centred, scaled by 1.25, + noise
    rings           r ~ radii with P(r) proportional to r (uniform in arc length),
                    x = (r + noise eps) (cos a, sin a),  a ~ U[0, 2 pi)
    pinwheel        Johnson et al. 2016 ("Composing graphical models with neural networks"):
                    f = (1 + radial_std e1, tangential_std e2),  c ~ U{0..K-1},
                    a = 2 pi c / K + rate exp(f_1),  x = R(a) f

Noise is added after scaling, so ``noise`` / ``std`` are in the units of the samples.

``eight_gaussians(conditional=True)`` and ``grid_gaussians(conditional=True)`` are
class-conditional (class c = mode index c, p(.|c) = N(mu_c, std^2 I)); ``sample`` (the
marginal) draws the same sequence either way.
"""
from __future__ import annotations

import math

import torch

from zoo.data import Dataset
from zoo.registry import register


def _uniform(n: int, generator: torch.Generator) -> torch.Tensor:
    """[n] float32 ~ U[0, 1) on the generator's device."""
    return torch.rand(n, generator=generator, device=generator.device)


def _normal(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """``shape`` float32 ~ N(0, 1) on the generator's device."""
    return torch.randn(shape, generator=generator, device=generator.device)


def _choice(k: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """[n] int64 ~ U{0..k-1} on the generator's device."""
    return torch.randint(k, (n,), generator=generator, device=generator.device)


def _polar(radius: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """[n], [n] -> [n, 2] points (radius cos angle, radius sin angle)."""
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


class GaussianMixture(Dataset):
    """Equal-weight mixture of isotropic Gaussians N(modes[k], mode_std^2 I), modes [K, 2]."""

    def __init__(self, modes: torch.Tensor, std: float, conditional: bool = False):
        self.modes = modes.to(torch.float32)
        self.mode_std = float(std)
        self.dim = int(modes.shape[1])
        self.conditional = bool(conditional)
        self.num_classes = len(self.modes) if self.conditional else None

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, D]: pick a mode uniformly, add N(0, std^2 I)."""
        k = _choice(len(self.modes), n, generator)
        eps = _normal((n, self.dim), generator)
        return self.modes.to(generator.device)[k] + self.mode_std * eps

    def sample_class(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[n, D]: mode labels[i] plus N(0, std^2 I) (class c = mode c; conditional only)."""
        if not self.conditional:
            return super().sample_class(labels, generator)
        labels = torch.as_tensor(labels, dtype=torch.long)
        if labels.dim() != 1 or bool(((labels < 0) | (labels >= len(self.modes))).any()):
            raise ValueError(f"dataset '{self.name}': labels must be a [n] tensor of classes in "
                             f"0..{len(self.modes) - 1}")
        eps = _normal((len(labels), self.dim), generator)
        return self.modes.to(generator.device)[labels.to(generator.device)] + self.mode_std * eps


@register("dataset", "checkerboard")
class checkerboard(Dataset):
    """Uniform on the 8 black unit squares of a 4x4 board over [-2, 2]^2.

    Cell (i, j) = [i - 2, i - 1) x [j - 2, j - 1) is black iff i + j is even (the FFJORD layout).
    """

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2]: column i ~ U{0..3}, row j = 2 U{0, 1} + (i mod 2), uniform within the cell."""
        i = _choice(4, n, generator)
        j = 2 * _choice(2, n, generator) + i % 2
        x = i.float() - 2 + _uniform(n, generator)
        y = j.float() - 2 + _uniform(n, generator)
        return torch.stack([x, y], dim=1)


@register("dataset", "swiss_roll")
class swiss_roll(Dataset):
    """2-D swiss roll: t ~ U[1.5 pi, 4.5 pi], x = t (cos t, sin t) / (2.25 pi) + N(0, noise^2 I).

    The scale 1 / (2.25 pi) maps the outermost point (|x| = 4.5 pi) to radius 2.
    """

    T_MIN, T_MAX = 1.5 * math.pi, 4.5 * math.pi

    def __init__(self, noise: float = 0.05):
        self.noise = float(noise)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2] points on the scaled spiral plus isotropic noise."""
        t = self.T_MIN + (self.T_MAX - self.T_MIN) * _uniform(n, generator)
        x = _polar(t * (2.0 / self.T_MAX), t)
        return x + self.noise * _normal((n, 2), generator)


@register("dataset", "eight_gaussians")
class eight_gaussians(GaussianMixture):
    """8 equal Gaussians N(radius (cos 2 pi k / 8, sin 2 pi k / 8), std^2 I), k = 0..7."""

    def __init__(self, radius: float = 2.0, std: float = 0.02, conditional: bool = False):
        angle = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        super().__init__(_polar(torch.full((8,), float(radius), dtype=torch.float64), angle), std,
                         conditional)


@register("dataset", "grid_gaussians")
class grid_gaussians(GaussianMixture):
    """n x n equal Gaussians, centres ((i - (n-1)/2) spacing, (j - (n-1)/2) spacing), std std.

    Defaults: 25 modes at {-1, -0.5, 0, 0.5, 1}^2, std 0.02. Modes are ordered row-major (i, j);
    with ``conditional=True`` class c is mode c.
    """

    def __init__(self, n: int = 5, spacing: float = 0.5, std: float = 0.02,
                 conditional: bool = False):
        axis = (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) * spacing
        modes = torch.cartesian_prod(axis, axis).reshape(n * n, 2)
        super().__init__(modes, std, conditional)


@register("dataset", "moons")
class moons(Dataset):
    """Two interleaving half circles (sklearn ``make_moons`` geometry), each with half the mass.

    Upper moon (cos a, sin a), lower moon (1 - cos a, 1/2 - sin a), a ~ U[0, pi]; the union
    spans [-1, 2] x [-1/2, 1], so it is centred at (1/2, 1/4) and scaled by 1.25 to
    [-1.875, 1.875] x [-0.9375, 0.9375]; then noise N(0, noise^2 I) is added.
    """

    CENTRE = (0.5, 0.25)
    SCALE = 1.25

    def __init__(self, noise: float = 0.05):
        self.noise = float(noise)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2] points on the two scaled arcs plus isotropic noise."""
        lower = _choice(2, n, generator).float()  # 0: upper moon, 1: lower moon
        a = math.pi * _uniform(n, generator)
        sign = 1 - 2 * lower  # +1 upper, -1 lower
        x = lower + sign * torch.cos(a) - self.CENTRE[0]
        y = 0.5 * lower + sign * torch.sin(a) - self.CENTRE[1]
        xy = self.SCALE * torch.stack([x, y], dim=1)
        return xy + self.noise * _normal((n, 2), generator)


@register("dataset", "rings")
class rings(Dataset):
    """Concentric circles of the given radii with radial noise N(0, noise^2).

    Mass per ring is proportional to its circumference (i.e. to its radius), so the density
    is uniform along the total arc length: for radii (0.5, 1, 1.5, 2) the rings hold
    10%, 20%, 30% and 40% of the samples.
    """

    def __init__(self, radii: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0), noise: float = 0.02):
        self.radii = torch.tensor([float(r) for r in radii], dtype=torch.float32)
        self.noise = float(noise)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2]: ring r with P(r) = r / sum(radii), angle uniform, radius jittered."""
        radii = self.radii.to(generator.device)
        ring = torch.multinomial(radii / radii.sum(), n, replacement=True, generator=generator)
        a = 2 * math.pi * _uniform(n, generator)
        r = radii[ring] + self.noise * _normal((n,), generator)
        return _polar(r, a)


@register("dataset", "pinwheel")
class pinwheel(Dataset):
    """The ``num_classes``-arm pinwheel of Johnson et al. 2016, with equal mass per arm.

    An arm is a Gaussian blob f = (1 + radial_std e1, tangential_std e2) rotated by an angle that
    grows with its radial coordinate, a = 2 pi c / K + rate exp(f_1): x = R(a) f, where
    R(a) is the counter-clockwise rotation. Its radius |f| ~ 1 +- 0.3, so it fits [-2, 2]^2
    at scale 1 (the FFJORD version, scaled by 2 to [-4, 4]^2, halved).
    """

    def __init__(self, radial_std: float = 0.3, tangential_std: float = 0.1,
                 rate: float = 0.25, num_classes: int = 5):
        self.radial_std = float(radial_std)
        self.tangential_std = float(tangential_std)
        self.rate = float(rate)
        self.num_classes = int(num_classes)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2] pinwheel points."""
        c = _choice(self.num_classes, n, generator)
        eps = _normal((n, 2), generator)
        f1 = 1.0 + self.radial_std * eps[:, 0]
        f2 = self.tangential_std * eps[:, 1]
        a = c.float() * (2 * math.pi / self.num_classes) + self.rate * torch.exp(f1)
        cos, sin = torch.cos(a), torch.sin(a)
        return torch.stack([cos * f1 - sin * f2, sin * f1 + cos * f2], dim=1)
