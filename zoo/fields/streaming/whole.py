"""Whole-matrix ``meanshift`` and ``split`` at every temperature at once: the fast path for many
small groups (classes x locations of image features), where the tiles of
zoo/fields/streaming/__init__.py would be the whole matrix anyway (issue 18).

Same arithmetic as zoo/fields/meanshift.py and split.py (Deng et al. 2026, Alg. 2; release
lambertae/drifting ``drift_loss.py``), reorganised so one distance matrix serves every
temperature and no [B, N, D] temporary is made per temperature:

    b [B,N,M]        distances (laplace) or squared distances (gaussian) to y = [neg'; pos],
                     given by the caller (``zoo.drift`` reuses the ones of the feature scale)
    l [G,T,N,M]      = c_tau b for a chunk of G groups (c < 0, as in the tiles), self-pairs masked
    meanshift        A = max(exp(l - (lse_rows + lse_cols) / 2), sqrt(floor)) w
                     R = [-S+ A_neg | S- A_pos],   V = S- sum_pos A (y - x) - S+ sum_neg A (y - x)
                       = R @ y - (sum_m R_nm) x_n  (the release's ``total_coeffs`` term, folded
                     into the self-pair's entry since y_n = x_n: ``fold_rowsum``)
                     one exp per entry: E = exp(c (b - min_m b)), rowsoftmax = E / sum_m E,
                     colsoftmax = E u / K with u_n = exp(c (min_m b_n - beta)), K = u^T E (a
                     GEMV, as ``tile_lse``); the two-lse form when some K underflows
    split            R = [-rowsoftmax_w(l_neg) | rowsoftmax_w(l_pos)],  V = R @ y - (sum R) x

One [G, T*N, M] @ [G, M, D] GEMM per chunk gives every temperature's V. Chunks hold at most
``CHUNK`` logits in a buffer reused across calls (per thread), so memory is that plus the
outputs [B,T,N,D] and the distances [B,N,M], whatever B is; those two are reused buffers too
(kept per thread at the size of the largest call so far). Equal to the dense fields to float32
rounding (tests/test_streaming.py); ``zoo.drift.drift(block_size="auto")`` uses it.
"""
from __future__ import annotations

import math
import threading

import torch

from zoo.fields import SELF_MASK
from zoo.fields.streaming.tiles import EXP_MIN, FAR, fill_self
from zoo.kernels import EPS_SQ

CHUNK = 1 << 20  # logits per chunk (G T N M): 4 MiB of float32, so the ~10 passes over a chunk
                 # run mostly in cache: 10-20% faster than 2^22 on this CPU (EPYC, 1 MiB L2
                 # per core; 2^19 about equal, 2^16 and 2^22 slower; issue 18)
_WORK = threading.local()  # per thread (sweeps run trainings in threads): device -> buffer


def workspace(shape, like: torch.Tensor, name: str = "logits") -> torch.Tensor:
    """A reused float32 buffer of ``shape`` on ``like``'s device, one per ``name`` and thread
    (a chunk's logits, the distances, the forces), grown to the largest shape asked so far and
    never shrunk: a fresh multi-MiB tensor per call costs its page faults, about as much as one
    pass over it. A view of it is valid until the next request of the same name."""
    n, cache, key = math.prod(shape), _WORK.__dict__, (like.device, name)
    buf = cache.get(key)
    if buf is None or buf.numel() < n:
        buf = cache[key] = like.new_empty(n, dtype=torch.float32)
    return buf[:n].view(shape)


def distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``zoo.kernels.cdist`` (Gram expansion, squared distances floored at 1e-8) in one GEMM
    and in-place passes; y [B,M,D] starts with x [B,N,D] itself, whose norms it reuses.
    The result [B,N,M] is a reused buffer (``workspace``), valid until the next call."""
    yn = torch.linalg.vector_norm(y, dim=-1).square_()                   # [B,M], no [B,M,D] temporary
    sq = torch.baddbmm(yn[:, None, :], x, y.transpose(1, 2), alpha=-2,
                       out=workspace((*x.shape[:2], y.shape[1]), x, "distances"))
    return sq.add_(yn[:, : x.shape[1], None]).clamp_(min=EPS_SQ).sqrt_()


def group_chunks(b: int, per_group: int) -> list[slice]:
    """Slices of the B groups with at most CHUNK // per_group groups each (at least one)."""
    g = max(1, CHUNK // max(per_group, 1))
    return [slice(i, i + g) for i in range(0, b, g)]


def logits(base: torch.Tensor, coefs: torch.Tensor, n_self: int) -> torch.Tensor:
    """l = c b for every c of coefs [T,1,1]: base [G,N,M] -> [G,T,N,M], self-pairs SELF_MASK."""
    lg = torch.mul(base[:, None], coefs, out=workspace((base.shape[0], coefs.shape[-3], *base.shape[1:]), base))
    if n_self:
        lg[..., :n_self].diagonal(0, -2, -1).fill_(SELF_MASK)
    return lg


def cross_weights(a: torch.Tensor, w, n_neg: int) -> torch.Tensor:
    """R [G,T,N,M] = [-S+ A_neg | S- A_pos] from the affinities A (in place; weights w [G,M] or
    None applied first): each side is scaled by the other side's row sum (Alg. 2)."""
    if w is not None:
        a.mul_(w[:, None, None, :])
    a_neg, a_pos = a[..., :n_neg], a[..., n_neg:]
    s_neg, s_pos = a_neg.sum(-1, keepdim=True), a_pos.sum(-1, keepdim=True)
    a_neg.mul_(s_pos.neg_())
    a_pos.mul_(s_neg)
    return a


def meanshift_coefs(lg, w, n_neg: int, n_self: int, floor: float) -> torch.Tensor:
    """R [G,T,N,M] = [-S+ A_neg | S- A_pos] from logits lg (overwritten); w [G,M] or None."""
    lse_r, lse_c = torch.logsumexp(lg, -1, keepdim=True), torch.logsumexp(lg, -2, keepdim=True)
    log_floor = 0.5 * math.log(floor) if floor > 0 else -math.inf
    a = lg.sub_(lse_r, alpha=0.5).sub_(lse_c, alpha=0.5).clamp_(min=max(log_floor, EXP_MIN)).exp_()
    if n_self:
        fill_self(a[..., :n_self], 0, math.exp(log_floor))
    return cross_weights(a, w, n_neg)


def meanshift_coefs_one_exp(base, coefs, w, n_neg: int, n_self: int, floor: float):
    """``meanshift_coefs`` with one exp per entry (the column lse of ``tile_lse``), or None.

    E = exp(c (b - min_m b)) (row-shifted), S_n = sum_m E, u_n = exp(c (min_m b_n - beta)) with
    beta the group's min, K_m = sum_n E u (a GEMV): rowsoftmax = E / S, colsoftmax = E u / K, so
    A = E sqrt(u / S) / sqrt(K). None when a column sum K_m < N e^-60 (a column far from
    every row, or a fully masked one): then the two-lse path is exact and this one is not.
    """
    b = masked_base(base, n_self)
    bmin = b.amin(-1, keepdim=True)                                      # [G,N,1]
    bmin = bmin.masked_fill_(bmin.isinf(), 0.0)
    beta = bmin.amin(1, keepdim=True)                                    # [G,1,1]
    e = torch.mul(b.sub_(bmin)[:, None], coefs,
                  out=workspace((b.shape[0], coefs.shape[-3], *b.shape[1:]), b))    # [G,T,N,M]
    e.clamp_(min=EXP_MIN).exp_()
    u = torch.exp(coefs * (bmin - beta)[:, None])                        # [G,T,N,1]
    k = torch.matmul(u.transpose(-1, -2), e)                             # [G,T,1,M]
    if not bool(k.min() >= b.shape[1] * FAR):
        return None
    e.mul_(u.div_(e.sum(-1, keepdim=True)).sqrt_()).mul_(k.rsqrt_())
    a = e.clamp_(min=math.sqrt(floor)) if floor > 0 else e
    return cross_weights(a, w, n_neg)


def fold_rowsum(r: torch.Tensor, n_self: int) -> torch.Tensor:
    """R [G,T,N,M] with each row's sum taken off its self-pair entry, so R @ y is
    sum_m R_nm y_m - (sum_m R_nm) x_n (y_n = x_n): the release's ``total_coeffs`` correction,
    which cancels the rounding of the (analytically zero) row sums against |x|, at no cost."""
    rowsum = r.sum(-1)
    r[..., :n_self].diagonal(0, -2, -1).sub_(rowsum)
    return r


def masked_base(base: torch.Tensor, n_self: int) -> torch.Tensor:
    """A copy of base [G,N,M] in a reused buffer with +inf at the self-pairs."""
    b = workspace(base.shape, base, "base").copy_(base)
    if n_self:
        b[..., :n_self].diagonal(0, -2, -1).fill_(math.inf)
    return b


def split_coefs(base, coefs, w, n_neg: int, n_self: int) -> torch.Tensor:
    """R [G,T,N,M] = [-rowsoftmax_w(l_neg) | rowsoftmax_w(l_pos)], l = c b: each part's rows
    shifted by their min b (the largest logit, c < 0) on the base, then one exp for all T."""
    b = masked_base(base, n_self)
    for part in (b[..., :n_neg], b[..., n_neg:]):
        if part.shape[-1]:
            low = part.amin(-1, keepdim=True)
            part.sub_(low.masked_fill_(low.isinf(), 0.0))
    e = torch.mul(b[:, None], coefs, out=workspace((b.shape[0], coefs.shape[-3], *b.shape[1:]), b))
    e.clamp_(min=EXP_MIN).exp_()
    if n_self:
        fill_self(e[..., :n_self], 0, 0.0)
    if w is not None:
        e.mul_(w[:, None, None, :])
    for part, sign in ((e[..., :n_neg], -1.0), (e[..., n_neg:], 1.0)):
        if part.shape[-1]:
            part.div_(part.sum(-1, keepdim=True).clamp_(min=1e-30).mul_(sign))
    return e


def coefficients(name: str, base, coefs, w, n_neg: int, n_self: int, floor: float):
    """R [G,T,N,M] of field ``name`` for one chunk: base [G,N,M], coefs [T,1,1] or [G,T,1,1],
    w [G,M] or None.

    With x among the targets (n_self) each row's sum is folded into its self-pair
    (``fold_rowsum``), so V = R @ y; without, V = R @ y - rowsum(R) x."""
    if name == "split":
        r = split_coefs(base, coefs, w, n_neg, n_self)
    else:
        r = meanshift_coefs_one_exp(base, coefs, w, n_neg, n_self, floor)
        if r is None:
            r = meanshift_coefs(logits(base, coefs, n_self), w, n_neg, n_self, floor)
    return fold_rowsum(r, n_self) if n_self else r


@torch.no_grad()
def whole_field(name: str, x, y, w, base, coefs, *, n_neg: int, n_self: int,
                affinity_floor: float = 1e-6, **_) -> torch.Tensor:
    """V [B,T,N,D] of field ``name`` (meanshift or split) at every c of coefs [T,1,1] (shared by
    all groups) or [B,T,1,1] (one set of logit coefficients per group: ``zoo.drift`` segments).

    x [B,N,D], targets y [B,M,D] = [neg' (n_neg, x first when n_self) | pos], weights w [B,M]
    or None (all ones), base [B,N,M] the distances (or squared distances) x -> y.
    V lives in a buffer reused by the next call on this thread (``workspace``): a fresh
    [B,T,N,D] tensor per call page-faults once it outgrows malloc's mmap threshold (162 minor
    faults per call at B,N,M,D = 4,64,160,512, none with the buffer; issue 18).
    """
    if affinity_floor < 0:
        raise ValueError(f"meanshift.affinity_floor must be >= 0, got {affinity_floor}")
    b, n, d = x.shape
    t = coefs.shape[-3]
    out = workspace((b, t, n, d), x, "forces")
    for g in group_chunks(b, t * n * y.shape[1]):
        r = coefficients(name, base[g], coefs if coefs.dim() == 3 else coefs[g],
                         None if w is None else w[g], n_neg, n_self, affinity_floor)
        torch.bmm(r.reshape(r.shape[0], t * n, -1), y[g], out=out[g].view(-1, t * n, d))
        if not n_self:
            out[g].sub_(r.sum(-1, keepdim=True) * x[g, None])
    return out
