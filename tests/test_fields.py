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


def _kernel(kname, tau=1.0):
    return zoo.build("kernel", kname, tau=tau)


def _needs_logk(name):
    """A field uses log k unless it declares ``fn.needs_logk = False`` (e.g. mmd)."""
    return getattr(_field(name), "needs_logk", True)


def _compatible(name, kname):
    """False exactly for a log-based field with a kernel that has no log (positive = False)."""
    return not _needs_logk(name) or _kernel(kname).positive


def _skip_incompatible(name, kname):
    if not _compatible(name, kname):
        pytest.skip(f"{name} needs log k and {kname} has none (test_log_fields_reject_kernels_without_log)")


POSITIVE_KERNELS = [k for k in KERNELS if _kernel(k).positive]
INCOMPATIBLE = [(f, k) for f in FIELDS for k in KERNELS if not _compatible(f, k)]


def _energy(x, y):
    return 2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("kname", KERNELS)
def test_shapes_and_finite(name, kname):
    _skip_incompatible(name, kname)
    g = torch.Generator().manual_seed(0)
    x, pos, neg = (torch.randn(2, n, 3, generator=g) for n in (7, 9, 4))
    k = zoo.build("kernel", kname, tau=0.5)
    for kw in ({}, {"neg": neg}, {"neg": neg, "x_w": torch.rand(2, 7, generator=g),
                                  "pos_w": torch.rand(2, 9, generator=g), "neg_w": torch.rand(2, 4, generator=g)}):
        v = _field(name)(x, pos, kernel=k, **kw)
        assert v.shape == x.shape and v.dtype == torch.float32
        assert torch.isfinite(v).all()


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("kname", KERNELS)
def test_vanishes_when_positives_equal_negatives(name, kname):
    _skip_incompatible(name, kname)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(1, 16, 2, generator=g), torch.randn(1, 32, 2, generator=g) + 0.3
    v = _field(name)(x, y, y, kernel=_kernel(kname, 0.3), self_negatives=False)
    assert v.abs().max() < 1e-6
    v_self = _field(name)(x, x.clone(), kernel=_kernel(kname, 0.3))  # pos = the batch itself
    assert torch.isfinite(v_self).all()


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("kname", KERNELS)
def test_anti_symmetry(name, kname):
    if not getattr(_field(name), "antisymmetric", True):
        pytest.skip(f"{name} declares itself not anti-symmetric (see its docstring)")
    _skip_incompatible(name, kname)
    g = torch.Generator().manual_seed(2)
    x, p, q = (torch.randn(2, n, 2, generator=g) for n in (10, 20, 15))
    k = _kernel(kname, 0.7)
    v_pq = _field(name)(x, p, q, kernel=k, self_negatives=False)
    v_qp = _field(name)(x, q, p, kernel=k, self_negatives=False)
    torch.testing.assert_close(v_pq, -v_qp, rtol=1e-5, atol=1e-6)
    assert v_pq.abs().max() > 1e-3  # not trivially zero


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("kname", KERNELS)
def test_descent_on_a_toy(name, kname):
    """A small step along V (generated batch as negatives) lowers the energy distance to p."""
    _skip_incompatible(name, kname)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 256, 2, generator=g) * 0.5
    pos = torch.randn(1, 256, 2, generator=g) * 0.5 + torch.tensor([1.5, -0.5])
    k = _kernel(kname, 0.5)
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
    """grad log k for every kernel that has a log (tests/test_kernels.py checks grad k for all)."""
    x = torch.randn(1, 5, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 4, 3, dtype=torch.float64)
    for name in POSITIVE_KERNELS:
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


# -- kernels without a log, and the fields added with the kernel zoo -------------------------

@pytest.mark.parametrize("name,kname", INCOMPATIBLE or [pytest.param(None, None, marks=pytest.mark.skip)])
def test_log_fields_reject_kernels_without_log(name, kname):
    """A field that needs log k, called with a kernel that has none, raises a clear ValueError.

    An undeclared field counts as needing log k; one that does not should say so with
    ``fn.needs_logk = False`` (then the registry-wide tests run it with every kernel).
    """
    x = torch.randn(1, 4, 2)
    try:
        _field(name)(x, torch.randn(1, 5, 2), kernel=_kernel(kname, 0.5))
    except ValueError as err:
        assert "not positive" in str(err), f"unclear error from {name} with {kname}: {err}"
    else:
        pytest.fail(f"field '{name}' ran with the '{kname}' kernel, which has no log k: if the field "
                    f"does not use log k, declare `{name}.needs_logk = False` in its module (then the "
                    "registry-wide tests run it with every kernel); otherwise it must raise ValueError")


def _grad_log_sums(x, pos, neg, kernel, x_w, pos_w, neg_w):
    """Autograd reference: grad_x log sum_p w k(x, p) - grad_x log sum_{q != self} w k(x, q).

    Negatives are [x; neg] (x detached: V(x_n) moves only the query point), self-pairs left out.
    Everything in float64, [N, D] inputs -> [N, D].
    """
    xq = x.clone().requires_grad_(True)
    q, q_w = torch.cat([x, neg]), torch.cat([x_w, neg_w])
    off = ~torch.nn.functional.pad(torch.eye(len(x), dtype=torch.bool), (0, len(neg)))

    def log_sum(y, w, keep=None):
        k = kernel.profile((xq[:, None] - y[None]).pow(2).sum(-1).clamp(min=1e-30).sqrt())
        terms = k * w[None]
        return (terms * keep if keep is not None else terms).sum(-1).log()

    total = log_sum(pos, pos_w) - log_sum(q, q_w, off)
    (grad,) = torch.autograd.grad(total.sum(), xq)
    return grad


def _weighted_problem(seed, n=6, p=7, q=5, d=3):
    g = torch.Generator().manual_seed(seed)
    x, pos, neg = (torch.randn(m, d, generator=g, dtype=torch.float64) for m in (n, p, q))
    x_w, pos_w, neg_w = (torch.rand(m, generator=g, dtype=torch.float64) + 0.2 for m in (n, p, q))
    return x, pos, neg, x_w, pos_w, neg_w


def _call(name, problem, kernel, **kw):
    x, pos, neg, x_w, pos_w, neg_w = (t[None].float() for t in problem)
    return _field(name)(x, pos, neg, kernel=kernel, x_w=x_w, pos_w=pos_w, neg_w=neg_w, **kw)[0].double()


def test_kernel_gradient_is_split_over_tau2_for_the_gaussian_kernel():
    """With radial_factor = -1/tau^2 the kernel-gradient field is split / tau^2 (weights, self-negatives)."""
    problem, tau = _weighted_problem(5), 0.8
    k = kernels.gaussian(tau=tau)
    torch.testing.assert_close(_call("kernel_gradient", problem, k),
                               _call("split", problem, k) / tau**2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kname", POSITIVE_KERNELS)
def test_kernel_gradient_is_grad_log_of_kernel_sums(kname):
    """V = grad log sum_p w k - grad log sum_q w k (self-pairs out), against autograd, any positive kernel."""
    problem = _weighted_problem(6)
    k = _kernel(kname, 0.9)
    v = _call("kernel_gradient", problem, k)
    ref = _grad_log_sums(*problem[:3], k, *problem[3:])
    torch.testing.assert_close(v, ref, rtol=1e-4, atol=1e-5)
    assert ref.abs().max() > 1e-2


@pytest.mark.parametrize("kname", POSITIVE_KERNELS)
def test_score_difference_is_tau2_grad_log_of_kernel_sums(kname):
    """normalize='tau2' (default): tau^2 times the log-gradient difference, for any positive kernel."""
    problem, tau = _weighted_problem(7), 0.6
    k = _kernel(kname, tau)
    ref = _grad_log_sums(*problem[:3], k, *problem[3:])
    torch.testing.assert_close(_call("score_difference", problem, k), tau**2 * ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(_call("score_difference", problem, k, normalize="none"), ref,
                               rtol=1e-4, atol=1e-5)


def test_score_difference_normalize_options():
    """'tau2' = split for the Gaussian, 'rms' has unit RMS per group, unknown values raise."""
    g = torch.Generator().manual_seed(8)
    x, p, q = (torch.randn(3, n, 2, generator=g) for n in (10, 12, 9))
    k = kernels.gaussian(tau=0.5)
    torch.testing.assert_close(_field("score_difference")(x, p, q, kernel=k),
                               fields.split(x, p, q, kernel=k), rtol=1e-4, atol=1e-5)
    v = _field("score_difference")(x, p, q, kernel=k, normalize="rms")
    torch.testing.assert_close(v.pow(2).mean(dim=(1, 2)), torch.ones(3))
    raw = _field("score_difference")(x, p, q, kernel=k, normalize="none")
    torch.testing.assert_close(v, raw / raw.pow(2).mean(dim=(1, 2), keepdim=True).sqrt())
    with pytest.raises(ValueError, match="normalize must be one of"):
        _field("score_difference")(x, p, q, kernel=k, normalize="unit")


def test_score_difference_gaussian_is_smoothed_score_difference():
    """normalize='none': grad log p~ - grad log q~ for p~ = p * N(0, tau^2), closer as samples grow."""
    tau, std = 0.5, 0.3
    mp = torch.tensor([[-1.0, 0.0], [1.0, 0.5]], dtype=torch.float64)
    mq = torch.tensor([[0.0, -1.0], [0.5, 1.0], [-0.5, 0.5]], dtype=torch.float64)
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(9), dtype=torch.float64) * 0.8
    exact = _gmm_smoothed_score(x, mp, std, tau) - _gmm_smoothed_score(x, mq, std, tau)
    errors = []
    for m in (300, 3000, 60000):
        g = torch.Generator().manual_seed(m + 1)
        p = mp[torch.randint(2, (m,), generator=g)] + std * torch.randn(m, 2, generator=g, dtype=torch.float64)
        q = mq[torch.randint(3, (m,), generator=g)] + std * torch.randn(m, 2, generator=g, dtype=torch.float64)
        v = _field("score_difference")(x[None].float(), p[None].float(), q[None].float(),
                                       kernel=kernels.gaussian(tau=tau), self_negatives=False,
                                       normalize="none")[0].double()
        errors.append(((v - exact).norm(dim=-1).mean() / exact.norm(dim=-1).mean()).item())
    assert errors[0] > errors[2] and errors[1] > errors[2]
    assert errors[2] < 0.03, errors


def _mmd2_v(x, pos, neg, kernel, x_w, pos_w, neg_w):
    """The V-statistic MMD^2 of q = {x (x_w); neg (neg_w)} against p (pos_w), differentiable in x.

    The diagonal k(x_i, x_i) = k(0) is a constant (no gradient), so it enters as a constant.
    """
    def gram(a, b, diag_const=False):
        d2 = (a[:, None] - b[None]).pow(2).sum(-1)
        if diag_const:  # keep autograd away from sqrt(0) on the diagonal
            eye = torch.eye(len(a), dtype=torch.bool)
            d2 = torch.where(eye, torch.ones_like(d2), d2)
            return torch.where(eye, kernel.profile(torch.zeros_like(d2)), kernel.profile(d2.sqrt()))
        return kernel.profile(d2.sqrt())

    wq, wp = torch.cat([x_w, neg_w]), pos_w
    q = torch.cat([x, neg])
    k_qq = torch.cat([torch.cat([gram(x, x, True), gram(x, neg)], 1),
                      torch.cat([gram(neg, x), gram(neg, neg, True)], 1)])
    mq, mp = wq / wq.sum(), wp / wp.sum()
    return mq @ k_qq @ mq - 2 * mq @ gram(q, pos) @ mp + mp @ gram(pos, pos, True) @ mp


@pytest.mark.parametrize("kname", KERNELS)
def test_mmd_is_scaled_gradient_of_the_v_statistic(kname):
    """V(x_n) = -(W_q / (2 u_n)) grad_{x_n} MMD^2_V (weights, extra negatives, self-pairs); every kernel."""
    problem = _weighted_problem(10)
    x, pos, neg, x_w, pos_w, neg_w = problem
    k = _kernel(kname, 0.8)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_mmd2_v(xg, pos, neg, k, x_w, pos_w, neg_w), xg)
    w_q = x_w.sum() + neg_w.sum()
    expected = -(w_q / (2 * x_w))[:, None] * grad
    torch.testing.assert_close(_call("mmd", problem, k), expected, rtol=1e-4, atol=1e-5)
    assert expected.abs().max() > 1e-2
    # unit weights, no extra negatives: V = -(N/2) grad MMD^2_V
    ones = torch.ones(len(x), dtype=torch.float64)
    xg = x.clone().requires_grad_(True)
    mmd2 = _mmd2_v(xg, pos, neg[:0], k, ones, torch.ones(len(pos), dtype=torch.float64), ones[:0])
    (grad,) = torch.autograd.grad(mmd2, xg)
    v = _field("mmd")(x[None].float(), pos[None].float(), kernel=k)[0].double()
    torch.testing.assert_close(v, -(len(x) / 2) * grad, rtol=1e-4, atol=1e-5)


def test_mmd_with_the_energy_kernel_is_the_energy_distance_flow():
    """(1/tau)(E_p unit(y - x) - E_q unit(y - x)), and the large-tau limit of mmd with laplace."""
    g = torch.Generator().manual_seed(11)
    x, p, q = (torch.randn(2, n, 3, generator=g) for n in (8, 10, 6))
    tau = 2.0
    v = _field("mmd")(x, p, q, kernel=kernels.energy(tau=tau), self_negatives=False)

    def unit_mean(y):
        d = y[:, None, :, :] - x[:, :, None, :]
        return (d / d.norm(dim=-1, keepdim=True)).mean(2)

    torch.testing.assert_close(v, (unit_mean(p) - unit_mean(q)) / tau, rtol=1e-4, atol=1e-5)
    big = 1e4
    torch.testing.assert_close(_field("mmd")(x, p, q, kernel=kernels.laplace(tau=big), self_negatives=False),
                               _field("mmd")(x, p, q, kernel=kernels.energy(tau=big), self_negatives=False),
                               rtol=1e-2, atol=1e-8)
