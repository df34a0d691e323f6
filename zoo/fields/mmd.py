"""The MMD flow field (Gretton et al. 2026, the MMD-flow reading of drifting; Coulomb GAN).

    V(x) = -grad_x ( E_q k(x, .) - E_p k(x, .) ) = E_p[grad_x k(x, y)] - E_q[grad_x k(x, y)]

E_p = sum_p w_p (.) / sum_p w_p and E_q likewise over the negatives; unnormalised (no division
by E k), so V is the force of the witness-function potential -- the Coulomb-GAN field. It
attracts to positives: for a kernel decreasing in r, grad_x k points from x toward y.

Self-pairs: the generated batch x (weights u) is among the negatives unless
self_negatives=False. Its self-pairs are masked out of the sums but their weight stays in
the normaliser W_q = sum u + sum w_neg (the V-statistic: grad_x k(x, x) = 0 for a radial
kernel). So, with MMD^2_V the V-statistic of q = {x (u); neg (w_neg)} against p,

    V(x_n) = -(W_q / (2 u_n)) grad_{x_n} MMD^2_V,      -(N/2) grad MMD^2_V for unit weights, no neg

(tests/test_fields.py asserts this). Any kernel works, through its value path
(grad_x k = value_radial_factor(r) (x - y), no [B, N, M, D] tensor), including ``energy``
k = -r / tau, with which MMD^2_V is the energy distance / tau and V is the energy-distance
flow (1/tau) (E_p (y - x)/|y - x| - E_q (y - x)/|y - x|). The field does not use log k
(``mmd.needs_logk = False``). Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D].
"""
from __future__ import annotations

import torch

from zoo.fields import assemble, pull
from zoo.kernels import cdist
from zoo.registry import register


def mean_grad(x, y, w, kernel, mask=None) -> torch.Tensor:
    """sum_m w_m grad_x k(x_n, y_m) / sum_m w_m, the pairs in ``mask`` left out of the sum only.

    x [B,N,D], y [B,M,D], w [B,M], mask [N,M] bool or None -> [B,N,D] (zeros when M = 0).
    """
    if y.shape[1] == 0:
        return torch.zeros_like(x)
    g = kernel.value_radial_factor(cdist(x, y))              # [B,N,M]
    if mask is not None:
        g = g.masked_fill(mask, 0.0)
    c = g * (w / w.sum(-1, keepdim=True).clamp(min=1e-30))[:, None, :]
    return -pull(c, y, x)                                    # sum_m c_nm (x_n - y_m)


@register("field", "mmd")
@torch.no_grad()
def mmd(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
        self_negatives: bool = True) -> torch.Tensor:
    """E_p grad k - E_q grad k (the MMD / Coulomb force); see the module docstring."""
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    v_pos = mean_grad(x, t.pos, t.pos_w, kernel)
    return v_pos - mean_grad(x, t.neg, t.neg_w, kernel, t.self_mask(x.shape[1]))


mmd.needs_logk = False
