"""The field on the k nearest positives of a large bank: union and per-row truncation.

The split field's attraction (Deng et al. 2026, Eq. 8-10) over a bank Y of M rows,

    V+(x) = sum_{m<=M} k(x, y_m) (y_m - x) / sum_{m<=M} k(x, y_m),

is dominated by the nearest y_m for a kernel that decays with distance, so it is computed on
kNN(x), the k nearest bank rows from the bank's FAISS index (``zoo.positives.faiss_bank.PositiveBank``).
Two truncations:

    union    P'(group) = U_{n<=N} kNN(x_n)  (deduplicated, P' <= N k), then any registered field
             unchanged: ``field(x, pos=Y[P'], neg, pos_w=...)`` (``knn_positives``). Each x_n
             sees a superset of its own kNN, so its error is never larger than per-row's; fields
             with a column normaliser (meanshift's softmax over generated rows) keep their
             coupling: every kept bank row's column sum over n is exact.
    per-row  V+(x_n) on kNN(x_n) alone: O(N k D) after the query instead of O(N P' D), for the
             row-normalised split field only (``knn_split``); the repulsion stays exact.

``banks`` is one bank for every group, or a dict / list class -> bank with ``classes`` [B].
Shapes: x [B, N, D]; union: pos [B, P', D], pos_w [B, P']; per-row: y [B, N, k, D],
w [B, N, k]; V [B, N, D].
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from zoo.positives.faiss_bank import PositiveBank
from zoo.fields import assemble, pull, repulsion, row_normalise
from zoo.kernels import cdist


def _bank_of(banks, classes, b: int) -> PositiveBank:
    if isinstance(banks, PositiveBank):
        return banks
    if classes is None:
        raise ValueError("per-class banks need classes [B] (the class of each group)")
    c = int(classes[b])
    if c not in (banks if isinstance(banks, Mapping) else range(len(banks))):
        known = sorted(banks) if isinstance(banks, Mapping) else f"0..{len(banks) - 1}"
        raise ValueError(f"no positive bank for class {c}; the banks hold classes {known}")
    return banks[c]


def knn_positives(banks: PositiveBank | Mapping | Sequence, x: torch.Tensor, k: int,
                  classes=None):
    """Union of the k nearest bank rows of every x row, per group -> (pos [B, P', D], pos_w [B, P']).

    x [B, N, D]; ``banks`` one bank for every group or a dict / list class -> bank with
    ``classes`` [B]. Rows are deduplicated (each bank row counts once, as in the full bank) and
    in bank order; groups with fewer than P' rows are padded with copies of their first row at
    weight 0 (exactly ignored by fields that weight the kernel, e.g. split; meanshift's
    unweighted softmax normalisers still see them). Pass both to the field / drift step.
    """
    b, _, d = x.shape
    pos = []
    for g in range(b):
        bank = _bank_of(banks, classes, g)
        _, idx = bank.search(x[g], k)                                    # [N, k]
        pos.append(bank.rows(torch.unique(idx[idx >= 0]), x.device))    # [P'_g, D]
    width = max(len(rows) for rows in pos)
    pos_w = x.new_zeros(b, width)
    out = x.new_empty(b, width, d)
    for g, rows in enumerate(pos):
        out[g, : len(rows)], pos_w[g, : len(rows)] = rows, 1.0
        out[g, len(rows):] = rows[:1]
    return out, pos_w


def knn_rows(banks, x: torch.Tensor, k: int, classes=None):
    """Each x row's own k nearest bank rows -> (y [B, N, k, D], w [B, N, k]); w = 0 where an
    approximate index found fewer than k (y is then a copy of row 0)."""
    ys, ws = [], []
    for g in range(x.shape[0]):
        bank = _bank_of(banks, classes, g)
        _, idx = bank.search(x[g], k)                                    # [N, k]
        ys.append(bank.rows(idx.clamp(min=0), x.device))
        ws.append((idx >= 0).float())
    return torch.stack(ys), torch.stack(ws)


@torch.no_grad()
def per_row_split(x, y, w, neg=None, *, kernel, x_w=None, neg_w=None,
                  self_negatives: bool = True) -> torch.Tensor:
    """split whose attraction for x_n runs over its own rows y[:, n] only; V [B, N, D].

    x [B, N, D], y [B, N, k, D], w [B, N, k] (from ``knn_rows``), neg [B, Q, D] or None; the
    repulsion (x itself and neg) is exact, as in ``split``.
    """
    x = x.float()
    b, n, d = x.shape
    xr, yr = x.reshape(b * n, 1, d), y.reshape(b * n, -1, d)
    a = row_normalise(kernel.log_profile(cdist(xr, yr)), w.reshape(b * n, -1))  # [BN, 1, k]
    v_pos = pull(a, yr, xr).reshape(b, n, d)
    t = assemble(x, x[:, :0], neg, x_w, None, neg_w, self_negatives)
    return v_pos if t.neg.shape[1] == 0 else v_pos - repulsion(x, t, kernel)


def knn_split(x, banks, neg=None, *, kernel, k: int, classes=None, **kw) -> torch.Tensor:
    """``per_row_split`` on ``knn_rows(banks, x, k, classes)``: one query, then the field."""
    return per_row_split(x, *knn_rows(banks, x, k, classes), neg, kernel=kernel, **kw)
