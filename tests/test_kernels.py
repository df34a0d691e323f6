"""Each kernel: closed form, gradients against autograd, positive definiteness, r -> 0."""
import math

import pytest
import torch

import zoo
from zoo import kernels
from zoo.drift import kernel_at

KERNELS = zoo.names("kernel")


def _kernel(kname, tau=1.0):
    return zoo.build("kernel", kname, tau=tau)


POSITIVE = [k for k in KERNELS if _kernel(k).positive]
NOT_POSITIVE = [k for k in KERNELS if not _kernel(k).positive]

# Independent closed forms k(r; tau) for the kernels this file knows; a new kernel adds its own.
CLOSED_FORMS = {
    "laplace": lambda r, t: torch.exp(-r / t),
    "gaussian": lambda r, t: torch.exp(-r**2 / (2 * t**2)),
    "imq": lambda r, t: (1 + r**2 / t**2) ** -0.5,
    "cauchy": lambda r, t: 1 / (1 + r**2 / t**2),
    "matern32": lambda r, t: (1 + math.sqrt(3) * r / t) * torch.exp(-math.sqrt(3) * r / t),
    "matern52": lambda r, t: ((1 + math.sqrt(5) * r / t + 5 * r**2 / (3 * t**2))
                              * torch.exp(-math.sqrt(5) * r / t)),
    "energy": lambda r, t: -r / t,
}
# lim_{r -> 0} of grad_x log k / (x - y) for the kernels that are smooth at 0
SMOOTH_LIMITS = {"gaussian": 1.0, "imq": 1.0, "cauchy": 2.0, "matern32": 3.0, "matern52": 5.0 / 3.0}


def _min_eig(gram):
    return torch.linalg.eigvalsh(gram).min().item()


def _points(d, seed):
    """Random points plus a near-duplicate cluster (the hard case for definiteness)."""
    g = torch.Generator().manual_seed(seed)
    pts = torch.randn(60, d, generator=g, dtype=torch.float64)
    return torch.cat([pts, pts[:5] + 1e-3 * torch.randn(5, d, generator=g, dtype=torch.float64)])


@pytest.mark.parametrize("kname", KERNELS)
def test_profile_matches_the_closed_form(kname):
    assert kname in CLOSED_FORMS, f"add the closed form of the new kernel '{kname}' to CLOSED_FORMS"
    r = torch.linspace(0, 5, 51, dtype=torch.float64)
    for tau in (0.3, 1.7):
        k = _kernel(kname, tau)
        torch.testing.assert_close(k.profile(r), CLOSED_FORMS[kname](r, tau))
        if k.positive:
            torch.testing.assert_close(k.log_profile(r).exp(), CLOSED_FORMS[kname](r, tau))


@pytest.mark.parametrize("kname", KERNELS)
def test_value_and_gradients_match_autograd(kname):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    k = _kernel(kname, 0.7)
    dist = (x[:, :, None] - y[:, None]).norm(dim=-1)
    torch.testing.assert_close(k.value(x, y), CLOSED_FORMS[kname](dist, 0.7))
    grad_k = k.grad_value(x, y)
    grad_log = k.grad_logk(x, y) if k.positive else None
    for m in range(4):
        (auto,) = torch.autograd.grad(k.value(x, y)[:, :, m].sum(), x)
        torch.testing.assert_close(grad_k[:, :, m], auto)
        if k.positive:
            (auto,) = torch.autograd.grad(k.logk(x, y)[:, :, m].sum(), x)
            torch.testing.assert_close(grad_log[:, :, m], auto)
    r = torch.linspace(0.05, 4, 40, dtype=torch.float64, requires_grad=True)
    (dk,) = torch.autograd.grad(k.profile(r).sum(), r)
    torch.testing.assert_close(k.dprofile(r), dk)
    torch.testing.assert_close(k.value_radial_factor(r), dk / r)
    if k.positive:
        (dlog,) = torch.autograd.grad(k.log_profile(r).sum(), r)
        torch.testing.assert_close(k.dlog_profile(r), dlog)
        torch.testing.assert_close(k.radial_factor(r), dlog / r)


@pytest.mark.parametrize("kname", POSITIVE)
def test_positive_kernels_are_positive_definite(kname):
    """Gram matrices have eigenvalues >= -1e-6 (float64), in 1, 3 and 8 dimensions, three bandwidths."""
    for d, tau in ((1, 0.2), (3, 1.0), (8, 5.0)):
        pts = _points(d, seed=d)
        k = _kernel(kname, tau)
        assert _min_eig(k.value(pts[None], pts[None])[0]) >= -1e-6


def test_energy_kernel_is_only_conditionally_positive_definite():
    """The PD check above fails for energy; on sum-zero vectors (centred Gram) it holds."""
    for kname in NOT_POSITIVE:
        for d in (1, 3, 8):
            pts = _points(d, seed=10 + d)
            gram = _kernel(kname, 1.0).value(pts[None], pts[None])[0]
            assert _min_eig(gram) < -1e-3
            centre = torch.eye(len(pts), dtype=torch.float64) - 1.0 / len(pts)
            assert _min_eig(centre @ gram @ centre) >= -1e-6


@pytest.mark.parametrize("kname", KERNELS)
def test_gradients_are_finite_as_r_goes_to_zero(kname):
    """Coincident and nearly coincident points (float32, the release's cdist floor)."""
    k = _kernel(kname, 0.5)
    x = torch.randn(1, 6, 3, generator=torch.Generator().manual_seed(1))
    for eps in (0.0, 1e-7, 1e-5, 1e-3):
        y = x + eps
        grads = [k.grad_value(x, y)] + ([k.grad_logk(x, y)] if k.positive else [])
        for grad in grads:
            assert torch.isfinite(grad).all()
            if eps == 0.0:  # x - y = 0 exactly: the gradient at a coincident pair is 0
                assert grad.diagonal(dim1=1, dim2=2).abs().max() == 0
    r = kernels.cdist(x, x)  # diagonal floored at 1e-4
    assert torch.isfinite(k.value_radial_factor(r)).all()
    if kname in SMOOTH_LIMITS:
        limit = -SMOOTH_LIMITS[kname] / 0.5**2
        r0, expected = torch.tensor([0.0, 1e-6]), torch.tensor([limit, limit])
        torch.testing.assert_close(k.radial_factor(r0), expected, rtol=1e-4, atol=0)
        torch.testing.assert_close(k.value_radial_factor(r0), expected, rtol=1e-4, atol=0)


def test_kernels_without_log_raise_a_clear_error():
    assert NOT_POSITIVE == ["energy"]
    x, y = torch.randn(1, 3, 2), torch.randn(1, 4, 2)
    for kname in NOT_POSITIVE:
        k = _kernel(kname, 1.0)
        for call in (lambda: k.logk(x, y), lambda: k.grad_logk(x, y),
                     lambda: k.log_profile(torch.ones(3)), lambda: k.radial_factor(torch.ones(3))):
            with pytest.raises(ValueError, match="not positive and has no log"):
                call()
        with pytest.raises(ValueError, match="needs log k"):
            kernels.require_log(k, "split")
    for kname in POSITIVE:
        kernels.require_log(_kernel(kname), "split")  # no error


def test_energy_is_the_large_tau_limit_of_laplace():
    """tau (exp(-r/tau) - 1) -> -r: energy is laplace minus its constant, read at large tau."""
    r = torch.linspace(0, 3, 31, dtype=torch.float64)
    tau = 1e5
    torch.testing.assert_close(tau * (kernels.laplace(tau=tau).profile(r) - 1),
                               tau * kernels.energy(tau=tau).profile(r), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("kname", KERNELS)
def test_docstring_states_definiteness_and_kernel_at_copies(kname):
    cls = zoo.registry.lookup("kernel", kname)
    assert "positive definite" in (cls.__doc__ or "").lower()
    k = kernel_at(_kernel(kname, 0.5), 2.0)
    assert type(k) is type(_kernel(kname)) and k.tau == 2.0
    with pytest.raises(ValueError, match="tau must be > 0"):
        _kernel(kname, 0.0)
