"""Defining identities of the transport fields ``sinkhorn`` and ``sliced``."""
import importlib

import pytest
import torch

from zoo import kernels

SK = importlib.import_module("zoo.fields.sinkhorn")  # the module; the attribute is the function
SL = importlib.import_module("zoo.fields.sliced")


def _data(seed, b=2, n=12, p=9, q=5, d=3, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x, pos, neg = (torch.randn(b, m, d, generator=g, dtype=dtype) for m in (n, p, q))
    x_w, pos_w, neg_w = (torch.rand(b, m, generator=g, dtype=dtype) + 0.1 for m in (n, p, q))
    return x, pos + 0.5, neg, x_w, pos_w, neg_w


def _sorted_matching_1d(x, p):
    """Displacement of each x_i to the p atom of the same rank: x, p [N] -> [N]."""
    xs, order = x.sort()
    d = torch.empty_like(x)
    d[order] = p.sort().values - xs
    return d


def test_sinkhorn_is_minus_gradient_of_debiased_divergence_over_weight():
    """V(x_i) = -(1/a_i) grad_{x_i} S(q, p), S by autograd through the same (unrolled) solver.

    q = [x; neg] with weights a = [x_w; neg_w] / sum; only x's gradient is compared.
    """
    x, pos, neg, x_w, pos_w, neg_w = _data(0, dtype=torch.float64)
    tau = 0.7
    v = SK.sinkhorn(x, pos, neg, kernel=kernels.laplace(tau=tau), x_w=x_w, pos_w=pos_w,
                    neg_w=neg_w, iters=400)
    xr = x.clone().requires_grad_()
    q, wq = torch.cat([xr, neg], 1), torch.cat([x_w, neg_w], 1)
    la, lb = SK.log_marginal(wq), SK.log_marginal(pos_w)
    schedule = [tau**2] * 400  # no eps-scaling: a plain unrolled solve
    div = (SK.ot_eps(la, q, lb, pos, schedule) - SK.ot_eps(la, q, la, q, schedule) / 2
           - SK.ot_eps(lb, pos, lb, pos, schedule) / 2)
    (grad,) = torch.autograd.grad(div.sum(), xr)
    a = (x_w / wq.sum(-1, keepdim=True))[..., None]
    assert v.dtype == torch.float32
    torch.testing.assert_close(v.double(), -grad / a, rtol=1e-4, atol=1e-5)
    assert v.abs().max() > 0.1


def test_sinkhorn_matches_geomloss():
    """Against geomloss's debiased Sinkhorn (p=2: cost |x-y|^2/2, blur = tau): value and V."""
    geomloss = pytest.importorskip("geomloss")
    x, pos, _, x_w, pos_w, _ = _data(1, dtype=torch.float64)
    tau = 0.7
    a, b = x_w / x_w.sum(-1, keepdim=True), pos_w / pos_w.sum(-1, keepdim=True)
    loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=tau, scaling=0.999, debias=True,
                                backend="tensorized")
    xr = x.clone().requires_grad_()
    value = loss(a, xr, b, pos)
    (grad,) = torch.autograd.grad(value.sum(), xr)
    la, lb = SK.log_marginal(x_w), SK.log_marginal(pos_w)
    schedule = [tau**2] * 400
    ours = (SK.ot_eps(la, x, lb, pos, schedule) - SK.ot_eps(la, x, la, x, schedule) / 2
            - SK.ot_eps(lb, pos, lb, pos, schedule) / 2)
    torch.testing.assert_close(ours, value.detach(), rtol=1e-4, atol=1e-6)
    v = SK.sinkhorn(x, pos, kernel=kernels.gaussian(tau=tau), x_w=x_w, pos_w=pos_w, iters=400)
    torch.testing.assert_close(v.double(), -grad / a[..., None], rtol=0, atol=1e-2)


def test_sinkhorn_vanishes_for_equal_weighted_clouds_and_is_a_shift_for_shifted_ones():
    """p = q (same points, same weights) gives V = 0 exactly; p = q + delta gives V = delta."""
    x, pos, neg, x_w, pos_w, neg_w = _data(2)
    k = kernels.laplace(tau=0.5)
    v = SK.sinkhorn(x, neg, neg.clone(), kernel=k, pos_w=neg_w, neg_w=neg_w.clone(),
                    self_negatives=False)
    assert v.abs().max() == 0
    v_self = SK.sinkhorn(x, x.clone(), kernel=k, x_w=x_w, pos_w=x_w.clone())
    assert v_self.abs().max() == 0
    delta = torch.tensor([0.5, -1.0, 0.25])
    v = SK.sinkhorn(x, x + delta, kernel=k, x_w=x_w, pos_w=x_w, iters=200)
    torch.testing.assert_close(v, delta.expand_as(v), rtol=0, atol=1e-4)


def test_sinkhorn_tends_to_sorted_matching_in_1d_as_eps_shrinks():
    g = torch.Generator().manual_seed(5)
    x, p = torch.randn(1, 32, 1, generator=g), 2 * torch.randn(1, 32, 1, generator=g) + 1
    d = _sorted_matching_1d(x[0, :, 0], p[0, :, 0])
    errors = []
    for tau in (0.3, 0.1, 0.03):
        v = SK.sinkhorn(x, p, kernel=kernels.laplace(tau=tau), iters=2000)[0, :, 0]
        errors.append(((v - d).norm() / d.norm()).item())
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 0.025, errors


def test_sinkhorn_eps_knob_overrides_tau():
    x, pos, *_ = _data(3)
    v_eps = SK.sinkhorn(x, pos, kernel=kernels.laplace(tau=5.0), eps=0.25)
    v_tau = SK.sinkhorn(x, pos, kernel=kernels.gaussian(tau=0.5))
    torch.testing.assert_close(v_eps, v_tau)
    with pytest.raises(ValueError, match="requires neg"):
        SK.sinkhorn(x, pos, kernel=kernels.laplace(tau=0.5), self_negatives=False)


def test_sliced_is_minus_half_n_times_gradient_of_sw2():
    """N = P, equal weights, x = q: V(x_i) = -(N/2) grad_{x_i} SW2^2(q, p), same directions."""
    b, n, d, L = 2, 16, 3, 8
    g = torch.Generator().manual_seed(6)
    x, pos = torch.randn(b, n, d, generator=g), torch.randn(b, n, d, generator=g) * 2 + 1
    v = SL.sliced(x, pos, kernel=kernels.laplace(tau=0.5), projections=L, seed=3)
    theta = SL.directions(d, L, 3).double()
    xr = x.double().requires_grad_()
    sx, sp = (xr @ theta.T).sort(1).values, (pos.double() @ theta.T).sort(1).values
    sw2 = ((sx - sp) ** 2).mean(1).mean(-1)  # [B]: (1/L) sum_l (1/N) sum_k (q_(k) - p_(k))^2
    (grad,) = torch.autograd.grad(sw2.sum(), xr)
    torch.testing.assert_close(v.double(), -(n / 2) * grad, rtol=1e-5, atol=1e-5)


def test_sliced_in_1d_is_sorted_matching():
    g = torch.Generator().manual_seed(7)
    x, p = torch.randn(1, 20, 1, generator=g), torch.randn(1, 20, 1, generator=g) * 3 - 1
    v = SL.sliced(x, p, kernel=kernels.laplace(tau=0.5), projections=4)
    torch.testing.assert_close(v[0, :, 0], _sorted_matching_1d(x[0, :, 0], p[0, :, 0]))


def test_sliced_vanishes_for_equal_clouds_and_is_a_projected_shift_for_shifted_ones():
    """p = q: V = 0 at any x; p = q + delta: V = (1/L) Theta^T Theta delta at any x, even outside q."""
    x, pos, neg, x_w, pos_w, neg_w = _data(8)
    k = kernels.laplace(tau=0.5)
    far = 10 * torch.randn(2, 6, 3)
    v = SL.sliced(far, neg, neg.clone(), kernel=k, pos_w=neg_w, neg_w=neg_w, self_negatives=False)
    assert v.abs().max() < 1e-6
    assert SL.sliced(x, x.clone(), kernel=k, x_w=x_w, pos_w=x_w).abs().max() < 1e-6
    delta = torch.tensor([0.5, -1.0, 0.25])
    theta = SL.directions(3, 64, 0)
    expected = (theta.T @ theta @ delta) / 64
    v = SL.sliced(torch.cat([x, far], 1), neg + delta, neg, kernel=k, pos_w=neg_w, neg_w=neg_w,
                  self_negatives=False)
    torch.testing.assert_close(v, expected.expand_as(v), rtol=0, atol=1e-5)


def test_sliced_is_deterministic_and_seeded():
    x, pos, *_ = _data(9)
    k = kernels.laplace(tau=0.5)
    v = SL.sliced(x, pos, kernel=k, seed=1)
    assert torch.equal(v, SL.sliced(x, pos, kernel=k, seed=1))
    assert torch.equal(v, SL.sliced(x, pos, kernel=kernels.gaussian(tau=3.0), seed=1))  # tau unused
    assert not torch.allclose(v, SL.sliced(x, pos, kernel=k, seed=2))
    with pytest.raises(ValueError, match="requires neg"):
        SL.sliced(x, pos, kernel=k, self_negatives=False)
