"""The textbook split drift V = V+ - V- with row-normalised kernels (Deng et al. 2026, Eq. 8-10).

    V(x) = sum_p k(x,y_p) w_p (y_p - x) / sum_p k(x,y_p) w_p
         - sum_q k(x,y_q) w_q (y_q - x) / sum_q k(x,y_q) w_q

Anti-symmetric by construction (swap positives and negatives: V -> -V) and zero when p = q,
in expectation only when P = Q: each row-normalised mean carries a finite-sample (ratio) bias
that shrinks with its count and is largest where the density is thin, and the two cancel only
for equal counts. The ratio P / Q is therefore a precision-recall knob: more positives push
mass outward where the data are thin (tests/test_field_noise.py; results/toy_degradation.md
sec. 11; digits.gin uses 2:1 for recall), more negatives pull it inward.
With the Gaussian kernel of bandwidth tau it is tau^2 (grad log p~ - grad log q~) for the
kernel-smoothed densities p~ = p * N(0, tau^2 I) (Lai et al. 2026). No column softmax, no floor.
Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D].
"""
from __future__ import annotations

import torch

from zoo.fields import assemble, pull, repulsion, row_normalise
from zoo.kernels import cdist
from zoo.registry import register


@register("field", "split")
@torch.no_grad()
def split(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
          self_negatives: bool = True) -> torch.Tensor:
    """Row-normalised attraction minus row-normalised repulsion; see the module docstring."""
    x = x.float()
    return split_targets(x, assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives), kernel)


def split_targets(x, t, kernel, keep_self: bool = False) -> torch.Tensor:
    """V+ - V- [B,N,D] for x [B,N,D] (float) and assembled targets t (``zoo.fields.assemble``);
    ``keep_self``: x_i's own pair stays in its repulsion (``split_self``)."""
    v_pos = pull(row_normalise(kernel.log_profile(cdist(x, t.pos)), t.pos_w), t.pos, x)
    return v_pos if t.neg.shape[1] == 0 else v_pos - repulsion(x, t, kernel, keep_self)
