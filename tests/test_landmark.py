"""The landmark (Nystrom) field: exact at m >= P, converging in m, deterministic, guarded."""
import importlib

import pytest
import torch

import zoo
from zoo import fields, kernels

# the module itself: the attribute zoo.fields.landmark is the re-exported function
lmod = importlib.import_module("zoo.fields.landmark")
landmark = zoo.registry.lookup("field", "landmark")


def _mixture(n, g, shift=0.0):
    """[1, n, 2] samples of a 4-mode 2-D Gaussian mixture (std 0.3)."""
    means = torch.tensor([[-1.0, 0.0], [1.0, 0.5], [0.0, -1.0], [0.5, 1.2]])
    return (means[torch.randint(4, (n,), generator=g)] + 0.3 * torch.randn(n, 2, generator=g) + shift)[None]


def _rel(v, ref):
    return ((v - ref).norm() / ref.norm()).item()


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    return _mixture(256, g), _mixture(1024, g), _mixture(512, g, shift=0.2)


@pytest.mark.parametrize("kname", ["laplace", "gaussian"])
@pytest.mark.parametrize("extra", [0, 5])
def test_equals_split_when_every_positive_is_a_landmark(kname, extra):
    g = torch.Generator().manual_seed(1)
    x, pos, neg = (torch.randn(2, n, 3, generator=g) for n in (12, 40, 9))
    w = {"x_w": torch.rand(2, 12, generator=g), "pos_w": torch.rand(2, 40, generator=g),
         "neg_w": torch.rand(2, 9, generator=g)}
    k = zoo.build("kernel", kname, tau=0.6)
    v = landmark(x, pos, neg, kernel=k, landmarks=40 + extra, **w)
    torch.testing.assert_close(v, fields.split(x, pos, neg, kernel=k, **w), rtol=1e-5, atol=1e-6)


def test_nystrom_projection_is_exact_with_all_positives_as_landmarks():
    """The Nystrom path itself (not the m >= P shortcut) reproduces split's attraction."""
    g = torch.Generator().manual_seed(2)
    x, pos = torch.randn(1, 30, 2, generator=g), torch.randn(1, 50, 2, generator=g)
    w = torch.rand(1, 50, generator=g) + 0.5
    k = kernels.laplace(tau=0.3)
    idx = torch.randperm(50, generator=g)[None]
    v = lmod.nystrom_attraction(x, pos, w, idx, k)
    exact = fields.split(x, pos, kernel=k, pos_w=w, self_negatives=False)
    assert _rel(v, exact) < 1e-4


@pytest.mark.parametrize("kname,tau", [("laplace", 0.5), ("gaussian", 0.3)])
def test_error_decreases_with_landmarks(data, kname, tau):
    x, pos, neg = data
    k = zoo.build("kernel", kname, tau=tau)
    exact = fields.split(x, pos, neg, kernel=k, self_negatives=False)
    errors = [_rel(landmark(x, pos, neg, kernel=k, self_negatives=False, landmarks=m), exact)
              for m in (16, 64, 256)]
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 0.02, errors
    # the projection matters: at m = 64 it beats split on the landmarks alone by a wide margin
    idx = lmod.select_landmarks(pos, torch.ones(1, 1024), 64)
    subsample = fields.split(x, pos[:, idx[0]], neg, kernel=k, self_negatives=False)
    assert errors[1] < 0.5 * _rel(subsample, exact), (errors[1], _rel(subsample, exact))


def test_kmeanspp_landmarks_are_distinct_and_beat_uniform(data):
    x, pos, neg = data
    idx = lmod.select_landmarks(pos, torch.ones(1, 1024), 256)
    assert idx.shape == (1, 256) and idx.unique().numel() == 256
    k = kernels.laplace(tau=0.3)
    exact = fields.split(x, pos, neg, kernel=k, self_negatives=False)
    err = {s: _rel(landmark(x, pos, neg, kernel=k, self_negatives=False, landmarks=64, selection=s), exact)
           for s in lmod.SELECTIONS}
    assert err["kmeanspp"] < err["uniform"], err


@pytest.mark.parametrize("selection", lmod.SELECTIONS)
def test_batched_weighted_nystrom_path(selection):
    """B = 2, self-negatives, pos weights with zeros, m < P: finite, no zero-weight landmark, and
    exact once the landmarks cover every positive of nonzero weight (26 of the 40)."""
    g = torch.Generator().manual_seed(6)
    x, pos, neg = (torch.randn(2, n, 3, generator=g) for n in (12, 40, 9))
    pos_w = torch.rand(2, 40, generator=g) * (torch.arange(40) % 3 != 0)
    k = kernels.gaussian(tau=0.8)
    v = landmark(x, pos, neg, kernel=k, landmarks=8, pos_w=pos_w, selection=selection)
    assert v.shape == x.shape and v.dtype == torch.float32 and torch.isfinite(v).all()
    idx = lmod.select_landmarks(pos, pos_w, 26, selection=selection)
    assert (pos_w.gather(1, idx) > 0).all()
    v = landmark(x, pos, neg, kernel=k, landmarks=26, pos_w=pos_w, selection=selection)
    assert _rel(v, fields.split(x, pos, neg, kernel=k, pos_w=pos_w)) < 1e-4


def test_deterministic_and_seeded(data):
    x, pos, neg = data
    k = kernels.laplace(tau=0.3)
    v1, v2 = (landmark(x, pos, neg, kernel=k, landmarks=32, seed=3) for _ in range(2))
    assert torch.equal(v1, v2)
    assert not torch.equal(v1, landmark(x, pos, neg, kernel=k, landmarks=32, seed=4))
    w = torch.rand(1, 1024, generator=torch.Generator().manual_seed(5))
    i1, i2 = (lmod.select_landmarks(pos, w, 32, seed=3, selection="uniform") for _ in range(2))
    assert torch.equal(i1, i2)


def test_anti_symmetric_up_to_the_nystrom_error(data):
    _, p, q = data
    x = p[:, :200] + 0.05
    k = kernels.gaussian(tau=0.5)
    v_pq = landmark(x, p, q, kernel=k, self_negatives=False, landmarks=128)
    v_qp = landmark(x, q, p, kernel=k, self_negatives=False, landmarks=128)
    assert _rel(v_pq, -v_qp) < 0.01


def test_guard_keeps_rows_far_from_the_landmarks_finite(monkeypatch):
    """Far from the data the Nystrom sums cancel (den ~ 0 or < 0); the guard falls back."""
    g = torch.Generator().manual_seed(0)
    pos = torch.randn(1, 1024, 2, generator=g)
    x = torch.randn(1, 500, 2, generator=g) * 30
    k, w, idx = kernels.gaussian(tau=2.0), torch.ones(1, 1024), torch.arange(64)[None]
    exact = fields.split(x, pos, kernel=k, self_negatives=False)
    v = lmod.nystrom_attraction(x, pos, w, idx, k)
    assert torch.isfinite(v).all() and _rel(v, exact) < 0.1
    monkeypatch.setattr(lmod, "RELIABLE", -float("inf"))  # no guard: this scenario needs it
    monkeypatch.setattr(lmod, "BOX_SLACK", float("inf"))
    raw = lmod.nystrom_attraction(x, pos, w, idx, k)
    assert not (torch.isfinite(raw).all() and _rel(raw, exact) < 0.1)


class _NotPositive(kernels.laplace):
    positive = False


def test_errors_are_clear():
    x = torch.zeros(1, 4, 2)
    k = kernels.laplace(tau=0.5)
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="landmarks must be an integer >= 1"):
            landmark(x, x, kernel=k, landmarks=bad)
    with pytest.raises(ValueError, match="selection must be one of"):
        landmark(x, x, kernel=k, landmarks=2, selection="random")
    with pytest.raises(ValueError, match="rcond"):
        landmark(x, x, kernel=k, landmarks=2, rcond=-1.0)
    with pytest.raises(ValueError, match="not positive"):
        landmark(x, x, kernel=_NotPositive(tau=0.5), landmarks=2)
