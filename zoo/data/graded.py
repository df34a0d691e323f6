"""2-D clouds whose density varies *along* their support: the held-out family of issue 16.

The toy recipe was tuned on clouds of (nearly) uniform density along their support; these
test whether a recipe holds when the support has dense and thin parts (results/toy_degradation.md):

    thin_pinwheel     the 5-arm pinwheel (``toy2d.pinwheel``) with tangential std 0.03: each
                      arm's radius ~ N(1, 0.3^2), dense in its middle, thin at both ends
    graded_spiral     one spiral arm x = (2 t / 4.5 pi)(cos t, sin t) + N(0, 0.03^2 I),
                      t ~ N(3 pi, (0.6 pi)^2) truncated to [1.5 pi, 4.5 pi]
    unequal_rings     circles of radii (0.5, 1.0, 1.6) holding 60%, 30%, 10% of the mass
                      (arc densities 19 : 5 : 1), radial noise N(0, 0.02^2)
    grid_dense        a 7 x 7 grid of equal Gaussians, spacing 0.3, std 0.015 (modes known)
    heavy_tail_curve  u ~ Cauchy(0, 0.25) truncated to [-2, 2],
                      x = (u, 0.6 sin(1.5 u)) + N(0, 0.02^2 I): a peak at u = 0, thin tails

Truncated draws are exact (inverse CDF on the truncated range), so no mass piles up at a
cut. Each sampler draws only from the generator it is given (``zoo.data.Dataset``).
"""
from __future__ import annotations

import math

import torch

from zoo.data import Dataset
from zoo.data.toy2d import _normal, _polar, _uniform, grid_gaussians, pinwheel, rings
from zoo.registry import register


def _truncated_normal(n: int, limit: float, generator: torch.Generator) -> torch.Tensor:
    """[n] ~ N(0, 1) conditioned on |e| <= limit, by the inverse CDF."""
    lo = 0.5 * (1 + math.erf(-limit / math.sqrt(2)))
    u = lo + (1 - 2 * lo) * _uniform(n, generator)
    return torch.special.ndtri(u.double()).float()


@register("dataset", "thin_pinwheel")
class thin_pinwheel(pinwheel):
    """``pinwheel`` with thin arms (tangential std 0.03): density varies along each arm."""

    def __init__(self, radial_std: float = 0.3, tangential_std: float = 0.03,
                 rate: float = 0.25, num_classes: int = 5):
        super().__init__(radial_std, tangential_std, rate, num_classes)

    def frame(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z [n], inward [n, 2], across [n, 2]) at points x [n, 2] near the arms.

        z = (|x| - 1) / radial_std is the position along the arm in radial std (density
        exp(-z^2 / 2)); the arm r -> R(2 pi c / K + rate e^r)(r, 0) has the tangent
        e_r + r rate e^r e_phi, so inward = -sign(z) (that tangent, unit): along the arm toward
        its dense middle; across = inward turned by 90 degrees.
        """
        r = x.norm(dim=1).clamp(min=1e-6)
        e_r = x / r[:, None]
        e_phi = torch.stack([-e_r[:, 1], e_r[:, 0]], dim=1)
        tangent = e_r + (r * self.rate * torch.exp(r))[:, None] * e_phi
        z = (r - 1) / self.radial_std
        inward = -torch.sign(z)[:, None] * tangent / tangent.norm(dim=1, keepdim=True)
        return z, inward, torch.stack([-inward[:, 1], inward[:, 0]], dim=1)


@register("dataset", "graded_spiral")
class graded_spiral(Dataset):
    """One spiral arm with a Gaussian density of its angle t (see the module docstring)."""

    T_MIN, T_MAX = 1.5 * math.pi, 4.5 * math.pi

    def __init__(self, spread: float = 0.6 * math.pi, noise: float = 0.03):
        self.spread, self.noise = float(spread), float(noise)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2] points on the spiral, dense around t = 3 pi, plus isotropic noise."""
        mid, half = (self.T_MIN + self.T_MAX) / 2, (self.T_MAX - self.T_MIN) / 2
        t = mid + self.spread * _truncated_normal(n, half / self.spread, generator)
        return _polar(t * (2.0 / self.T_MAX), t) + self.noise * _normal((n, 2), generator)


@register("dataset", "unequal_rings")
class unequal_rings(rings):
    """Circles of the given radii holding the given shares of the mass (not their lengths')."""

    def __init__(self, radii: tuple[float, ...] = (0.5, 1.0, 1.6),
                 mass: tuple[float, ...] = (0.6, 0.3, 0.1), noise: float = 0.02):
        if len(mass) != len(radii) or any(not m > 0 for m in mass):
            raise ValueError(f"unequal_rings needs one positive mass per radius, got radii "
                             f"{radii} and mass {mass}")
        super().__init__(radii, noise)
        self.mass = torch.tensor([float(m) for m in mass], dtype=torch.float32)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2]: ring r with P(r) = mass_r / sum(mass), angle uniform, radius jittered."""
        mass = self.mass.to(generator.device)
        ring = torch.multinomial(mass / mass.sum(), n, replacement=True, generator=generator)
        a = 2 * math.pi * _uniform(n, generator)
        r = self.radii.to(generator.device)[ring] + self.noise * _normal((n,), generator)
        return _polar(r, a)


@register("dataset", "grid_dense")
class grid_dense(grid_gaussians):
    """``grid_gaussians`` with 7 x 7 modes at spacing 0.3, std 0.015."""

    def __init__(self, n: int = 7, spacing: float = 0.3, std: float = 0.015,
                 conditional: bool = False):
        super().__init__(n, spacing, std, conditional)


@register("dataset", "heavy_tail_curve")
class heavy_tail_curve(Dataset):
    """A sine curve with a truncated Cauchy density along it (see the module docstring)."""

    def __init__(self, scale: float = 0.25, limit: float = 2.0, noise: float = 0.02):
        self.scale, self.limit, self.noise = float(scale), float(limit), float(noise)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2]: u = scale tan(v), v ~ U(-atan(limit / scale), atan(limit / scale))."""
        edge = math.atan(self.limit / self.scale)
        u = self.scale * torch.tan(edge * (2 * _uniform(n, generator) - 1))
        x = torch.stack([u, 0.6 * torch.sin(1.5 * u)], dim=1)
        return x + self.noise * _normal((n, 2), generator)
