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
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import gin
import torch

from zoo import dist
from zoo.fields import _weights, check_inputs
from zoo.fields.streaming import field_options, stream_field, stream_scale
from zoo.fields.streaming.tiles import SQUARED_BASE, check_block_size, logit_coefs
from zoo.fields.streaming.whole import distances, whole_field
from zoo.kernels import Kernel, cdist
from zoo.registry import name_of

SCALINGS = ("official", "none")
COMBINES = ("normalized_sum", "per_temperature")
WHOLE_FIELDS = ("meanshift", "split")  # fields with a whole-matrix and a streaming path
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


def all_targets(x, pos, neg=None, x_w=None, pos_w=None, neg_w=None):
    """y = [x; neg; pos] [B,M,D] and its weights w [B,M], or None when no weights are given."""
    ys, ws = [x, pos] if neg is None else [x, neg, pos], [x_w, pos_w] if neg is None else [x_w, neg_w, pos_w]
    y = torch.cat([t.float() for t in ys], 1)
    if all(w is None for w in ws):
        return y, None
    return y, torch.cat([_weights(w, t, name) for w, t, name in
                         zip(ws, ys, ("x", "pos") if neg is None else ("x", "neg", "pos"))], 1)


def scale_of(dists: torch.Tensor, w) -> torch.Tensor:
    """The weighted mean distance sum w_m d_nm / (B N M mean(w)), averaged over ranks first."""
    if w is None:
        return dist.mean(dists.mean())
    return dist.mean((dists * w[:, None, :]).mean()) / dist.mean(w.mean())


def feature_scale(x, pos, neg=None, x_w=None, pos_w=None, neg_w=None):
    """The release's scale s (weighted mean distance from x to [x; neg; pos]) -> scalar.

    Under torchrun the weighted sum and the weight mean are averaged over ranks first
    (``zoo.dist.mean``; ranks hold equal numbers of groups), so s is the scale of the global
    batch whatever the world size; a single process computes exactly the local expression.
    """
    y, w = all_targets(x, pos, neg, x_w, pos_w, neg_w)
    return scale_of(cdist(x.float(), y), w)


def plan(field, kernel, block_size, n: int, m: int) -> tuple[str, int | None]:
    """("whole" | "stream" | "per_temperature", block) for a call with N rows and M targets.

    ``block_size="auto"``: meanshift and split with the laplace or gaussian kernel run whole
    (``zoo.fields.streaming.whole``) while N M <= AUTO_STREAM, else stream in AUTO_BLOCK tiles;
    other fields and kernels take one dense call per temperature (as ``block_size=None``).
    """
    if block_size is None:
        return "per_temperature", None
    if block_size == "auto":
        if name_of(field) not in WHOLE_FIELDS or name_of(kernel) not in SQUARED_BASE:
            return "per_temperature", None
        return ("stream", AUTO_BLOCK) if n * m > AUTO_STREAM else ("whole", None)
    return "stream", check_block_size(block_size)


def normalise(x, vs, k, temps, combine: str, stats: dict) -> torch.Tensor:
    """goal' = x k + sum_tau V_tau k / rms(V_tau k) (or x k + V_tau k per temperature).

    vs: V_tau [B,N,D] in the coordinates of x; k maps them to scaled ones (1, or 1/c when the
    field ran in data units). Writes stats drift_rms/<tau> (scaled units, global over ranks).
    """
    xs = x * k
    goal = xs.clone() if combine == "normalized_sum" else []
    for tau, v in zip(temps, vs):
        # per-group norms, then their sum: one flat float32 vector_norm loses ~1e-3 on 4M entries
        ms = torch.linalg.vector_norm(v, dim=(-2, -1)).square().sum() / v.numel()
        rms = dist.mean(ms).sqrt() * k
        stats[f"drift_rms/{tau:g}"] = rms
        if combine == "normalized_sum":
            goal.addcmul_(v, k / rms.clamp(min=1e-4))
        else:
            goal.append(torch.addcmul(xs, v, k))
    return goal if combine == "normalized_sum" else torch.stack(goal)


def whole_forces(field, x, pos, neg, kernels, c, targets, base) -> list[torch.Tensor]:
    """Every temperature's V [B,N,D] in data units from the distances of the scale (whole path)."""
    name = name_of(field)
    opts = field_options(field, name)
    squared, coefs = logit_coefs(kernels, x.device)
    y, w = targets
    n = x.shape[1]
    if squared:
        base, coefs = base * base, coefs / (c * c)
    else:
        coefs = coefs / c
    n_neg = n + (0 if neg is None else neg.shape[1])
    if not opts.get("self_negatives", True):
        base, y, w, n_neg = base[..., n:], y[:, n:], None if w is None else w[:, n:], n_neg - n
    v = whole_field(name, x, y, w, base, coefs, n_neg=n_neg,
                    n_self=n if opts.get("self_negatives", True) else 0, **opts)
    return list(v.unbind(1))


@gin.configurable("drift", denylist=["x", "pos", "neg", "x_w", "pos_w", "neg_w"])
def drift(x, pos, neg=None, *, field: Callable, kernel, temperatures=(0.02, 0.05, 0.2),
                scaling: str = "official", combine: str = "normalized_sum",
                x_w=None, pos_w=None, neg_w=None, block_size: int | str | None = "auto"):
    """goal' in scaled coordinates and the coordinate divisor c.

    ``block_size`` "auto" (default): ``plan`` picks the whole-matrix path (one distance matrix,
    shared with the scale, for every temperature), streaming tiles or per-temperature calls by
    field, kernel and size. None: the dense fields, one call per temperature (the reference).
    An int: the scale and every temperature's field from [block_size x block_size] tiles
    (``zoo.fields.streaming``; meanshift and split with the laplace or gaussian kernel).
    All paths are equal to float32 rounding.
    Returns (goal [B,N,D] or [T,B,N,D] for per_temperature, c scalar tensor, stats dict).

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
    m = x.shape[1] + pos.shape[1] + (0 if neg is None else neg.shape[1])
    path, block = plan(field, kernel_at(kernel, 1.0), block_size, x.shape[1], m)
    x = x.detach().float()
    stats: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        if path == "whole":
            targets = all_targets(x, pos, neg, x_w, pos_w, neg_w)
            base = distances(x, targets[0])
        if scaling == "official":
            s = (scale_of(base, targets[1]) if path == "whole" else
                 feature_scale(x, pos, neg, x_w, pos_w, neg_w) if path == "per_temperature" else
                 stream_scale(x, pos, neg, x_w, pos_w, neg_w, block_size=block))
            c = (s / x.shape[-1] ** 0.5).clamp(min=1e-3)
            unit = s.clamp(min=1e-3) / c                      # tau is in units of s
        else:
            s = c = unit = x.new_tensor(1.0)
        stats["scale"] = s
        kernels = [kernel_at(kernel, float(tau * unit)) for tau in temps]
        if path == "whole":
            vs, k, xk = whole_forces(field, x, pos, neg, kernels, c, targets, base), 1 / c, x
        else:
            xk, k = x / c, x.new_tensor(1.0)
            ps, ns = pos.float() / c, None if neg is None else neg.float() / c
            weights = dict(x_w=x_w, pos_w=pos_w, neg_w=neg_w)
            vs = (stream_field(field, xk, ps, ns, kernels=kernels, block_size=block, **weights)
                  if path == "stream" else [field(xk, ps, ns, kernel=kk, **weights) for kk in kernels])
        goal = normalise(xk, vs, k, temps, combine, stats)
        stats["drift_rms"] = torch.stack([stats[f"drift_rms/{t:g}"] for t in temps]).pow(2).sum().sqrt()
    return goal, c, stats


def scaled_loss(x, goal, c):
    """Per-group loss [B] = mean_{n,d} (x/c - goal)^2, summed over per-temperature terms.

    x [B,N,D] (gradients flow into it), goal [B,N,D] or [T,B,N,D] and c from ``drift``.
    """
    loss = ((x.float() / c - goal) ** 2).mean(dim=(-1, -2))
    return loss.sum(0) if goal.dim() == 4 else loss


def drift_target(x, pos, neg=None, **kw):
    """target = x + V in the caller's coordinates (the goal mapped back), plus stats.

    x [B,N,D], pos [B,P,D], neg [B,Q,D] or None -> target [B,N,D] ([T,B,N,D] per temperature).
    Keyword arguments as ``drift``; stats["loss"] is the release's loss value.
    """
    goal, c, stats = drift(x, pos, neg, **kw)
    stats["loss"] = scaled_loss(x.detach(), goal, c).mean()
    return goal * c, stats


def drift_loss(x, pos, neg=None, **kw):
    """Per-group loss [B] = mean_{n,d} ||x/c - stopgrad(goal')||^2 (summed over terms), stats.

    Gradients flow into ``x`` only; everything on the target side is detached.
    """
    goal, c, stats = drift(x, pos, neg, **kw)
    loss = scaled_loss(x, goal, c)
    stats["loss"] = loss.detach().mean()
    return loss, stats
