"""meanshift_ablation: the paper's Table 1 (a V+ - b V-) and Table 11 (kernel normalisation)."""
import pytest
import torch

from zoo import fields, kernels


def _sets(seed=0, n=(6, 8, 5)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(2, k, 3, generator=g) for k in n]


def test_defaults_are_meanshift_exactly():
    x, p, q = _sets()
    g = torch.Generator().manual_seed(1)
    w = dict(x_w=torch.rand(2, 6, generator=g), pos_w=torch.rand(2, 8, generator=g),
             neg_w=torch.rand(2, 5, generator=g))
    k = kernels.laplace(tau=0.5)
    for floor in (0.0, 1e-6):
        ref = fields.meanshift(x, p, q, kernel=k, affinity_floor=floor, **w)
        got = fields.meanshift_ablation(x, p, q, kernel=k, affinity_floor=floor, **w)
        assert torch.equal(got, ref)


def test_scales_weight_attraction_and_repulsion():
    """V(a, b) = a V(1, 0) + b (V(1, 1) - V(1, 0)): the scales multiply the two terms."""
    x, p, q = _sets(2)
    k = kernels.laplace(tau=0.7)
    v = lambda a, b: fields.meanshift_ablation(x, p, q, kernel=k, attraction=a, repulsion=b)
    attract, repel = v(1.0, 0.0), v(1.0, 1.0) - v(1.0, 0.0)
    torch.testing.assert_close(v(1.5, 2.0), 1.5 * attract + 2.0 * repel)
    assert attract.abs().max() > 1e-3 and repel.abs().max() > 1e-3


def test_only_equal_scales_vanish_at_equilibrium():
    """p = q: V = 0 for a = b (Prop. 3.1); 1.5 V+ - V- and V+ only drift away from p."""
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(1, 16, 2, generator=g), torch.randn(1, 32, 2, generator=g)
    k = kernels.laplace(tau=0.3)
    for a, b, zero in ((1.0, 1.0, True), (2.0, 2.0, True), (1.5, 1.0, False), (1.0, 0.0, False)):
        v = fields.meanshift_ablation(x, y, y, kernel=k, self_negatives=False, attraction=a, repulsion=b)
        assert (v.abs().max() < 1e-6) == zero, (a, b)


@pytest.mark.parametrize("normalise, weight", [("none", lambda m: 1.0), ("rows", lambda m: 1.0 / m)])
def test_normalisations_with_uniform_kernel(normalise, weight):
    """With tau -> inf every k = 1: 'none' gives A = 1 so V = P Q (mean p - mean q); 'rows'
    gives A = 1/M so V = P Q / M^2 (mean p - mean q); M = P + Q targets."""
    x, p, q = _sets(4)
    v = fields.meanshift_ablation(x, p, q, kernel=kernels.laplace(tau=1e6), self_negatives=False,
                                  affinity_floor=0.0, normalise=normalise)
    a = weight(13)
    expected = (8 * a) * (5 * a) * (p.mean(1) - q.mean(1))
    torch.testing.assert_close(v, expected[:, None].expand_as(v), rtol=1e-4, atol=1e-6)


def test_unknown_normalisation_is_named():
    x, p, q = _sets()
    with pytest.raises(ValueError, match=r"normalise must be one of \('both', 'rows', 'none'\), got 'cols'"):
        fields.meanshift_ablation(x, p, q, kernel=kernels.laplace(tau=1.0), normalise="cols")
