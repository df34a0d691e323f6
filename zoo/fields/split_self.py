"""``split`` with each generated sample's own pair kept in its repulsion (issue 16).

    V(x_i) = sum_p k(x_i,y_p) w_p (y_p - x_i) / sum_p k(x_i,y_p) w_p
           - sum_q k(x_i,y_q) w_q (y_q - x_i) / sum_q k(x_i,y_q) w_q    q over all of x (x_i
                                                                        itself included) and
                                                                        the extra negatives
           = split(x_i) + s_i V-_loo(x_i),
      s_i  = k(0) w_i / (k(0) w_i + sum_{q != i} k(x_i,y_q) w_q)   the self-pair's share

``split`` (and the release's ``drift_loss.py``, which adds a large constant to the diagonal of
the negative block; PAPER.md, Alg. 2) estimates the repulsion by leave-one-out: x_i is not its
own negative. Here the repulsion is the ordinary kernel estimate over the whole generated batch:
the self-pair (x_i - x_i = 0) adds k(0) w_i to the normaliser only, so the repulsion shrinks by
(1 - s_i). Where the batch is dense s_i ~ 1 / (number of samples within tau) and nothing
changes; a sample far from every other (a stray between the turns of a spiral) has s_i ~ 1, no
repulsion, and the full attraction V+ toward the nearest data. With leave-one-out V+ and V- of a
stray both point at the same stretch of the support and largely cancel (a stray between the
turns of ``graded_spiral`` moves 0.52 of its distance to the data per step at the toy default's
small temperature, 0.94 here; results/toy_degradation.md sec. 9).

The price is a bias: at q = p the field is s_i V+(x_i), a pull toward the local data mode,
largest where the batch is thin. It is neither anti-symmetric nor zero at p = q (with
``self_negatives=False``, x not among its negatives, it is ``split`` exactly). Measured in the
toy default (sec. 9, seed 0, 2000 steps): graded_spiral precision 0.940 -> 0.978 (the official
recipe 0.971), swiss roll 0.947 -> 0.966; but recall falls on every cloud, the pinwheel's arm
ends thin out (energy distance 0.00004 -> 0.00067) and unequal_rings drops its outer ring (10%
of the mass; 0.00017 -> 0.0081); on graded_spiral its energy distance grows 4.5x from 2000 to
8000 steps. Opt in with ``train.field = @split_self`` (toy_self.gin).
Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D]. The streaming and whole-matrix paths
(``zoo.drift``) run it as ``split`` over the targets [x; neg; pos] with no pair masked.
"""
from __future__ import annotations

import torch

from zoo.fields import assemble
from zoo.fields.split import split_targets
from zoo.registry import register


@register("field", "split_self")
@torch.no_grad()
def split_self(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
               self_negatives: bool = True) -> torch.Tensor:
    """Split drift whose repulsion counts x_i itself, at distance exactly 0; see the module
    docstring. With ``self_negatives=False`` (x not among its negatives) it is ``split``."""
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    return split_targets(x, t, kernel, keep_self=True)
