"""Radial kernels k(x, y) = exp(log_profile(||x - y||)) with a temperature ``tau``.

    laplace:   k(x, y) = exp(-||x - y|| / tau)              (Deng et al. 2026, Eq. 12; the release)
    gaussian:  k(x, y) = exp(-||x - y||^2 / (2 tau^2))      (Lai et al. 2026: with it the drift is
                                                             tau^2 (grad log p~ - grad log q~))

Both are positive definite on R^D (Laplace: Matern-1/2; Gaussian: by Bochner, Gaussian
spectral density). A kernel is built per temperature, ``kernel(tau=0.05)``; the drift step
does that for every temperature in its list, so gin binds only the kernel's other knobs.

For radial kernels grad_x log k(x, y) = log_profile'(r) (x - y) / r, r = ||x - y||; fields
use ``dlog(r)/r`` (``radial_factor``) to avoid materialising a [B, N, M, D] tensor.
"""
from __future__ import annotations

import torch

from zoo.registry import register

EPS_SQ = 1e-8  # floor on squared distances, as in the release's cdist (sqrt -> 1e-4)


def cdist(x: torch.Tensor, y: torch.Tensor, eps: float = EPS_SQ) -> torch.Tensor:
    """Batched Euclidean distances via the Gram expansion, as the release computes them.

    x [B, N, D], y [B, M, D] -> [B, N, M]; squared distances are floored at ``eps``.
    """
    sq = (x * x).sum(-1)[:, :, None] + (y * y).sum(-1)[:, None, :] - 2 * x @ y.transpose(1, 2)
    return sq.clamp(min=eps).sqrt()


class Kernel:
    """Base class: a radial kernel with temperature ``tau`` (> 0)."""

    def __init__(self, tau: float = 0.05):
        tau = float(tau)
        if not tau > 0:
            raise ValueError(f"{type(self).__name__}: temperature tau must be > 0, got {tau}; "
                             "check train.temperatures")
        self.tau = tau

    def log_profile(self, r: torch.Tensor) -> torch.Tensor:
        """log k as a function of the distance r (any shape)."""
        raise NotImplementedError

    def dlog_profile(self, r: torch.Tensor) -> torch.Tensor:
        """d/dr log k(r)."""
        raise NotImplementedError

    def radial_factor(self, r: torch.Tensor) -> torch.Tensor:
        """dlog(r) / r, so grad_x log k = radial_factor(r) * (x - y)."""
        return self.dlog_profile(r) / r

    def logk(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log k(x_n, y_m): x [B, N, D], y [B, M, D] -> [B, N, M]."""
        return self.log_profile(cdist(x, y))

    def grad_logk(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """grad_x log k(x_n, y_m): x [B, N, D], y [B, M, D] -> [B, N, M, D]."""
        factor = self.radial_factor(cdist(x, y))
        return factor[..., None] * (x[:, :, None, :] - y[:, None, :, :])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tau={self.tau:g})"


@register("kernel", "laplace")
class laplace(Kernel):
    """k = exp(-r / tau); positive definite (Matern nu = 1/2)."""

    def log_profile(self, r):
        return -r / self.tau

    def dlog_profile(self, r):
        return torch.full_like(r, -1.0 / self.tau)


@register("kernel", "gaussian")
class gaussian(Kernel):
    """k = exp(-r^2 / (2 tau^2)); positive definite (Gaussian spectral density)."""

    def log_profile(self, r):
        return -(r * r) / (2 * self.tau**2)

    def dlog_profile(self, r):
        return -r / self.tau**2

    def radial_factor(self, r):
        return torch.full_like(r, -1.0 / self.tau**2)
