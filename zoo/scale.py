"""The release's two normalisations of a drift call, per segment of groups.

Deng et al. 2026 (App. A; release lambertae/drifting ``drift_loss.py``): the feature scale

    s = sum_{b,n,m} w_m ||x_bn - y_bm|| / (B N M mean(w))        y = [x; neg; pos]

and, per temperature, the force RMS rms(V_tau) = sqrt(mean ||V_tau||^2) that divides V_tau
before the temperatures are summed. ``zoo.drift`` computes both for S *segments*: the B groups
of a call as S equal blocks of consecutive groups (``zoo.features`` stacks the feature sets of
one shape), each block with its own s and RMS, as if each were its own call. Under torchrun
every reduction is averaged over ranks first (``zoo.dist.mean``), so a rank's share of the
groups is normalised as the one-process call on all groups.
"""
from __future__ import annotations

import torch

from zoo import dist
from zoo.fields import _weights
from zoo.kernels import cdist


def check_segments(segments, groups: int) -> int:
    """``segments`` as a positive int that divides the number of groups B (ValueError names it)."""
    if (isinstance(segments, bool) or not isinstance(segments, int) or segments < 1
            or groups % segments):
        raise ValueError(f"segments must be a positive integer dividing the number of groups "
                         f"B = {groups} (equal blocks of groups, each normalised on its own, "
                         f"e.g. the feature sets of one shape), got {segments!r}")
    return segments


def per_group(t: torch.Tensor, groups: int) -> torch.Tensor:
    """Per-segment values t [S] -> [B,1,1], each repeated over its segment's B/S groups
    ([1,1,1], broadcasting, for one segment)."""
    if t.shape[0] == 1:
        return t.view(1, 1, 1)
    return t.repeat_interleave(groups // t.shape[0]).view(groups, 1, 1)


def segment_mean(loss: torch.Tensor, segments: int = 1) -> torch.Tensor:
    """The mean of a per-group loss [B]: a scalar, or [S] per segment when segments > 1."""
    return loss.mean() if segments == 1 else loss.view(segments, -1).mean(1)


def all_targets(x, pos, neg=None, x_w=None, pos_w=None, neg_w=None):
    """y = [x; neg; pos] [B,M,D] and its weights w [B,M], or None when no weights are given."""
    ys = [x, pos] if neg is None else [x, neg, pos]
    ws = [x_w, pos_w] if neg is None else [x_w, neg_w, pos_w]
    y = torch.cat([t.float() for t in ys], 1)
    if all(w is None for w in ws):
        return y, None
    return y, torch.cat([_weights(w, t, name) for w, t, name in
                         zip(ws, ys, ("x", "pos") if neg is None else ("x", "neg", "pos"))], 1)


def scale_of(dists: torch.Tensor, w, segments: int = 1) -> torch.Tensor:
    """The weighted mean distance sum w_m d_nm / (B N M mean(w)) of every segment -> [segments]
    (B/segments consecutive groups each), averaged over ranks first. dists [B,N,M], w [B,M]."""
    if w is None:
        return dist.mean(dists.reshape(segments, -1).mean(1))
    return (dist.mean((dists * w[:, None, :]).reshape(segments, -1).mean(1))
            / dist.mean(w.reshape(segments, -1).mean(1)))


def feature_scale(x, pos, neg=None, x_w=None, pos_w=None, neg_w=None):
    """The release's scale s (weighted mean distance from x to [x; neg; pos]) -> scalar.

    Under torchrun the weighted sum and the weight mean are averaged over ranks first
    (``zoo.dist.mean``; ranks hold equal numbers of groups), so s is the scale of the global
    batch whatever the world size; a single process computes exactly the local expression.
    """
    y, w = all_targets(x, pos, neg, x_w, pos_w, neg_w)
    return scale_of(cdist(x.float(), y), w)[0]


def normalise(x, v, k, temps, combine: str, stats: dict) -> torch.Tensor:
    """goal' = x k + sum_tau V_tau k / rms(V_tau k) (or x k + V_tau k per temperature).

    v: V [B,T,N,D] in the coordinates of x; k [S] maps them to scaled ones (1, or 1/c when the
    field ran in data units), one per segment of B/S groups, each with its own force RMS.
    Writes stats drift_rms/<tau> [S] (scaled units, global over ranks) and drift_rms [S], their
    root sum of squares.
    """
    b, t, n, d = v.shape
    s = k.shape[0]
    # per-group norms, then their sum: one flat float32 vector_norm loses ~1e-3 on 4M entries
    ms = torch.linalg.vector_norm(v, dim=(-2, -1)).square().view(s, b // s, t).sum(1)  # [S,T]
    rms = dist.mean(ms / (b // s * n * d)).sqrt() * k[:, None]                          # [S,T]
    stats.update(zip((f"drift_rms/{tau:g}" for tau in temps), rms.T.unbind(0)))
    stats["drift_rms"] = rms.square().sum(1).sqrt()
    k_group = per_group(k, b)
    xs = x * k_group
    if combine == "per_temperature":
        return torch.addcmul(xs[None], v.transpose(0, 1), k_group)                # [T,B,N,D]
    factors = (k[:, None] / rms.clamp(min=1e-4)).T.reshape(t, s, 1, 1, 1)         # [T,S,1,1,1]
    by_segment = xs.view(s, b // s, n, d)
    for v_tau, f_tau in zip(v.view(s, b // s, t, n, d).unbind(2), factors.unbind(0)):
        by_segment.addcmul_(v_tau, f_tau)
    return xs
