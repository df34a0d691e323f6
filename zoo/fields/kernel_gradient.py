"""Kernel-gradient drifting (Esteban-Casadevall et al. 2026): grad log k instead of y - x.

    V(x) = E_p[grad_x k(x, y)] / E_p[k(x, y)]  -  E_q[grad_x k(x, y)] / E_q[k(x, y)]
         = grad_x log sum_p w_p k(x, y_p)  -  grad_x log sum_q w_q k(x, y_q)

with weighted expectations (weights w_p, w_q) and, as everywhere, the generated batch x among
the negatives with its self-pairs (x_n, x_n) masked. For a radial kernel
grad_x log k = radial_factor(r) (x - y), so each term is sum_m a_nm radial_factor(r_nm)
(x_n - y_m) with a the weighted row softmax of log k -- two [B, N, M] matrices, never a
[B, N, M, D] tensor. With the Gaussian kernel radial_factor = -1/tau^2, so the field is
``split`` / tau^2; with laplace it is a softmax-weighted mean of unit vectors (y - x)/|y - x|,
divided by tau. Needs log k: a kernel with ``positive = False`` (energy) raises ValueError.
Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D].
"""
from __future__ import annotations

import torch

from zoo.fields import SELF_MASK, assemble, pull, row_normalise
from zoo.kernels import cdist, require_log
from zoo.registry import register


def grad_log_sum(x, y, w, kernel, mask=None) -> torch.Tensor:
    """grad_x log sum_m w_m k(x_n, y_m), the pairs in ``mask`` left out.

    x [B,N,D], y [B,M,D], w [B,M], mask [N,M] bool or None -> [B,N,D] (zeros when M = 0).
    """
    if y.shape[1] == 0:
        return torch.zeros_like(x)
    r = cdist(x, y)
    logits = kernel.log_profile(r)
    if mask is not None:
        logits = logits.masked_fill(mask, SELF_MASK)
    a = row_normalise(logits, w) * kernel.radial_factor(r)   # [B,N,M]; masked entries are 0
    return -pull(a, y, x)                                    # sum_m a_nm (x_n - y_m)


@register("field", "kernel_gradient")
@torch.no_grad()
def kernel_gradient(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
                    self_negatives: bool = True) -> torch.Tensor:
    """grad log of the positive kernel sum minus that of the negatives; see the module docstring."""
    require_log(kernel, "kernel_gradient")
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    v_pos = grad_log_sum(x, t.pos, t.pos_w, kernel)
    return v_pos - grad_log_sum(x, t.neg, t.neg_w, kernel, t.self_mask(x.shape[1]))


kernel_gradient.needs_logk = True
