"""Streaming (blocked) ``meanshift``, ``split`` and ``split_self`` fields: every temperature of
one drift call from tiles of the N x M kernel matrix, never the whole matrix (the "Scale" issue).

Notation as in zoo/fields/meanshift.py and split.py (Deng et al. 2026, arXiv 2602.04770,
Alg. 2; release lambertae/drifting ``drift_loss.py``): x [B,N,D] generated, targets
y = [neg'; pos] [B,M,D] (neg' = x itself first, self-pairs masked, then extra negatives)
with weights w [B,M]. For the laplace and gaussian kernels the logit is linear in a
temperature-free base,

    l^tau_nm = c_tau b_nm,   b = ||x_n - y_m||, c = -1/tau          (laplace)
                             b = ||x_n - y_m||^2, c = -1/(2 tau^2)  (gaussian)

so one distance tile (Gram expansion ||x||^2 + ||y||^2 - 2 x.y, floored at 1e-8 as in
``zoo.kernels.cdist``) serves every temperature, and since c < 0 the largest logit of a row
(column) is c times its smallest base: one min per tile is the stable shift of all of them.

meanshift, two passes over the tiles:

    pass 1   R^tau_n = logsumexp_m l_nm,  C^tau_m = logsumexp_n l_nm; per tile the partial
             c b_min + log sum exp(c (b - b_min)), merged across tiles with logaddexp. One
             exp per entry: with e_nm = exp(c (b_nm - min_m b_nm)) the column sums are the
             GEMV sum_n e_nm exp(c (min_m b_nm - beta)), beta the tile min (``tile_lse``)
    pass 2   A_nm = max(exp(l_nm - (R_n + C_m) / 2), sqrt(floor))        (masked: sqrt(floor))
             [num | s]^part_n += A[:, tile] @ [w y | w]                 part = neg', pos
             V_n = s-_n (num+_n - s+_n x_n) - s+_n (num-_n - s-_n x_n)

split, one pass (online softmax per part, as in flash attention):

    beta_n <- min(beta_n, min_m b_nm);  [num | s] <- [num | s] exp(c (beta_old - beta_new))
                                                     + exp(c (b - beta_new)) @ [w y | w]
    V_n = (num+_n / s+_n - x_n) - (num-_n / s-_n - x_n)

split_self (zoo/fields/split_self.py) is split with the self-pairs kept at distance 0 instead
of masked (``Tiles.keep_self``).

Extra memory: a few [B, T, block, block] tiles, [B, block, D+1] accumulators and O(T B (N + M))
log-sum-exp vectors, besides the inputs and the T outputs [B,N,D]; never B x N x M.
exp arguments are clamped at -87 (``zoo.fields.streaming.tiles.EXP_MIN``). Results equal the dense fields to
float32 rounding (tests/test_streaming.py); ``zoo.drift.drift(block_size=...)`` uses them.
"""
from __future__ import annotations

import functools
import inspect
import math

import gin
import torch

from zoo import dist
from zoo.fields import assemble
from zoo.registry import lookup, name_of
from zoo.fields.streaming.tiles import EXP_MIN, FAR, Tiles, check_block_size, fill_self, logit_coefs, scaled_exp


def partial_lse(b: torch.Tensor, mask, dim: int, coefs: torch.Tensor) -> torch.Tensor:
    """logsumexp_dim(c b) for every c of coefs [T,1,1] on one tile b [B,bi,bj] -> [B,T,b_other].

    Shifted by the line's min b (c < 0); a line that is all masked gives -inf.
    """
    bmin = b.amin(dim, keepdim=True)
    bmin = bmin.masked_fill(bmin.isinf(), 0.0)
    e = scaled_exp(b - bmin, coefs, mask, b.new_empty(b.shape[0], coefs.shape[0], *b.shape[1:]))
    return e.sum(dim).log_().add_(coefs.squeeze(-1) * bmin.squeeze(dim)[:, None])


def tile_lse(t: "Tiles", b: torch.Tensor, mask, coefs: torch.Tensor):
    """Row and column logsumexp of c b (rows [B,T,bi], columns [B,T,bj]) with one exp per entry.

    Rows are shifted by their min b_n; a column sum is then sum_n e_nm u_n with
    u_n = exp(c (b_n - beta)), beta the tile min (a batched GEMV). Its terms are exact unless a
    column's largest term is below e^-60 (a far column next to a near pair), in which case the
    tile falls back to a column-shifted second exp (``partial_lse``).
    """
    bmin = b.amin(-1, keepdim=True)                                      # [B,bi,1], inf if masked
    beta = bmin.amin(1, keepdim=True)                                    # [B,1,1]
    safe = bmin.masked_fill(bmin.isinf(), 0.0)
    e = scaled_exp(torch.sub(b, safe, out=t.buf("shift", b.shape)), coefs, mask,
                   t.buf("e", (b.shape[0], coefs.shape[0], *b.shape[1:])))   # [B,T,bi,bj]
    rows = e.sum(-1).log_().add_(coefs.squeeze(-1) * safe.squeeze(-1)[:, None])
    u = torch.exp(coefs * (bmin - beta)[:, None]).transpose(-1, -2)      # [B,T,1,bi]
    cols = torch.matmul(u, e).squeeze(-2)                                # [B,T,bj]
    if not (beta.isfinite().all() and cols.min() >= b.shape[1] * FAR):
        return rows, partial_lse(b, mask, -2, coefs)
    return rows, cols.log_().add_(coefs.squeeze(-1) * beta)


def column_lse_pass(t: Tiles, coefs: torch.Tensor):
    """Pass 1: row lse [B,T,N] and per-part column lse [[B,T,M_p]] of every logit c_k b."""
    b_, n, k = t.x.shape[0], t.x.shape[1], coefs.shape[0]
    full = lambda m: t.x.new_full((b_, k, m), -math.inf)
    rows_lse, cols_lse = full(n), [full(y.shape[1]) for y in t.ys]
    for rows in t.row_blocks():
        for part, cols in t.col_blocks():
            r, c = tile_lse(t, *t.base(rows, part, cols), coefs)
            rows_lse[..., rows] = torch.logaddexp(rows_lse[..., rows], r)
            cols_lse[part][..., cols] = torch.logaddexp(cols_lse[part][..., cols], c)
    return rows_lse, cols_lse


def meanshift_rows(t: Tiles, rows: slice, coefs, half_r, half_c, log_floor) -> torch.Tensor:
    """Pass 2 for one row block -> V [B,T,bi,D]; half_r = -R/2 [B,T,N], half_c[p] = C/2.

    One [B, T*bi, bj] @ [B, bj, D+1] GEMM per tile accumulates [num | s] of all temperatures.
    """
    b_, d, k = t.x.shape[0], t.x.shape[2], coefs.shape[0]
    x = t.x[:, rows]
    bi = x.shape[1]
    acc = [x.new_zeros(b_, k * bi, d + 1) for _ in t.ys]
    for part, cols in t.col_blocks():
        b, mask = t.base(rows, part, cols)
        a = torch.sub(half_r[..., rows, None], half_c[part][..., None, cols],
                      out=t.buf("e", (b_, k, bi, b.shape[-1])))           # [B,T,bi,bj]
        a.addcmul_(b[:, None], coefs).clamp_(min=max(log_floor, EXP_MIN)).exp_()
        fill_self(a, mask, math.exp(log_floor))
        acc[part].baddbmm_(a.view(b_, k * bi, -1), t.yaug[part][:, cols])
    neg, pos = (z.view(b_, k, bi, d + 1) for z in acc)
    s_neg, s_pos, x = neg[..., d:], pos[..., d:], x[:, None]
    return s_neg * (pos[..., :d] - s_pos * x) - s_pos * (neg[..., :d] - s_neg * x)


def split_part(t: Tiles, rows: slice, part: int, coefs) -> torch.Tensor:
    """Row-normalised pull toward part ``part`` for one row block, online -> [B,T,bi,D]."""
    b_, d, k = t.x.shape[0], t.x.shape[2], coefs.shape[0]
    x = t.x[:, rows]
    bi = x.shape[1]
    acc = x.new_zeros(b_, k, bi, d + 1)
    beta = x.new_full((b_, bi, 1), math.inf)                              # running min b
    for p, cols in t.col_blocks():
        if p != part:
            continue
        b, mask = t.base(rows, part, cols)
        new = torch.minimum(beta, b.amin(-1, keepdim=True))
        acc.mul_(torch.exp(coefs * (beta - new)[:, None]).nan_to_num_(nan=1.0))
        shifted = torch.sub(b, new.masked_fill(new.isinf(), 0.0), out=t.buf("shift", b.shape))
        e = scaled_exp(shifted, coefs, mask, t.buf("e", (b_, k, bi, b.shape[-1])))
        acc.view(b_, k * bi, d + 1).baddbmm_(e.view(b_, k * bi, -1), t.yaug[part][:, cols])
        beta = new
    s = acc[..., d:].clamp(min=1e-30)
    return acc[..., :d] / s - (acc[..., d:] / s) * x[:, None]


def tiles_for(x, pos, neg, x_w, pos_w, neg_w, self_negatives, block_size, squared,
              keep_self: bool = False) -> Tiles:
    """Assemble targets as the dense fields do and tile them (self-pairs kept: ``split_self``)."""
    tg = assemble(x.float(), pos, neg, x_w, pos_w, neg_w, self_negatives)
    return Tiles.build(x.float(), [(tg.neg, tg.neg_w), (tg.pos, tg.pos_w)], tg.n_self,
                       check_block_size(block_size), squared, keep_self)


@torch.no_grad()
def stream_meanshift(x, pos, neg=None, *, kernels, block_size: int, x_w=None, pos_w=None,
                     neg_w=None, self_negatives: bool = True, affinity_floor: float = 1e-6):
    """``meanshift`` at every kernel of ``kernels`` in two passes -> [V [B,N,D]] per kernel."""
    if affinity_floor < 0:
        raise ValueError(f"meanshift.affinity_floor must be >= 0, got {affinity_floor}")
    squared, coefs = logit_coefs(kernels, x.device)
    t = tiles_for(x, pos, neg, x_w, pos_w, neg_w, self_negatives, block_size, squared)
    rows_lse, cols_lse = column_lse_pass(t, coefs)
    half_r, half_c = -0.5 * rows_lse, [0.5 * c for c in cols_lse]
    log_floor = 0.5 * math.log(affinity_floor) if affinity_floor > 0 else -math.inf
    v = torch.cat([meanshift_rows(t, rows, coefs, half_r, half_c, log_floor)
                   for rows in t.row_blocks()], 2)
    return list(v.unbind(1))


@torch.no_grad()
def stream_split(x, pos, neg=None, *, kernels, block_size: int, x_w=None, pos_w=None,
                 neg_w=None, self_negatives: bool = True):
    """``split`` at every kernel of ``kernels`` in one pass -> [V [B,N,D]] per kernel."""
    squared, coefs = logit_coefs(kernels, x.device)
    return split_tiles(tiles_for(x, pos, neg, x_w, pos_w, neg_w, self_negatives, block_size,
                                 squared), coefs)


def split_tiles(t: Tiles, coefs) -> list[torch.Tensor]:
    """V+ - V- of ``split`` from the tiles, one pass -> [V [B,N,D]] per logit coefficient."""
    has_neg = t.ys[0].shape[1] > 0
    v = torch.cat([split_part(t, rows, 1, coefs) - split_part(t, rows, 0, coefs) if has_neg
                   else split_part(t, rows, 1, coefs) for rows in t.row_blocks()], 2)
    return list(v.unbind(1))


@torch.no_grad()
def stream_split_self(x, pos, neg=None, *, kernels, block_size: int, x_w=None, pos_w=None,
                      neg_w=None, self_negatives: bool = True):
    """``split_self`` at every kernel: ``split`` with the self-pairs kept at distance 0."""
    squared, coefs = logit_coefs(kernels, x.device)
    return split_tiles(tiles_for(x, pos, neg, x_w, pos_w, neg_w, self_negatives, block_size,
                                 squared, keep_self=True), coefs)


STREAMERS = {"meanshift": stream_meanshift, "split": stream_split,
             "split_self": stream_split_self}
KEEPS_SELF = {"split_self": "split"}  # field -> the field it is with x's self-pairs unmasked
STREAMING_FIELDS = tuple(sorted(STREAMERS))


@functools.lru_cache(maxsize=None)
def field_defaults(name: str) -> dict:
    """The keyword-only defaults of registered field ``name`` (its signature, read once)."""
    skip = {"kernel", "x_w", "pos_w", "neg_w"}
    return {k: p.default for k, p in inspect.signature(lookup("field", name)).parameters.items()
            if p.kind is p.KEYWORD_ONLY and k not in skip and p.default is not p.empty}


def field_options(field, name: str) -> dict:
    """The field's own knobs as a call would see them: defaults < gin bindings < partial kwargs."""
    opts = dict(field_defaults(name))
    opts.update(gin.get_bindings(lookup("field", name)))
    opts.update(getattr(field, "keywords", None) or {})
    return opts


def stream_field(field, x, pos, neg=None, *, kernels, block_size: int, x_w=None, pos_w=None,
                 neg_w=None) -> list[torch.Tensor]:
    """Dispatch ``field`` (a registered field, possibly gin-bound or a partial) to its streaming
    path: x [B,N,D], pos [B,P,D], neg [B,Q,D] or None -> [V [B,N,D]] per kernel."""
    name = name_of(field)
    if name not in STREAMERS:
        raise ValueError(f"field '{name}' has no streaming path; the fields that stream are "
                         f"{list(STREAMING_FIELDS)}; set drift.block_size = None for '{name}'")
    return STREAMERS[name](x, pos, neg, kernels=kernels, block_size=block_size, x_w=x_w,
                           pos_w=pos_w, neg_w=neg_w, **field_options(field, name))


@torch.no_grad()
def stream_scale(x, pos, neg=None, x_w=None, pos_w=None, neg_w=None, *, block_size: int):
    """``zoo.drift.feature_scale`` (weighted mean distance x -> [x; neg; pos]) tile by tile;
    under torchrun the mean and the weight mean are averaged over ranks (global batch)."""
    tg = assemble(x.float(), pos, neg, x_w, pos_w, neg_w, self_negatives=True)
    y, w = torch.cat([tg.neg, tg.pos], 1), torch.cat([tg.neg_w, tg.pos_w], 1)
    t = Tiles.build(x.float(), [(y, w)], 0, check_block_size(block_size), squared=False)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for rows in t.row_blocks():
        for part, cols in t.col_blocks():
            total += (t.base(rows, part, cols)[0] * w[:, None, cols]).sum(dtype=torch.float64)
    return dist.mean((total / (x.shape[0] * x.shape[1] * y.shape[1])).float()) / dist.mean(w.mean())
