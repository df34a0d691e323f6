"""The mean-shift drift of Deng et al. 2026 (arXiv 2602.04770), Algorithm 2, as the official
release (lambertae/drifting, ``drift_loss.py``) computes it.

With targets y = [negatives; positives], logits l_nm = log k(x_n, y_m) (self-pairs masked):

    A_nm   = sqrt( max( softmax_m(l)_nm * softmax_n(l)_nm , floor ) ) * w_m
    S+_n   = sum_{m in pos} A_nm,      S-_n = sum_{m in neg} A_nm
    V(x_n) = S-_n sum_{m in pos} A_nm (y_m - x_n)  -  S+_n sum_{m in neg} A_nm (y_m - x_n)

The column softmax runs over the generated samples (dim n). The release's floor is 1e-6 on
the product (so every affinity is at least 1e-3); ``affinity_floor=0`` is the community
ports' choice. Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D].
"""
from __future__ import annotations

import math

import torch

from zoo.fields import SELF_MASK, assemble, pull
from zoo.kernels import cdist
from zoo.registry import register


NORMALISATIONS = ("both", "rows", "none")  # Table 11: softmax over x and y / over y only / none


def affinity(logits: torch.Tensor, floor: float, normalise: str = "both") -> torch.Tensor:
    """sqrt(max(rowsoftmax * colsoftmax, floor)) in log space: one exp per entry, not three.

    log a = l - (lse_rows + lse_cols) / 2, clamped at log(floor) / 2. logits [B,N,M].
    ``normalise="rows"`` drops the column softmax (a = rowsoftmax), ``"none"`` both (a = k);
    the floor bounds a at sqrt(floor) in every case.
    """
    if normalise not in NORMALISATIONS:
        raise ValueError(f"normalise must be one of {NORMALISATIONS}, got '{normalise}'")
    log_a = logits
    if normalise == "both":
        log_a = logits - 0.5 * (torch.logsumexp(logits, -1, keepdim=True)
                                + torch.logsumexp(logits, -2, keepdim=True))
    elif normalise == "rows":
        log_a = logits - torch.logsumexp(logits, -1, keepdim=True)
    if floor > 0:
        log_a = log_a.clamp(min=0.5 * math.log(floor))
    return log_a.exp()


def meanshift_terms(x, pos, neg, kernel, x_w=None, pos_w=None, neg_w=None,
                    self_negatives: bool = True, affinity_floor: float = 1e-6,
                    normalise: str = "both") -> tuple[torch.Tensor, torch.Tensor]:
    """(attraction, repulsion) [B,N,D] each: S-_n sum_pos A (y - x) and S+_n sum_neg A (y - x)."""
    if affinity_floor < 0:
        raise ValueError(f"meanshift.affinity_floor must be >= 0, got {affinity_floor}")
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    y = torch.cat([t.neg, t.pos], 1)                         # [B, Q'+P, D]
    w = torch.cat([t.neg_w, t.pos_w], 1)                     # [B, Q'+P]
    logits = kernel.log_profile(cdist(x, y))                 # [B, N, Q'+P]
    mask = t.self_mask(x.shape[1])
    if mask is not None:
        logits = logits.masked_fill(torch.nn.functional.pad(mask, (0, t.pos.shape[1])), SELF_MASK)
    a = affinity(logits, affinity_floor, normalise) * w[:, None, :]
    a_neg, a_pos = a.split([t.neg.shape[1], t.pos.shape[1]], dim=-1)
    s_neg, s_pos = a_neg.sum(-1, keepdim=True), a_pos.sum(-1, keepdim=True)
    return s_neg * pull(a_pos, t.pos, x), s_pos * pull(a_neg, t.neg, x)


@register("field", "meanshift")
@torch.no_grad()
def meanshift(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
              self_negatives: bool = True, affinity_floor: float = 1e-6) -> torch.Tensor:
    """Doubly normalised mean-shift drift; see the module docstring."""
    attract, repel = meanshift_terms(x, pos, neg, kernel, x_w, pos_w, neg_w, self_negatives,
                                     affinity_floor)
    return attract - repel
