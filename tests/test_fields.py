"""Registry-wide field tests and each field's defining identity."""
import math

import pytest
import torch

import zoo
from zoo import fields, kernels

FIELDS = zoo.names("field")
KERNELS = zoo.names("kernel")


def _field(name):
    return zoo.registry.lookup("field", name)


def _energy(x, y):
    return 2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("kname", KERNELS)
def test_shapes_and_finite(name, kname):
    g = torch.Generator().manual_seed(0)
    x, pos, neg = (torch.randn(2, n, 3, generator=g) for n in (7, 9, 4))
    k = zoo.build("kernel", kname, tau=0.5)
    for kw in ({}, {"neg": neg}, {"neg": neg, "x_w": torch.rand(2, 7, generator=g),
                                  "pos_w": torch.rand(2, 9, generator=g), "neg_w": torch.rand(2, 4, generator=g)}):
        v = _field(name)(x, pos, kernel=k, **kw)
        assert v.shape == x.shape and v.dtype == torch.float32
        assert torch.isfinite(v).all()


@pytest.mark.parametrize("name", FIELDS)
def test_vanishes_when_positives_equal_negatives(name):
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(1, 16, 2, generator=g), torch.randn(1, 32, 2, generator=g) + 0.3
    v = _field(name)(x, y, y, kernel=kernels.laplace(tau=0.3), self_negatives=False)
    assert v.abs().max() < 1e-6
    v_self = _field(name)(x, x.clone(), kernel=kernels.laplace(tau=0.3))  # pos = the batch itself
    assert torch.isfinite(v_self).all()


@pytest.mark.parametrize("name", FIELDS)
def test_anti_symmetry(name):
    if not getattr(_field(name), "antisymmetric", True):
        pytest.skip(f"{name} declares itself not anti-symmetric (see its docstring)")
    g = torch.Generator().manual_seed(2)
    x, p, q = (torch.randn(2, n, 2, generator=g) for n in (10, 20, 15))
    k = kernels.gaussian(tau=0.7)
    v_pq = _field(name)(x, p, q, kernel=k, self_negatives=False)
    v_qp = _field(name)(x, q, p, kernel=k, self_negatives=False)
    torch.testing.assert_close(v_pq, -v_qp, rtol=1e-5, atol=1e-6)
    assert v_pq.abs().max() > 1e-3  # not trivially zero


@pytest.mark.parametrize("name", FIELDS)
def test_descent_on_a_toy(name):
    """A small step along V (generated batch as negatives) lowers the energy distance to p."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 256, 2, generator=g) * 0.5
    pos = torch.randn(1, 256, 2, generator=g) * 0.5 + torch.tensor([1.5, -0.5])
    k = kernels.laplace(tau=0.5)
    before = _energy(x[0], pos[0])
    for _ in range(5):
        v = _field(name)(x, pos, kernel=k)
        x = x + 0.1 * v / v.pow(2).mean().sqrt()
    assert _energy(x[0], pos[0]) < 0.8 * before


def _gmm_smoothed_score(x, means, std, tau):
    """grad log (p * N(0, tau^2)) for an equal-weight isotropic GMM; x [N, D] -> [N, D]."""
    var = std**2 + tau**2
    logits = -((x[:, None, :] - means[None]) ** 2).sum(-1) / (2 * var)
    r = torch.softmax(logits, -1)
    return (r[..., None] * (means[None] - x[:, None, :])).sum(1) / var


def test_split_gaussian_kernel_is_tau2_times_smoothed_score_difference():
    """split(x; p, q) = tau^2 (grad log p~ - grad log q~), closer as the sample count grows."""
    torch.manual_seed(0)
    tau, std = 0.5, 0.3
    mp = torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=torch.float64)
    mq = torch.tensor([[0.0, -1.0], [0.5, 1.0], [-0.5, 0.5]], dtype=torch.float64)
    x = torch.randn(16, 2, dtype=torch.float64) * 0.8
    exact = tau**2 * (_gmm_smoothed_score(x, mp, std, tau) - _gmm_smoothed_score(x, mq, std, tau))
    errors = []
    for m in (300, 3000, 60000):
        g = torch.Generator().manual_seed(m)
        p = mp[torch.randint(2, (m,), generator=g)] + std * torch.randn(m, 2, generator=g, dtype=torch.float64)
        q = mq[torch.randint(3, (m,), generator=g)] + std * torch.randn(m, 2, generator=g, dtype=torch.float64)
        v = fields.split(x[None].float(), p[None].float(), q[None].float(),
                         kernel=kernels.gaussian(tau=tau), self_negatives=False)[0].double()
        errors.append(((v - exact).norm(dim=-1).mean() / exact.norm(dim=-1).mean()).item())
    assert errors[0] > errors[2] and errors[1] > errors[2]
    assert errors[2] < 0.03, errors


def test_meanshift_is_split_weighted_by_mass_when_rows_are_uniform():
    """With huge tau every affinity is equal, so meanshift = S+ S- (mean(pos) - mean(neg))."""
    g = torch.Generator().manual_seed(4)
    x, p, q = (torch.randn(1, n, 2, generator=g) for n in (6, 8, 5))
    v = fields.meanshift(x, p, q, kernel=kernels.laplace(tau=1e6), self_negatives=False, affinity_floor=0)
    a = math.sqrt(1 / 13 / 6)
    expected = (8 * a) * (5 * a) * (p.mean(1) - q.mean(1))
    torch.testing.assert_close(v, expected[:, None].expand_as(v), rtol=1e-4, atol=1e-6)


def test_kernel_gradients_match_autograd():
    x = torch.randn(1, 5, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 4, 3, dtype=torch.float64)
    for name in KERNELS:
        k = zoo.build("kernel", name, tau=0.7)
        g = k.grad_logk(x, y)
        for m in range(4):
            (auto,) = torch.autograd.grad(k.logk(x, y)[0, :, m].sum(), x)
            torch.testing.assert_close(g[0, :, m], auto[0])


def test_errors_are_clear():
    with pytest.raises(ValueError, match="tau must be > 0"):
        kernels.laplace(tau=-1.0)
    with pytest.raises(KeyError, match="Did you mean 'meanshift'"):
        zoo.build("field", "meanshfit")
    with pytest.raises(ValueError, match="affinity_floor"):
        fields.meanshift(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2), kernel=kernels.laplace(), affinity_floor=-1)
