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
from zoo.fields import check_inputs
from zoo.kernels import Kernel, cdist
from zoo.fields.streaming import stream_field, stream_scale
from zoo.fields.streaming.tiles import check_block_size

SCALINGS = ("official", "none")
COMBINES = ("normalized_sum", "per_temperature")


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


def feature_scale(x, pos, neg=None, x_w=None, pos_w=None, neg_w=None):
    """The release's scale s (weighted mean distance from x to [x; neg; pos]) -> scalar.

    Under torchrun the weighted sum and the weight mean are averaged over ranks first
    (``zoo.dist.mean``; ranks hold equal numbers of groups), so s is the scale of the global
    batch whatever the world size; a single process computes exactly the local expression.
    """
    ys, ws = [x], [x_w if x_w is not None else x.new_ones(x.shape[:2])]
    if neg is not None:
        ys.append(neg)
        ws.append(neg_w if neg_w is not None else neg.new_ones(neg.shape[:2]))
    ys.append(pos)
    ws.append(pos_w if pos_w is not None else pos.new_ones(pos.shape[:2]))
    y, w = torch.cat(ys, 1).float(), torch.cat(ws, 1).float()
    return dist.mean((cdist(x.float(), y) * w[:, None, :]).mean()) / dist.mean(w.mean())


@gin.configurable("drift", denylist=["x", "pos", "neg", "x_w", "pos_w", "neg_w"])
def drift(x, pos, neg=None, *, field: Callable, kernel, temperatures=(0.02, 0.05, 0.2),
                scaling: str = "official", combine: str = "normalized_sum",
                x_w=None, pos_w=None, neg_w=None, block_size: int | None = None):
    """goal' in scaled coordinates and the coordinate divisor c.

    ``block_size`` None: the dense fields, one call per temperature. An int: the scale and every
    temperature's field from [block_size x block_size] tiles (``zoo.fields.streaming``; meanshift and
    split with the laplace or gaussian kernel), equal to the dense path to float32 rounding.
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
    if block_size is not None:
        check_block_size(block_size)
    x = x.detach().float()
    stats: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        if scaling == "official":
            s = (feature_scale(x, pos, neg, x_w, pos_w, neg_w) if block_size is None else
                 stream_scale(x, pos, neg, x_w, pos_w, neg_w, block_size=block_size))
            c = (s / x.shape[-1] ** 0.5).clamp(min=1e-3)
            unit = s.clamp(min=1e-3) / c                      # tau is in units of s
        else:
            s = c = unit = x.new_tensor(1.0)
        stats["scale"] = s
        xs = x / c
        ps, ns = pos.float() / c, None if neg is None else neg.float() / c
        kernels = [kernel_at(kernel, float(tau * unit)) for tau in temps]
        weights = dict(x_w=x_w, pos_w=pos_w, neg_w=neg_w)
        vs = (stream_field(field, xs, ps, ns, kernels=kernels, block_size=block_size, **weights)
              if block_size is not None else (field(xs, ps, ns, kernel=k, **weights) for k in kernels))
        forces = []
        for tau, v in zip(temps, vs):
            rms = dist.mean((v * v).mean()).sqrt()                # global over ranks
            stats[f"drift_rms/{tau:g}"] = rms
            forces.append(v / rms.clamp(min=1e-4) if combine == "normalized_sum" else v)
        goal = xs + sum(forces) if combine == "normalized_sum" else xs + torch.stack(forces)
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
