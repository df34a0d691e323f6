"""adaptive_split: split with a per-sample temperature floor at the local sample spacing."""
import pytest
import torch

import zoo
from zoo.fields.adaptive_split import adaptive_split, kth_distance

laplace, gaussian = zoo.registry.lookup("kernel", "laplace"), zoo.registry.lookup("kernel", "gaussian")
split = zoo.registry.lookup("field", "split")


def _cloud(seed, n, scale=1.0):
    return scale * torch.randn(1, n, 2, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("kernel", [laplace, gaussian])
def test_is_split_where_the_temperature_is_above_the_spacing(kernel):
    x, pos, neg = _cloud(0, 16), _cloud(1, 64), _cloud(2, 8)
    k = kernel(tau=0.3)
    assert torch.allclose(adaptive_split(x, pos, neg, kernel=k, spacing=0.0),
                          split(x, pos, neg, kernel=k), atol=1e-6)


def test_a_row_in_thin_data_is_split_at_its_kth_neighbour_distance():
    """Every row equals split evaluated alone at tau_n = max(tau, spacing * r_n)."""
    x, pos, neg = _cloud(3, 12, 2.0), _cloud(4, 40), _cloud(5, 6)
    tau, kk, c = 0.01, 4, 1.5
    v = adaptive_split(x, pos, neg, kernel=laplace(tau=tau), k=kk, spacing=c)
    for n in range(x.shape[1]):
        d_pos = torch.cdist(x[0, n:n + 1], pos[0])
        others = torch.cat([x[0, :n], x[0, n + 1:], neg[0]])
        r = max(d_pos.sort().values[0, kk - 1], torch.cdist(x[0, n:n + 1], others).sort().values[0, kk - 1])
        assert c * r > tau  # the floor is what sets this row's temperature
        # split at tau_n with the other samples of x as explicit negatives (self excluded)
        ref = split(x[:, n:n + 1], pos, others[None], kernel=laplace(tau=float(c * r)),
                    self_negatives=False)
        assert torch.allclose(v[0, n], ref[0, 0], atol=1e-5), n


def test_floor_cuts_the_noise_of_a_thin_region_but_keeps_zero_mean_at_q_equal_p():
    """x and the positives both from p, thin (few samples in the kernel): the floor lowers the
    spread of V over batches, its mean stays ~0."""
    vs, va = [], []
    for seed in range(40):
        x, pos = _cloud(100 + seed, 64), _cloud(200 + seed, 64)
        vs.append(split(x, pos, kernel=laplace(tau=0.01))[0, :8])
        va.append(adaptive_split(x, pos, kernel=laplace(tau=0.01), k=8)[0, :8])
    vs, va = torch.stack(vs), torch.stack(va)
    assert va.pow(2).mean() < 0.5 * vs.pow(2).mean()
    assert va.mean(dim=(0, 1)).abs().max() < 0.05


def test_kth_distance_and_errors():
    d = torch.tensor([[[3.0, 1.0, float("inf"), 2.0]]])
    assert kth_distance(d, 2).item() == 2.0 and kth_distance(d, 1).item() == 1.0
    with pytest.raises(ValueError, match="adaptive_split needs k >= 1 and spacing >= 0"):
        adaptive_split(_cloud(0, 4), _cloud(1, 4), kernel=laplace(tau=0.1), k=0)
