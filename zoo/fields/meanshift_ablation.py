"""The mean-shift drift with the knobs of the paper's ablations (Deng et al. 2026, arXiv
2602.04770, Table 1 and Table 11): attraction and repulsion scales and the kernel normalisation.

    V(x_n) = a S-_n sum_{m in pos} A_nm (y_m - x_n)  -  b S+_n sum_{m in neg} A_nm (y_m - x_n)

with A as in zoo/fields/meanshift.py (Alg. 2; release lambertae/drifting ``drift_loss.py``):

    normalise = "both"   A = sqrt(rowsoftmax * colsoftmax)     (the paper's default)
    normalise = "rows"   A = rowsoftmax (over the targets y only)
    normalise = "none"   A = k(x, y) (the raw kernel)

Table 1 varies (a, b): (1, 1) is the anti-symmetric default, (1.5, 1), (1, 1.5), (2, 1),
(1, 2) and "V+ only" (1, 0). With a = b = 1 and ``normalise="both"`` this is ``meanshift``
exactly. Only a = b keeps V_{p,q} = -V_{q,p} and V = 0 at p = q (Prop. 3.1): the point of the
ablation. It runs through the dense per-temperature path of ``zoo.drift`` (no tiles).
Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D].
"""
from __future__ import annotations

import torch

from zoo.fields.meanshift import meanshift_terms
from zoo.registry import register


@register("field", "meanshift_ablation")
@torch.no_grad()
def meanshift_ablation(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
                       self_negatives: bool = True, affinity_floor: float = 1e-6,
                       attraction: float = 1.0, repulsion: float = 1.0,
                       normalise: str = "both") -> torch.Tensor:
    """a V+ - b V- with the kernel normalised over both axes, the targets only, or not at all."""
    attract, repel = meanshift_terms(x, pos, neg, kernel, x_w, pos_w, neg_w, self_negatives,
                                     affinity_floor, normalise)
    return float(attraction) * attract - float(repulsion) * repel
