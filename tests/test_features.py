"""zoo.features: the feature sets of one shape go to the drift in one call (``segments``) and
give exactly what one call per set gives (the release's per-set normalisation), to float32
rounding: loss, per-set stats and gradients, for meanshift and split, with and without
negatives and weights."""
import pytest
import torch

import zoo
import zoo.features
from zoo.drift import drift_loss
from zoo.features import feature_drift_loss

# name: (L, C); a, c, d share a shape (one call), b has its own; the scales differ per set
SETS = {"a": (4, 3), "b": (1, 5), "c": (4, 3), "d": (4, 3)}
SIZE = {"a": 1.0, "b": 2.0, "c": 10.0, "d": 0.1}


def _feats(b=2, n=6, p=8, q=3, seed=0):
    g = torch.Generator().manual_seed(seed)

    def make(m, k, shift=0.0):
        return (torch.randn(b, m, *SETS[k], generator=g) + shift) * SIZE[k]

    gen = {k: make(n, k).requires_grad_(True) for k in SETS}
    pos = {k: make(p, k, 0.4) for k in SETS}
    neg = {k: make(q, k) for k in SETS} if q else None
    w = dict(x_w=torch.rand(b, n, generator=g) + 0.5, pos_w=torch.rand(b, p, generator=g) + 0.5)
    if q:
        w["neg_w"] = torch.rand(b, q, generator=g) * 2
    return gen, pos, neg, w


def _per_set(gen, pos, neg, weights, sample_w, **kw):
    """The per-set path (the release's loop): one drift_loss per set on [B*L, N, C]."""
    fold = lambda t: t.permute(0, 2, 1, 3).reshape(-1, t.shape[1], t.shape[3])  # noqa: E731
    total, stats = 0, {}
    for k, x in gen.items():
        b, _, l, _ = x.shape
        rep = {key: v.repeat_interleave(l, 0) for key, v in sample_w.items()}
        loss, st = drift_loss(fold(x), fold(pos[k]), None if neg is None else fold(neg[k]),
                              **rep, **kw)
        total = total + loss.view(b, l).mean(1) * weights.get(k, 1.0)
        stats.update({f"{k}/{s}": v for s, v in st.items()})
    return total, stats


@pytest.mark.parametrize("field", ["meanshift", "split"])
@pytest.mark.parametrize("q", [3, 0], ids=["negatives", "no-negatives"])
@pytest.mark.parametrize("weighted", [True, False], ids=["weights", "no-weights"])
def test_batched_sets_equal_one_call_per_set(field, q, weighted, monkeypatch):
    gen, pos, neg, w = _feats(q=q)
    sample_w = w if weighted else {}
    weights = {"a": 2.0, "d": 0.5} if weighted else {}
    kw = dict(field=zoo.registry.lookup("field", field), kernel=zoo.kernels.laplace)
    calls = []
    monkeypatch.setattr(zoo.features, "drift_loss",
                        lambda *a, **k: calls.append(k["segments"]) or drift_loss(*a, **k))
    total, stats = feature_drift_loss(gen, pos, neg, weights=weights, **sample_w, **kw)
    assert sorted(calls) == [1, 3]  # a, c, d in one call; b alone
    grads = torch.autograd.grad(total.sum(), list(gen.values()))
    ref, ref_stats = _per_set(gen, pos, neg, weights, sample_w, **kw)
    ref_grads = torch.autograd.grad(ref.sum(), list(gen.values()))
    torch.testing.assert_close(total, ref, rtol=1e-5, atol=1e-6)
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)
    assert list(stats)[:-1] == list(ref_stats) and stats["loss"] == total.detach().mean()
    for k, v in ref_stats.items():
        assert stats[k].shape == ()
        torch.testing.assert_close(stats[k], v, rtol=1e-5, atol=1e-7)


def test_a_set_with_weight_zero_leaves_its_shape_group():
    gen, pos, neg, _ = _feats()
    kw = dict(field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)
    total, stats = feature_drift_loss(gen, pos, neg, weights={"c": 0.0}, **kw)
    ref, _ = _per_set({k: v for k, v in gen.items() if k != "c"}, pos, neg, {}, {}, **kw)
    torch.testing.assert_close(total, ref, rtol=1e-5, atol=1e-6)
    assert not any(k.startswith("c/") for k in stats)


def test_the_batched_path_streams_and_runs_per_temperature_alike():
    """block_size None (per temperature) and an int (tiles) go set by set inside one call."""
    gen, pos, neg, w = _feats()
    for block_size in (None, 4):
        kw = dict(field=zoo.fields.split, kernel=zoo.kernels.gaussian, block_size=block_size)
        total, stats = feature_drift_loss(gen, pos, neg, **w, **kw)
        ref, ref_stats = _per_set(gen, pos, neg, {}, w, **kw)
        torch.testing.assert_close(total, ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(stats["c/scale"], ref_stats["c/scale"])
