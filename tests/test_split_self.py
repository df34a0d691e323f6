"""split_self: split whose repulsion keeps each sample's own pair (distance 0)."""
import pytest
import torch

import zoo
from zoo.fields.split_self import split_self
from zoo.kernels import gaussian, laplace

split = zoo.registry.lookup("field", "split")


def _cloud(seed, n, d=2, b=1):
    return torch.randn(b, n, d, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kernel", [laplace(tau=0.4), gaussian(tau=0.6)])
def test_is_split_plus_the_self_share_of_the_repulsion(kernel):
    """V = split + s_i V-_loo with the self-pair's share
    s_i = k(0) w_i / (k(0) w_i + sum_{j != i} k_ij w_j + sum_q k_iq w_q)."""
    x, pos, neg = _cloud(0, 12, b=2), _cloud(1, 20, b=2), _cloud(2, 5, b=2)
    x_w, neg_w = torch.rand(2, 12) + 0.5, torch.rand(2, 5) + 0.5
    v_plus = split(x, pos, kernel=kernel, self_negatives=False)
    v_loo = v_plus - split(x, pos, neg, kernel=kernel, x_w=x_w, neg_w=neg_w)   # V- leave-one-out
    k_xx = kernel.log_profile(torch.cdist(x, x)).exp()
    k_xx.diagonal(0, -2, -1).zero_()
    others = (k_xx * x_w[:, None, :]).sum(-1) + (kernel.log_profile(torch.cdist(x, neg)).exp()
                                                 * neg_w[:, None, :]).sum(-1)
    share = x_w / (x_w + others)                                                  # [B,N]
    v = split_self(x, pos, neg, kernel=kernel, x_w=x_w, neg_w=neg_w)
    torch.testing.assert_close(v, split(x, pos, neg, kernel=kernel, x_w=x_w, neg_w=neg_w)
                               + share[..., None] * v_loo, rtol=1e-4, atol=1e-5)
    assert (v - split(x, pos, neg, kernel=kernel, x_w=x_w, neg_w=neg_w)).abs().max() > 1e-3


def test_a_lone_sample_feels_only_the_attraction():
    x, pos = _cloud(3, 1), _cloud(4, 30)
    k = laplace(tau=0.3)
    torch.testing.assert_close(split_self(x, pos, kernel=k),
                               split(x, pos, kernel=k, self_negatives=False))


def test_without_self_negatives_it_is_split():
    x, pos, neg = _cloud(5, 9), _cloud(6, 11), _cloud(7, 4)
    k = laplace(tau=0.5)
    torch.testing.assert_close(split_self(x, pos, neg, kernel=k, self_negatives=False),
                               split(x, pos, neg, kernel=k, self_negatives=False))


def test_a_stray_is_pulled_back_where_split_barely_moves_it():
    """Data on a line; the batch = fresh draws of the same line plus one stray 0.5 above it.
    Leave-one-out, the stray's V+ and V- point at the same stretch of the line and cancel;
    with its own pair kept its repulsion vanishes and it moves (nearly) all the way back."""
    g = torch.Generator().manual_seed(8)
    line = lambda n: torch.stack([torch.rand(n, generator=g) * 4 - 2,  # noqa: E731
                                  0.01 * torch.randn(n, generator=g)], -1)
    x = torch.cat([torch.tensor([[0.0, 0.5]]), line(511)])[None]
    pos = line(512)[None]
    k = laplace(tau=0.05)
    back_self = -split_self(x, pos, kernel=k)[0, 0, 1] / 0.5
    back_split = -split(x, pos, kernel=k)[0, 0, 1] / 0.5
    assert back_self > 0.9 and back_split < 0.5 * back_self


def test_a_dense_batch_at_p_is_almost_unbiased():
    """At q = p the bias is s_i V+: small where each sample has many neighbours within tau."""
    x, pos = _cloud(9, 2000) * 0.3, _cloud(10, 2000) * 0.3
    k = laplace(tau=0.3)
    bias = split_self(x, pos, kernel=k) - split(x, pos, kernel=k)
    pull = split(x, pos, kernel=k, self_negatives=False)
    assert bias.norm(dim=-1).mean() < 0.02 * pull.norm(dim=-1).mean()
