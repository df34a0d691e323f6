"""The drift as a difference of smoothed scores (Lai et al. 2026).

    p~(x) = sum_p w_p k(x, y_p) / sum_p w_p,      q~(x) likewise over the negatives,
    V(x)  = tau^2 (grad log p~(x) - grad log q~(x))                 (normalize = "tau2", default)

With the Gaussian kernel p~ is the kernel density estimate of p * N(0, tau^2 I) (up to a
constant that the gradient ignores), so V converges to tau^2 times the difference of the
Gaussian-smoothed scores as the sample count grows, and it equals ``split`` exactly. For any
other positive kernel it is computed from the kernel's log profile in the same way: the
gradient of log of the kernel sum E_p k(x, .) (the smoothed density p * k when k is integrable
-- laplace, matern; for imq and cauchy in D >= 2 it is not, but the kernel sum and its log
gradient are still well defined), i.e. tau^2 times ``kernel_gradient``, and no longer ``split``.

``normalize`` says what the score difference is multiplied or divided by:

    "tau2"  V = tau^2 (grad log p~ - grad log q~)      units of length; = split for the Gaussian
    "none"  V = grad log p~ - grad log q~              the raw score difference (1 / length)
    "rms"   V = d / sqrt(mean_{n,d} d^2) per group b   unit RMS over each group's N x D entries
                                                       (a zero field stays zero)

The generated batch x is among the negatives (self-pairs masked) unless self_negatives=False.
Needs log k: a kernel with ``positive = False`` (energy) raises ValueError.
Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D].
"""
from __future__ import annotations

import torch

from zoo.fields import assemble
from zoo.fields.kernel_gradient import grad_log_sum
from zoo.kernels import require_log
from zoo.registry import register

NORMALIZE = ("tau2", "none", "rms")


@register("field", "score_difference")
@torch.no_grad()
def score_difference(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
                     self_negatives: bool = True, normalize: str = "tau2") -> torch.Tensor:
    """tau^2 (grad log p~ - grad log q~), or the raw / unit-RMS difference; see the docstring."""
    if normalize not in NORMALIZE:
        raise ValueError(f"score_difference.normalize must be one of {NORMALIZE}, got '{normalize}'")
    require_log(kernel, "score_difference")
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    d = grad_log_sum(x, t.pos, t.pos_w, kernel)
    d = d - grad_log_sum(x, t.neg, t.neg_w, kernel, t.self_mask(x.shape[1]))
    if normalize == "tau2":
        return kernel.tau**2 * d
    if normalize == "rms":
        return d / d.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp(min=1e-30)
    return d


score_difference.needs_logk = True
