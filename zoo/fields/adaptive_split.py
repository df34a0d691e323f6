"""``split`` with a per-sample temperature floor at the local sample spacing (issue 16).

    r_n   = max(r_k(x_n; positives), r_k(x_n; negatives))   distance to the k-th nearest
                                                            positive / negative (self excluded)
    tau_n = max(tau, spacing * r_n)
    V(x_n) = sum_p k_n(x_n,y_p) w_p (y_p - x_n) / sum_p k_n w_p
           - sum_q k_n(x_n,y_q) w_q (y_q - x_n) / sum_q k_n w_q,   k_n(r) = k(r tau / tau_n)

Why: the row-normalised kernel sum is a Nadaraya-Watson estimate, and where the data are thin
(the ends of a pinwheel arm, the tail of a heavy-tailed curve) a temperature below the sample
spacing makes it a nearest-neighbour pick: zero mean at q = p, but a per-sample noise as large
as the spacing (16x the arm's middle at tau = 0.03 mean distances on ``thin_pinwheel``;
results/toy_degradation.md). With a constant learning rate the generator keeps following that
noise, most where the data are thinnest, and gets worse the longer it trains (toy.gin now
decays the learning rate instead, which fixes it without this floor's precision cost). The floor
keeps at least ~k samples of each set inside every sample's kernel, so the estimate's noise
stays a fraction of its bandwidth everywhere; where the data are dense (r_n < tau / spacing)
it is ``split`` exactly.

Both spacings enter symmetrically, so V_{p,q} = -V_{q,p} (anti-symmetric) and V = 0 when the
positives are the negatives; each row uses one tau_n for both terms, so E[V] = 0 at q = p as
for ``split``. The kernel must be a function of r / tau (laplace, gaussian, imq, cauchy,
matern): k_n is the kernel at temperature tau_n. Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D]
-> V [B,N,D]; with fewer than k samples in a set its farthest sample sets r.
"""
from __future__ import annotations

import torch

from zoo.fields import SELF_MASK, assemble, pull, row_normalise
from zoo.kernels import cdist
from zoo.registry import register


def kth_distance(d: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th smallest of every row of distances d [B,N,M] (inf entries skipped) -> [B,N,1]."""
    k = max(1, min(int(k), d.shape[-1]))
    return torch.topk(d, k, dim=-1, largest=False).values[..., -1:]


def row_temperatures(d_pos: torch.Tensor, d_neg: torch.Tensor, tau: float, k: int,
                     spacing: float) -> torch.Tensor:
    """tau_n [B,N,1] = max(tau, spacing * max(r_k(pos), r_k(neg))); d_neg has self at inf."""
    r = kth_distance(d_pos, k)
    if d_neg.shape[-1]:
        r = torch.maximum(r, kth_distance(d_neg, k))
    return torch.clamp(spacing * r, min=tau)


@register("field", "adaptive_split")
@torch.no_grad()
def adaptive_split(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
                   self_negatives: bool = True, k: int = 8,
                   spacing: float = 1.0) -> torch.Tensor:
    """Split drift with tau_n = max(tau, spacing * r_k(x_n)); see the module docstring."""
    if int(k) < 1 or not spacing >= 0:
        raise ValueError(f"adaptive_split needs k >= 1 and spacing >= 0, got k={k}, "
                         f"spacing={spacing}; e.g. adaptive_split.k = 8")
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    d_pos, d_neg = cdist(x, t.pos), cdist(x, t.neg)
    mask = t.self_mask(x.shape[1])
    if mask is not None:
        d_neg = d_neg.masked_fill(mask, float("inf"))
    shrink = kernel.tau / row_temperatures(d_pos, d_neg, kernel.tau, k, spacing)  # [B,N,1]
    v = pull(row_normalise(kernel.log_profile(d_pos * shrink), t.pos_w), t.pos, x)
    if t.neg.shape[1] == 0:
        return v
    logits = kernel.log_profile(d_neg * shrink)
    if mask is not None:
        logits = logits.masked_fill(mask, SELF_MASK)
    return v - pull(row_normalise(logits, t.neg_w), t.neg, x)
