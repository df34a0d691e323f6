"""The drift step: scale features -> per temperature: field -> normalise force -> combine.

Official recipe (Deng et al. 2026, Alg. 2 and App. A; release ``drift_loss.py``):

    s      = sum_{b,n,m} w_m ||x_bn - y_bm|| / (B N M mean(w))    y = [x; neg; pos]
    c      = max(s / sqrt(D), 1e-3)                      coordinates x' = x / c, so the mean
                                                         pairwise distance becomes ~sqrt(D)
    V_tau  = field(x', pos', neg'; kernel at tau)        tau in units of the mean distance s
    goal'  = x' + sum_tau V_tau / rms(V_tau)             ``combine="normalized_sum"``
    loss_b = mean_{n,d} (x'_bn - stopgrad(goal'_bn))^2

``combine="per_temperature"`` keeps one raw term per temperature (the paper's Table 8
reading, and the official *toy* recipe with one temperature): goal'_tau = x' + V_tau and
loss = sum_tau mean (x' - goal'_tau)^2. ``scaling="none"`` leaves coordinates and
temperatures in data units. ``stats`` carries the scale, the raw RMS of every temperature's
force (which shrinks as q -> p although the normalised loss stays ~#temperatures) and the loss.
``segments=S`` normalises S equal blocks of the B groups each on its own (one s and one RMS per
block, ``zoo.scale``), so equal-shape feature sets share a call (``zoo.features``).
"""
from __future__ import annotations

import copy
import functools
from typing import Callable, Sequence

import gin
import torch

from zoo.fields import check_inputs
from zoo.fields.streaming import KEEPS_SELF, field_options, stream_field, stream_scale
from zoo.fields.streaming.tiles import SQUARED_BASE, check_block_size
from zoo.fields.streaming.whole import distances, whole_field
from zoo.kernels import Kernel
from zoo.registry import name_of
from zoo.scale import (all_targets, check_segments, feature_scale, normalise, per_group, scale_of,
                       segment_mean)

SCALINGS = ("official", "none")
COMBINES = ("normalized_sum", "per_temperature")
WHOLE_FIELDS = ("meanshift", "split", "split_self")  # fields with a whole-matrix and a
                                                    # streaming path
AUTO_STREAM = 512 * 512  # block_size="auto" streams groups with N M above this ...
AUTO_BLOCK = 512         # ... in tiles of this edge


def check_temperatures(temperatures: Sequence[float]) -> tuple[float, ...]:
    """Validated temperatures as a tuple of positive floats."""
    temps = tuple(float(t) for t in (temperatures if isinstance(temperatures, (list, tuple))
                                     else (temperatures,)))
    if not temps or any(not t > 0 for t in temps):
        raise ValueError(f"temperatures must be a non-empty list of positive numbers, got "
                         f"{temperatures}; e.g. train.temperatures = (0.02, 0.05, 0.2)")
    return temps


def kernel_at(kernel, tau: float) -> Kernel:
    """The kernel at temperature ``tau``: a class is called, an instance is copied."""
    if isinstance(kernel, Kernel):
        k = copy.copy(kernel)
        k.__init__(**{**vars(kernel), "tau": tau})
        return k
    return kernel(tau=tau)


@functools.lru_cache(maxsize=256)
def _family(field, kernel) -> tuple[str, str]:
    """(field name, kernel name) of a call, looked up once per field and kernel object."""
    return name_of(field), name_of(kernel_at(kernel, 1.0))


def names(field, kernel) -> tuple[str, str]:
    """``_family`` with its cache, or without it for objects that cannot be hashed."""
    try:
        return _family(field, kernel)
    except TypeError:
        return _family.__wrapped__(field, kernel)


def plan(field, kernel, block_size, n: int, m: int) -> tuple[str, int | None]:
    """("whole" | "stream" | "per_temperature", block) for a call with N rows and M targets.

    ``block_size="auto"``: meanshift and split with the laplace or gaussian kernel run whole
    (``zoo.fields.streaming.whole``) while N M <= AUTO_STREAM, else stream in AUTO_BLOCK tiles;
    other fields and kernels take one dense call per temperature (as ``block_size=None``).
    """
    if block_size is None:
        return "per_temperature", None
    if block_size == "auto":
        field_name, kernel_name = names(field, kernel)
        if field_name not in WHOLE_FIELDS or kernel_name not in SQUARED_BASE:
            return "per_temperature", None
        return ("stream", AUTO_BLOCK) if n * m > AUTO_STREAM else ("whole", None)
    return "stream", check_block_size(block_size)


def whole_forces(field, name: str, x, neg, coefs, targets, base, segments: int) -> torch.Tensor:
    """Every temperature's V [B,T,N,D] in data units from the distances of the scale (whole
    path) for ``field`` registered as ``name``; coefs [S,T] every segment's logit coefficients
    on that base."""
    opts = field_options(field, name)
    y, w = targets
    b, n = x.shape[:2]
    coefs = (coefs.view(-1, 1, 1) if segments == 1 else
             coefs.repeat_interleave(b // segments, 0)[..., None, None])    # [T,1,1] | [B,T,1,1]
    n_neg = n + (0 if neg is None else neg.shape[1])
    self_negatives = opts.get("self_negatives", True)
    if not self_negatives:
        base, y, w, n_neg = base[..., n:], y[:, n:], None if w is None else w[:, n:], n_neg - n
    keep_self = self_negatives and name in KEEPS_SELF
    if keep_self:                                        # split_self: x_i's own pair kept,
        base[..., :n].diagonal(0, -2, -1).fill_(0.0)     # at distance exactly 0, not masked
    return whole_field(KEEPS_SELF.get(name, name), x, y, w, base, coefs, n_neg=n_neg,
                       n_self=n if self_negatives and not keep_self else 0, **opts)


def whole_drift(x, pos, neg, weights, *, field, kernel, temps, scaling, combine, segments):
    """goal [B,N,D] (or [T,B,N,D]), c [S], stats of the whole-matrix path: one distance matrix
    for the scale and every temperature; logit coefficient -1/(tau s) (laplace) or
    -1/(2 (tau s)^2) (gaussian) on the data-unit distances, s clamped at 1e-3."""
    targets = all_targets(x, pos, neg, *weights)
    base = distances(x, targets[0])
    taus = torch.tensor(temps, device=x.device)[None, :]                       # [1,T]
    if scaling == "official":
        s = scale_of(base, targets[1], segments)                                # [S]
        c = (s / x.shape[-1] ** 0.5).clamp(min=1e-3)
        taus = taus * s.clamp(min=1e-3)[:, None]                                # data units
    else:
        s = c = x.new_ones(segments)
    field_name, kernel_name = names(field, kernel)
    squared = SQUARED_BASE[kernel_name]
    coefs = (taus.square().reciprocal_().mul_(-0.5) if squared
             else taus.reciprocal().neg_())                                     # [S,T]
    v = whole_forces(field, field_name, x, neg, coefs.expand(segments, -1), targets,
                     base.square_() if squared else base, segments)
    stats = {"scale": s}
    return normalise(x, v, torch.reciprocal(c), temps, combine, stats), c, stats


def by_segment(x, pos, neg, x_w, pos_w, neg_w, segments: int, **kw):
    """``drift`` on every segment of B/S groups on its own, concatenated (the paths that do not
    batch segments): goal [B,N,D] (or [T,B,N,D]), c [S], stats of [S]."""
    cut = lambda t: [None] * segments if t is None else t.chunk(segments)  # noqa: E731
    parts = [drift(*p[:3], x_w=p[3], pos_w=p[4], neg_w=p[5], **kw)
             for p in zip(*map(cut, (x, pos, neg, x_w, pos_w, neg_w)))]
    goal = torch.cat([p[0] for p in parts], -3)
    stats = {k: torch.stack([p[2][k] for p in parts]) for k in parts[0][2]}
    return goal, torch.stack([p[1] for p in parts]), stats


@gin.configurable("drift", denylist=["x", "pos", "neg", "x_w", "pos_w", "neg_w", "segments"])
def drift(x, pos, neg=None, *, field: Callable, kernel, temperatures=(0.02, 0.05, 0.2),
          scaling: str = "official", combine: str = "normalized_sum",
          x_w=None, pos_w=None, neg_w=None, block_size: int | str | None = "auto",
          segments: int = 1):
    """goal' in scaled coordinates and the coordinate divisor c.

    ``block_size`` "auto" (default): ``plan`` picks the whole-matrix path (one distance matrix,
    shared with the scale, for every temperature), streaming tiles or per-temperature calls by
    field, kernel and size. None: the dense fields, one call per temperature (the reference).
    An int: the scale and every temperature's field from [block_size x block_size] tiles
    (``zoo.fields.streaming``; meanshift and split with the laplace or gaussian kernel).
    All paths are equal to float32 rounding.
    ``segments`` S: the B groups are S equal blocks of consecutive groups (e.g. the feature
    sets of one shape stacked, ``zoo.features``), each with its own scale s and force RMS, as
    if each block were its own call (to float32 rounding); the whole path does them in one.
    Returns (goal [B,N,D] or [T,B,N,D] for per_temperature, c, stats dict): with S = 1 c and
    every stat are scalar tensors, with S > 1 c is [B,1,1] (each group's segment's divisor)
    and the stats scale, drift_rms/<tau>, drift_rms are [S].

    Under torchrun (``zoo.dist``) the call's two global reductions, the scale s and every
    temperature's force RMS, are averaged over ranks, so each rank's share of the groups drifts
    exactly as in the one-process call on all groups (to float32 rounding).
    """
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}, got '{scaling}'")
    if combine not in COMBINES:
        raise ValueError(f"combine must be one of {COMBINES}, got '{combine}'")
    temps = check_temperatures(temperatures)
    check_inputs(x, pos, neg)
    segments = check_segments(segments, x.shape[0])
    m = x.shape[1] + pos.shape[1] + (0 if neg is None else neg.shape[1])
    path, block = plan(field, kernel, block_size, x.shape[1], m)
    kw = dict(field=field, kernel=kernel, temperatures=temps, scaling=scaling, combine=combine,
              block_size=block_size)
    if segments > 1 and path != "whole":
        goal, c, stats = by_segment(x, pos, neg, x_w, pos_w, neg_w, segments, **kw)
        return goal, per_group(c, x.shape[0]), stats
    x = x.detach().float()
    with torch.no_grad():
        if path == "whole":
            goal, c, stats = whole_drift(x, pos, neg, (x_w, pos_w, neg_w), field=field,
                                         kernel=kernel, temps=temps, scaling=scaling,
                                         combine=combine, segments=segments)
        else:
            goal, c, stats = scaled_drift(x, pos, neg, (x_w, pos_w, neg_w), path, block, **kw)
    if segments == 1:
        return goal, c[0], {k: v[0] for k, v in stats.items()}
    return goal, per_group(c, x.shape[0]), stats


def scaled_drift(x, pos, neg, weights, path: str, block, *, field, kernel, temperatures,
                 scaling, combine, block_size):
    """goal, c [1], stats of one dense call per temperature or of the streaming tiles: the
    field runs in scaled coordinates x / c at temperatures tau s / c."""
    x_w, pos_w, neg_w = weights
    if scaling == "official":
        s = (feature_scale(x, pos, neg, x_w, pos_w, neg_w) if path == "per_temperature" else
             stream_scale(x, pos, neg, x_w, pos_w, neg_w, block_size=block))
        c = (s / x.shape[-1] ** 0.5).clamp(min=1e-3)
        unit = s.clamp(min=1e-3) / c                      # tau is in units of s
    else:
        s = c = unit = x.new_tensor(1.0)
    kernels = [kernel_at(kernel, float(tau * unit)) for tau in temperatures]
    xk = x / c
    ps, ns = pos.float() / c, None if neg is None else neg.float() / c
    kw = dict(x_w=x_w, pos_w=pos_w, neg_w=neg_w)
    vs = (stream_field(field, xk, ps, ns, kernels=kernels, block_size=block, **kw)
          if path == "stream" else [field(xk, ps, ns, kernel=kk, **kw) for kk in kernels])
    stats = {"scale": s.view(1)}
    goal = normalise(xk, torch.stack(vs, 1), x.new_ones(1), temperatures, combine, stats)
    return goal, c.view(1), stats


def scaled_loss(x, goal, c):
    """Per-group loss [B] = mean_{n,d} (x/c - goal)^2, summed over per-temperature terms.

    x [B,N,D] (gradients flow into it), goal [B,N,D] or [T,B,N,D] and c from ``drift``.
    """
    loss = ((x.float() / c - goal) ** 2).mean(dim=(-1, -2))
    return loss.sum(0) if goal.dim() == 4 else loss


def drift_target(x, pos, neg=None, **kw):
    """target = x + V in the caller's coordinates (the goal mapped back), plus stats.

    x [B,N,D], pos [B,P,D], neg [B,Q,D] or None -> target [B,N,D] ([T,B,N,D] per temperature).
    Keyword arguments as ``drift``; stats["loss"] is the release's loss value (per segment).
    """
    goal, c, stats = drift(x, pos, neg, **kw)
    stats["loss"] = segment_mean(scaled_loss(x.detach(), goal, c), kw.get("segments", 1))
    return goal * c, stats


def drift_loss(x, pos, neg=None, **kw):
    """Per-group loss [B] = mean_{n,d} ||x/c - stopgrad(goal')||^2 (summed over terms), stats
    (stats["loss"] the mean, [S] per segment with ``segments``).

    Gradients flow into ``x`` only; everything on the target side is detached.
    """
    goal, c, stats = drift(x, pos, neg, **kw)
    loss = scaled_loss(x, goal, c)
    stats["loss"] = segment_mean(loss.detach(), kw.get("segments", 1))
    return loss, stats
