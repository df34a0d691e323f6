"""The streaming (blocked) fields of zoo/fields/streaming/__init__.py against the dense fields and drift().

Tolerance: the dense path rounds every logit l = -d/tau (or -d^2/2tau^2) to float32, an
absolute error ~|l| 2^-24 and so a relative error of that size in every kernel value; the
tiles compute the same quantities in another order (Gram products of tile size, logsumexp
merged across tiles), so the two agree to rtol 1e-4 with atol 1e-5 max|V| for logits up to a
few hundred, which the temperatures below reach (measured worst case ~1e-5 relative).
"""
import functools

import gin
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import zoo
from zoo.drift import drift
from zoo.fields.streaming import STREAMERS, STREAMING_FIELDS
from tests.test_drift import _inputs as drift_inputs

TAUS = {"laplace": (0.05, 0.2, 1.0), "gaussian": (0.3, 0.6, 2.0)}
OPTIONS = {"meanshift": [{}, {"affinity_floor": 0.0}, {"self_negatives": False}],
           "split": [{}, {"self_negatives": False}], "split_self": [{}, {"self_negatives": False}]}
CASES = [(f, o) for f in STREAMING_FIELDS for o in OPTIONS[f]]


def _inputs(b=2, n=37, p=45, q=11, d=5, weighted=True, seed=0):
    """x [b,n,d], pos, neg and weights, as tests/test_drift.py draws them."""
    return drift_inputs(b, n, p, q, d, weighted, seed)


def _close(v, ref):
    torch.testing.assert_close(v, ref, rtol=1e-4, atol=1e-5 * ref.abs().max().item())


def _check(name, kname, x, pos, neg, w, block, **opts):
    kernels = [zoo.build("kernel", kname, tau=t) for t in TAUS[kname]]
    vs = STREAMERS[name](x, pos, neg, kernels=kernels, block_size=block, **w, **opts)
    assert len(vs) == len(kernels)
    for v, k in zip(vs, kernels):  # every temperature equals its own dense call
        assert v.shape == x.shape and v.dtype == torch.float32
        _close(v, zoo.registry.lookup("field", name)(x, pos, neg, kernel=k, **w, **opts))


@pytest.mark.parametrize("name,opts", CASES, ids=[f"{f}-{o}" for f, o in CASES])
@pytest.mark.parametrize("kname", ["laplace", "gaussian"])
@pytest.mark.parametrize("block", [5, 16, 64])  # 5 and 16 do not divide N = 37 or M; 64 >= all
@pytest.mark.parametrize("extra", ["neg+weights", "no neg"])
def test_matches_dense(name, opts, kname, block, extra):
    x, pos, neg, w = _inputs(q=11 if extra == "neg+weights" else 0, weighted=extra != "no neg")
    _check(name, kname, x, pos, neg, w, block, **opts)


@pytest.mark.parametrize("name", STREAMING_FIELDS)
def test_edge_cases(name):
    """One-row tiles, a single generated sample (a fully masked self column), one group."""
    x, pos, neg, w = _inputs(b=1, n=9, p=6, q=3)
    _check(name, "laplace", x, pos, neg, w, 1)
    x, pos, _, _ = _inputs(b=1, n=1, p=5, q=0, weighted=False)
    _check(name, "laplace", x, pos, None, {}, 3)


@pytest.mark.parametrize("name", STREAMING_FIELDS)
def test_far_outlier_takes_the_exact_column_path(name):
    """A positive far from every row: its column sum underflows in the row-shifted frame, so
    the tile must fall back to the column-shifted exp (tile_lse) and still match."""
    x, pos, neg, w = _inputs(b=1, n=20, p=12, q=0, weighted=False)
    pos[0, 3] += 40.0
    _check(name, "laplace", x, pos, None, {}, 8)


def _drift_pair(block, **kw):
    x, pos, neg, w = _inputs(n=30, p=40, q=7, d=4)
    dense = drift(x, pos, neg, **w, **kw)
    return dense, drift(x, pos, neg, **w, block_size=block, **kw)


@pytest.mark.parametrize("kw", [
    dict(field=zoo.fields.meanshift, kernel=zoo.kernels.laplace),
    dict(field=zoo.fields.split, kernel=zoo.kernels.gaussian, scaling="none",
         temperatures=(0.5, 1.0, 2.0), combine="per_temperature"),
    dict(field=functools.partial(zoo.fields.meanshift, affinity_floor=0.0),
         kernel=zoo.kernels.laplace(tau=3.0)),
], ids=["meanshift-official", "split-per_temperature", "partial-floor0"])
def test_drift_with_block_size_equals_dense(kw):
    (g_dense, c_dense, s_dense), (g_blk, c_blk, s_blk) = _drift_pair(7, **kw)
    _close(g_blk, g_dense)
    torch.testing.assert_close(c_blk, c_dense, rtol=1e-5, atol=0)
    assert s_blk.keys() == s_dense.keys()
    for key in s_dense:
        torch.testing.assert_close(s_blk[key], s_dense[key], rtol=1e-4, atol=1e-7)


def test_gin_bound_field_knobs_are_honoured():
    kw = dict(field=zoo.fields.meanshift, kernel=zoo.kernels.laplace)
    try:
        gin.parse_config("meanshift.affinity_floor = 0.0\nmeanshift.self_negatives = False")
        (g_dense, _, _), (g_blk, _, _) = _drift_pair(9, **kw)
    finally:
        gin.clear_config()
    _close(g_blk, g_dense)
    (g_default, _, _), _ = _drift_pair(9, **kw)
    assert not torch.allclose(g_default, g_dense)  # the bindings did change the field


class LargestTensor(TorchDispatchMode):
    """Records the largest numel of any tensor an aten op returns while active."""

    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        sizes = [t.numel() for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        self.numel = max([self.numel] + sizes)
        return out


def test_memory_is_bounded_by_the_block():
    """No op output exceeds a few tiles / the inputs; the dense field makes an N x M matrix."""
    n, p, d, block = 200, 300, 3, 16
    x, pos, _, _ = _inputs(b=1, n=n, p=p, q=0, d=d, weighted=False)
    kernels = [zoo.kernels.laplace(tau=t) for t in (0.1, 0.3, 1.0)]
    bound = max(len(kernels) * block * block, len(kernels) * n * d, (n + p) * (d + 1))
    for name, fn in STREAMERS.items():
        with LargestTensor() as seen:
            fn(x, pos, kernels=kernels, block_size=block)
        assert seen.numel <= bound, (name, seen.numel, bound)
    with LargestTensor() as seen:
        drift(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace, block_size=block)
    assert seen.numel <= bound
    with LargestTensor() as dense:
        zoo.fields.meanshift(x, pos, kernel=kernels[0])
    assert dense.numel >= n * (n + p) > 20 * bound  # the check cannot pass for a dense path


@pytest.mark.parametrize("bad", [0, -4, 2.5, True, "512"])
def test_bad_block_size_is_refused(bad):
    x, pos, _, _ = _inputs(n=6, p=6, q=0, weighted=False)
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        drift(x, pos, field=zoo.fields.meanshift, kernel=zoo.kernels.laplace, block_size=bad)


def test_fields_and_kernels_without_a_streaming_path_are_refused():
    x, pos, _, _ = _inputs(n=6, p=6, q=0, weighted=False)
    with pytest.raises(ValueError, match="fields that stream are \\['meanshift', 'split', 'split_self'\\]"):
        drift(x, pos, field=zoo.fields.mmd, kernel=zoo.kernels.laplace, block_size=4)
    with pytest.raises(ValueError, match="block_size = None"):
        drift(x, pos, field=zoo.fields.split, kernel=zoo.kernels.imq, block_size=4)


# -- the whole-matrix path (zoo/fields/streaming/whole.py, drift(block_size="auto")) ----------

def _per_temperature(block, field, kname, x, pos, neg, w, taus):
    """V per temperature from drift in data units (scaling none), [T, B, N, D]."""
    goal, _, _ = drift(x, pos, neg, **w, field=field, kernel=zoo.registry.lookup("kernel", kname),
                       temperatures=taus, scaling="none", combine="per_temperature",
                       block_size=block)
    return goal - x


@pytest.mark.parametrize("name,opts", CASES, ids=[f"{f}-{o}" for f, o in CASES])
@pytest.mark.parametrize("kname", ["laplace", "gaussian"])
@pytest.mark.parametrize("extra", ["neg+weights", "no neg"])
def test_whole_matches_dense(name, opts, kname, extra):
    """Every temperature of the whole-matrix path equals its own dense field call."""
    x, pos, neg, w = _inputs(q=11 if extra == "neg+weights" else 0, weighted=extra != "no neg")
    field = functools.partial(zoo.registry.lookup("field", name), **opts)
    assert zoo.drift.plan(field, zoo.kernels.laplace(), "auto", 37, 93) == ("whole", None)
    v = _per_temperature("auto", field, kname, x, pos, neg, w, TAUS[kname])
    _close(v, _per_temperature(None, field, kname, x, pos, neg, w, TAUS[kname]))


@pytest.mark.parametrize("name", STREAMING_FIELDS)
def test_whole_in_chunks_of_groups_matches_dense(name, monkeypatch):
    """Groups split over several chunks (CHUNK below one group's logits), one row, one sample."""
    monkeypatch.setattr(zoo.fields.streaming.whole, "CHUNK", 1)
    field = zoo.registry.lookup("field", name)
    for n in (9, 1):
        x, pos, neg, w = _inputs(b=5, n=n, p=6, q=3)
        v = _per_temperature("auto", field, "laplace", x, pos, neg, w, TAUS["laplace"])
        _close(v, _per_temperature(None, field, "laplace", x, pos, neg, w, TAUS["laplace"]))


def test_auto_plans_whole_stream_or_per_temperature(monkeypatch):
    """auto: whole while N M <= AUTO_STREAM, tiles above it (memory bounded), other fields and
    kernels one dense call per temperature; the result is the dense one in every case."""
    plan, ms, lap = zoo.drift.plan, zoo.fields.meanshift, zoo.kernels.laplace()
    assert plan(ms, lap, "auto", 512, 512) == ("whole", None)
    assert plan(ms, lap, "auto", 512, 513) == ("stream", 512)
    assert plan(zoo.fields.mmd, lap, "auto", 8, 8) == ("per_temperature", None)
    assert plan(ms, zoo.kernels.imq(), "auto", 8, 8) == ("per_temperature", None)
    assert plan(ms, lap, None, 8, 8) == ("per_temperature", None)
    assert plan(ms, lap, 64, 8, 8) == ("stream", 64)
    monkeypatch.setattr(zoo.drift, "AUTO_STREAM", 16 * 16)
    monkeypatch.setattr(zoo.drift, "AUTO_BLOCK", 16)
    n, p, d = 200, 300, 3
    x, pos, _, _ = _inputs(b=1, n=n, p=p, q=0, d=d, weighted=False)
    with LargestTensor() as seen:
        auto, _, _ = drift(x, pos, field=ms, kernel=zoo.kernels.laplace)
    assert seen.numel <= max(3 * 16 * 16, 3 * n * d, (n + p) * (d + 1))
    _close(auto, drift(x, pos, field=ms, kernel=zoo.kernels.laplace, block_size=None)[0])


@pytest.mark.parametrize("name", STREAMING_FIELDS)
def test_whole_far_outlier_takes_the_two_lse_path(name, monkeypatch):
    """A positive far from every row underflows the one-exp column sums: meanshift falls back
    to the exact two-lse path (counted here) and still matches the dense field."""
    calls = []
    whole = zoo.fields.streaming.whole
    monkeypatch.setattr(whole, "meanshift_coefs", lambda *a: calls.append(1) or _MS_COEFS(*a))
    x, pos, _, _ = _inputs(b=1, n=20, p=12, q=0, weighted=False)
    field = zoo.registry.lookup("field", name)
    _per_temperature("auto", field, "laplace", x, pos, None, {}, TAUS["laplace"])
    assert not calls  # the one-exp path serves ordinary inputs
    pos[0, 3] += 40.0
    v = _per_temperature("auto", field, "laplace", x, pos, None, {}, TAUS["laplace"])
    _close(v, _per_temperature(None, field, "laplace", x, pos, None, {}, TAUS["laplace"]))
    assert bool(calls) == (name == "meanshift")


_MS_COEFS = zoo.fields.streaming.whole.meanshift_coefs
