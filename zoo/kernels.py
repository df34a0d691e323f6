"""Radial kernels k(x, y) = profile(||x - y||) with a temperature (bandwidth) ``tau``.

    laplace:   k = exp(-r / tau)                             (Deng et al. 2026, Eq. 12; the release)
    gaussian:  k = exp(-r^2 / (2 tau^2))                     (Lai et al. 2026: with it the drift is
                                                              tau^2 (grad log p~ - grad log q~))
    imq:       k = (1 + r^2 / tau^2)^(-1/2)                  inverse multiquadric
    cauchy:    k = 1 / (1 + r^2 / tau^2)
    matern32:  k = (1 + s) exp(-s),            s = sqrt(3) r / tau
    matern52:  k = (1 + s + s^2 / 3) exp(-s),  s = sqrt(5) r / tau
    energy:    k = -r / tau                                  (energy distance; not positive)

All but ``energy`` are positive definite on R^D for every D and positive, so they have a log
and serve the log-based fields (meanshift, split, kernel_gradient, score_difference). ``energy``
is only conditionally positive definite (c^T K c >= 0 when sum c = 0), which is what MMD needs:
with it the ``mmd`` field is the energy-distance flow. It declares ``positive = False`` and its
log methods raise ValueError. A kernel is built per temperature, ``kernel(tau=0.05)``; the
drift step does that for every temperature in its list, so gin binds only the other knobs.

Two paths, both radial so fields never materialise a [B, N, M, D] tensor:

    log path    grad_x log k(x, y) = radial_factor(r) (x - y),        radial_factor = dlog(r) / r
    value path  grad_x k(x, y)     = value_radial_factor(r) (x - y),  value_radial_factor = k'(r) / r

r comes from ``cdist``, floored at sqrt(EPS_SQ) = 1e-4 as in the release, so factors that blow
up as r -> 0 (laplace 1 / (tau r), energy 1 / (tau r)) stay finite; the smooth kernels give
closed forms whose r -> 0 limit is finite (e.g. matern32: -3 / tau^2).
"""
from __future__ import annotations

import math

import torch

from zoo.registry import register

EPS_SQ = 1e-8  # floor on squared distances, as in the release's cdist (sqrt -> 1e-4)


def cdist(x: torch.Tensor, y: torch.Tensor, eps: float = EPS_SQ) -> torch.Tensor:
    """Batched Euclidean distances via the Gram expansion, as the release computes them.

    x [B, N, D], y [B, M, D] -> [B, N, M]; squared distances are floored at ``eps``.
    """
    sq = (x * x).sum(-1)[:, :, None] + (y * y).sum(-1)[:, None, :] - 2 * x @ y.transpose(1, 2)
    return sq.clamp(min=eps).sqrt()


def _pairwise(factor: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """factor [B, N, M] times (x_n - y_m) -> [B, N, M, D] (tests and small inputs only)."""
    return factor[..., None] * (x[:, :, None, :] - y[:, None, :, :])


def require_log(kernel, who: str) -> None:
    """Raise ValueError unless ``kernel`` has a log (``positive``); ``who`` names the caller."""
    if not getattr(kernel, "positive", True):
        raise ValueError(f"field '{who}' needs log k, but the {kernel!r} kernel is not positive "
                         "and has no log; use it with a value-based field such as 'mmd'")


class Kernel:
    """Base class: a radial kernel with temperature ``tau`` (> 0).

    Subclasses give ``log_profile`` and ``dlog_profile`` (positive kernels) or override
    ``profile`` / ``dprofile`` and set ``positive = False`` (kernels without a log).
    """

    positive = True  # k > 0 everywhere, so log k, grad log k and the log-based fields exist

    def __init__(self, tau: float = 0.05):
        tau = float(tau)
        if not tau > 0:
            raise ValueError(f"{type(self).__name__}: temperature tau must be > 0, got {tau}; "
                             "check train.temperatures")
        self.tau = tau

    # -- log path (positive kernels) --------------------------------------------------------
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
        return _pairwise(self.radial_factor(cdist(x, y)), x, y)

    # -- value path (every kernel; what MMD-type fields use) --------------------------------
    def profile(self, r: torch.Tensor) -> torch.Tensor:
        """k as a function of the distance r (any shape)."""
        return self.log_profile(r).exp()

    def dprofile(self, r: torch.Tensor) -> torch.Tensor:
        """d/dr k(r)."""
        return self.profile(r) * self.dlog_profile(r)

    def value_radial_factor(self, r: torch.Tensor) -> torch.Tensor:
        """k'(r) / r, so grad_x k = value_radial_factor(r) * (x - y)."""
        return self.profile(r) * self.radial_factor(r)

    def value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """k(x_n, y_m): x [B, N, D], y [B, M, D] -> [B, N, M]."""
        return self.profile(cdist(x, y))

    def grad_value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """grad_x k(x_n, y_m): x [B, N, D], y [B, M, D] -> [B, N, M, D]."""
        return _pairwise(self.value_radial_factor(cdist(x, y)), x, y)

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


@register("kernel", "imq")
class imq(Kernel):
    """k = (1 + r^2/tau^2)^(-1/2); positive definite (completely monotone in r^2; Micchelli)."""

    def log_profile(self, r):
        return -0.5 * torch.log1p((r / self.tau) ** 2)

    def dlog_profile(self, r):
        return r * self.radial_factor(r)

    def radial_factor(self, r):
        return -1.0 / (self.tau**2 + r * r)


@register("kernel", "cauchy")
class cauchy(Kernel):
    """k = 1 / (1 + r^2/tau^2); positive definite (completely monotone in r^2; Schoenberg)."""

    def log_profile(self, r):
        return -torch.log1p((r / self.tau) ** 2)

    def dlog_profile(self, r):
        return r * self.radial_factor(r)

    def radial_factor(self, r):
        return -2.0 / (self.tau**2 + r * r)


@register("kernel", "matern32")
class matern32(Kernel):
    """k = (1 + s) exp(-s), s = sqrt(3) r / tau; positive definite (Matern nu = 3/2).

    grad log k = -3 / (tau^2 (1 + s)) (x - y): finite at r = 0, unlike laplace.
    """

    def _s(self, r):
        return math.sqrt(3.0) * r / self.tau

    def log_profile(self, r):
        s = self._s(r)
        return torch.log1p(s) - s

    def dlog_profile(self, r):
        return r * self.radial_factor(r)

    def radial_factor(self, r):
        return -3.0 / (self.tau**2 * (1 + self._s(r)))


@register("kernel", "matern52")
class matern52(Kernel):
    """k = (1 + s + s^2/3) exp(-s), s = sqrt(5) r / tau; positive definite (Matern nu = 5/2).

    grad log k = -(5 / (3 tau^2)) (1 + s) / (1 + s + s^2/3) (x - y): finite at r = 0.
    """

    def _s(self, r):
        return math.sqrt(5.0) * r / self.tau

    def log_profile(self, r):
        s = self._s(r)
        return torch.log1p(s + s * s / 3) - s

    def dlog_profile(self, r):
        return r * self.radial_factor(r)

    def radial_factor(self, r):
        s = self._s(r)
        return -(5.0 / (3 * self.tau**2)) * (1 + s) / (1 + s + s * s / 3)


@register("kernel", "energy")
class energy(Kernel):
    """k = -r / tau: the energy-distance kernel. NOT positive definite and NOT positive.

    It is conditionally positive definite (sum_ij c_i c_j k(x_i, x_j) >= 0 whenever sum c = 0),
    so MMD^2 with it is the energy distance / tau and ``mmd`` with it is the energy-distance
    flow. ``tau`` is only a scale: it divides k, so the field scales as 1 / tau and, after the
    drift step's unit-RMS normalisation, every temperature gives the same force (the energy
    distance has no bandwidth). k is the tau -> infinity limit of laplace minus its constant,
    exp(-r/tau) - 1 -> -r/tau. No log: ``log_profile`` / ``logk`` / ``grad_logk`` raise.
    grad_x k = -(x - y) / (tau r); at coincident points r is floored at 1e-4 and x - y = 0,
    so the gradient there is 0 (the minimal-norm subgradient).
    """

    positive = False

    def log_profile(self, r):
        raise ValueError(f"{self!r}: the energy kernel k = -r/tau is not positive and has no "
                         "log k; the log-based fields (meanshift, split, kernel_gradient, "
                         "score_difference) cannot use it -- use the 'mmd' field")

    dlog_profile = log_profile
    radial_factor = log_profile

    def profile(self, r):
        return -r / self.tau

    def dprofile(self, r):
        return torch.full_like(r, -1.0 / self.tau)

    def value_radial_factor(self, r):
        return -1.0 / (self.tau * r)
