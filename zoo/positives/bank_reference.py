"""Exact full-bank references: the split and meanshift fields with every bank row a positive.

The reference the k-NN truncations (``zoo.positives.knn_positives``) are measured against
(``zoo/bench/knn.py``): the fields of Deng et al. 2026 (Eq. 8-10 split, Alg. 2
meanshift) with pos = the whole bank Y [M, D], streamed in blocks of ``block`` rows so no more
than N x ``block`` logits are ever held.

    split      the row softmax over M is a running log-sum-exp; per block Y_b, logits l:
               t' = max(t, max_b l),  den' = den e^{t - t'} + sum_b e^{l - t'},
               num' = num e^{t - t'} + sum_b e^{l - t'} y,      V+ = num / den - x
    meanshift  the affinity sqrt(rowsoftmax * colsoftmax): the column softmax over the N
               generated rows is local to each bank row, so two passes suffice (the row
               normalisers over negatives and all blocks, then the affinities block by block).

The repulsion (x itself and ``neg``) is exact, as in ``zoo.fields``.
Shapes: bank [M, D] float32, x [B, N, D], neg [B, Q, D], V [B, N, D].
"""
from __future__ import annotations

import math

import torch

from zoo.positives.faiss_bank import PositiveBank
from zoo.fields import SELF_MASK, assemble, pull, repulsion
from zoo.kernels import cdist


@torch.no_grad()
def exact_attraction(x: torch.Tensor, bank: PositiveBank, kernel, block: int = 65536):
    """V+ over all M bank rows by a running log-sum-exp over bank blocks: x [B,N,D] -> [B,N,D]."""
    b, n, d = x.shape
    xf = x.float().reshape(1, b * n, d)
    top = xf.new_full((1, b * n, 1), -math.inf)
    den, num = xf.new_zeros(1, b * n, 1), xf.new_zeros(1, b * n, d)
    for y in bank.blocks(block, x.device):
        logits = kernel.log_profile(cdist(xf, y[None]))                 # [1, BN, m]
        new = torch.maximum(top, logits.amax(-1, keepdim=True))
        old, e = (top - new).exp(), (logits - new).exp()
        den, num, top = den * old + e.sum(-1, keepdim=True), num * old + e @ y, new
    return (num / den - xf).reshape(b, n, d)


@torch.no_grad()
def exact_split(x, bank: PositiveBank, neg=None, *, kernel, x_w=None, neg_w=None,
                self_negatives: bool = True, block: int = 65536) -> torch.Tensor:
    """The split field with every bank row a positive (weight 1), streamed; V [B, N, D]."""
    x = x.float()
    t = assemble(x, x[:, :0], neg, x_w, None, neg_w, self_negatives)
    v_pos = exact_attraction(x, bank, kernel, block)
    return v_pos if t.neg.shape[1] == 0 else v_pos - repulsion(x, t, kernel)


def _affinity(logits, row_lse, floor: float) -> torch.Tensor:
    """meanshift's sqrt(rowsoftmax * colsoftmax), floored, given the full row normaliser."""
    log_a = logits - 0.5 * (row_lse + torch.logsumexp(logits, -2, keepdim=True))
    return (log_a.clamp(min=0.5 * math.log(floor)) if floor > 0 else log_a).exp()


@torch.no_grad()
def exact_meanshift(x, bank: PositiveBank, neg=None, *, kernel, x_w=None, neg_w=None,
                    self_negatives: bool = True, affinity_floor: float = 1e-6,
                    block: int = 65536) -> torch.Tensor:
    """``meanshift`` with every bank row a positive, in two streamed passes; V [B, N, D]."""
    x = x.float()
    t = assemble(x, x[:, :0], neg, x_w, None, neg_w, self_negatives)
    l_neg = kernel.log_profile(cdist(x, t.neg))
    mask = t.self_mask(x.shape[1])
    l_neg = l_neg if mask is None else l_neg.masked_fill(mask, SELF_MASK)
    bank_logits = lambda y: kernel.log_profile(cdist(x, y[None].expand(x.shape[0], -1, -1)))
    row = torch.logsumexp(l_neg, -1, keepdim=True)
    for y in bank.blocks(block, x.device):
        row = torch.logaddexp(row, torch.logsumexp(bank_logits(y), -1, keepdim=True))
    s_pos, acc = x.new_zeros(*x.shape[:2], 1), torch.zeros_like(x)
    for y in bank.blocks(block, x.device):
        a = _affinity(bank_logits(y), row, affinity_floor)
        s_pos, acc = s_pos + a.sum(-1, keepdim=True), acc + a @ y
    a_neg = _affinity(l_neg, row, affinity_floor) * t.neg_w[:, None, :]
    v_pos = acc - s_pos * x
    return a_neg.sum(-1, keepdim=True) * v_pos - s_pos * pull(a_neg, t.neg, x)
