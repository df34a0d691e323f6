"""Drift fields V_{p,q}(x): one file per field family, all with the same signature.

    V = field(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
              self_negatives=True, **knobs)

x [B, N, D] generated, pos [B, P, D] positives (data), neg [B, Q, D] extra negatives or
None, weights [B, N] / [B, P] / [B, Q] (default 1); returns V [B, N, D]. As in the release,
the generated batch x is itself among the negatives (self-pairs masked) unless
``self_negatives=False``, which lets identities be tested against independent negatives.
Fields run without autograd in float32 and are deterministic.

A field that is not anti-symmetric (V_{p,q} != -V_{q,p}, e.g. transport fields whose
potentials depend on which side is which) says so with ``fn.antisymmetric = False``; the
registry-wide tests then skip only that identity. A field that works with kernels that have
no log (``energy``) says ``fn.needs_logk = False``; the others reject them with a clear error. Every module in this package is imported
(and so registered) by ``import zoo``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from zoo.kernels import cdist

SELF_MASK = -1e30  # logit for a masked self-pair: exp() underflows to exactly 0


@dataclass
class Targets:
    """Negatives and positives assembled for one field call.

    neg [B, Q', D] (x first when self_negatives, then the extra negatives), neg_w [B, Q'],
    pos [B, P, D], pos_w [B, P], n_self = N when x leads the negatives else 0.
    """

    neg: torch.Tensor
    neg_w: torch.Tensor
    pos: torch.Tensor
    pos_w: torch.Tensor
    n_self: int

    def self_mask(self, n: int) -> torch.Tensor | None:
        """[N, Q'] boolean mask of the self-pairs (x_i, x_i), or None."""
        if not self.n_self:
            return None
        mask = torch.zeros(n, self.neg.shape[1], dtype=torch.bool, device=self.neg.device)
        mask[:, : self.n_self] = torch.eye(n, dtype=torch.bool, device=self.neg.device)
        return mask


def _weights(w: torch.Tensor | None, like: torch.Tensor, what: str) -> torch.Tensor:
    b, n = like.shape[:2]
    if w is None:
        return like.new_ones(b, n)
    if w.shape != (b, n):
        raise ValueError(f"{what} weights have shape {tuple(w.shape)}, expected {(b, n)}")
    return w.float()


def check_inputs(x, pos, neg) -> None:
    """Raise ValueError unless x [B,N,D], pos [B,P,D], neg [B,Q,D] or None agree."""
    for name, t in (("x", x), ("pos", pos), ("neg", neg)):
        if t is not None and t.dim() != 3:
            raise ValueError(f"field input {name} must be [B, N, D], got shape {tuple(t.shape)}")
    b, _, d = x.shape
    for name, t in (("pos", pos), ("neg", neg)):
        if t is not None and (t.shape[0] != b or t.shape[2] != d):
            raise ValueError(f"field input {name} has shape {tuple(t.shape)}; it must share "
                             f"B={b} and D={d} with x {tuple(x.shape)}")


def assemble(x, pos, neg=None, x_w=None, pos_w=None, neg_w=None,
             self_negatives: bool = True) -> Targets:
    """Gather negatives (x itself first, when asked) and positives, with their weights."""
    check_inputs(x, pos, neg)
    negs, ws = [], []
    if self_negatives:
        negs.append(x.float())
        ws.append(_weights(x_w, x, "x"))
    if neg is not None:
        negs.append(neg.float())
        ws.append(_weights(neg_w, neg, "neg"))
    if not negs:
        negs, ws = [x.new_zeros(x.shape[0], 0, x.shape[2])], [x.new_zeros(x.shape[0], 0)]
    return Targets(torch.cat(negs, 1), torch.cat(ws, 1), pos.float(),
                   _weights(pos_w, pos, "pos"), x.shape[1] if self_negatives else 0)


def row_normalise(logits: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted row softmax: w_m exp(l_nm) / sum_m w_m exp(l_nm); logits [B,N,M], w [B,M]."""
    if logits.shape[-1] == 0:
        return logits
    a = torch.softmax(logits, dim=-1) * w[:, None, :]
    return a / a.sum(-1, keepdim=True).clamp(min=1e-30)


def pull(a: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """sum_m a_nm (y_m - x_n): a [B,N,M], y [B,M,D], x [B,N,D] -> [B,N,D]."""
    return a @ y - a.sum(-1, keepdim=True) * x


def repulsion(x: torch.Tensor, t: Targets, kernel, keep_self: bool = False) -> torch.Tensor:
    """V- = sum_q k(x,y_q) w_q (y_q - x) / sum_q k(x,y_q) w_q, self-pairs masked -> [B,N,D];
    ``keep_self`` (``split_self``) keeps them, at distance exactly 0."""
    d = cdist(x, t.neg)
    mask = t.self_mask(x.shape[1])
    if mask is not None and keep_self:
        d = d.masked_fill(mask, 0.0)
    logits = kernel.log_profile(d)
    if mask is not None and not keep_self:
        logits = logits.masked_fill(mask, SELF_MASK)
    return pull(row_normalise(logits, t.neg_w), t.neg, x)


from zoo.registry import import_all  # noqa: E402

import_all(__name__, __path__, globals())  # every module registers itself
