"""Plug-in for results/toy_degradation.md sec. 15 (not a zoo component: measured, not adopted).

``split_gated_self``: ``split`` where the self-pair of ``split_self`` is kept only for samples
with less than ``GATE`` data points' worth of kernel mass around them,

    V(x_i) = split(x_i) + g_i s_i V-_loo(x_i),   g_i = [sum_p k(x_i, y_p) < GATE]   (k(0) = 1)

i.e. the pull of sec. 9 only where the data are absent at the kernel's resolution (a stray),
not where they are merely thin. GATE = 0.3: the 1% quantile of that mass over the thin
pinwheel's hits (sec. 15). Shapes: x [B,N,D], pos [B,P,D], neg [B,Q,D] -> V [B,N,D].

    drift-zoo --import results/toy_gated_self.py train --gin_file gin/experiments/toy.gin \
        --gin_param 'train.dataset = @graded_spiral()' --gin_param 'train.eval_samples = 16384' \
        --gin_param 'train.field = @split_gated_self'
"""
import torch
from zoo.fields import assemble, pull, repulsion, row_normalise
from zoo.kernels import cdist
from zoo.registry import register

GATE = 0.3


@register("field", "split_gated_self")
@torch.no_grad()
def split_gated_self(x, pos, neg=None, *, kernel, x_w=None, pos_w=None, neg_w=None,
                     self_negatives=True):
    x = x.float()
    t = assemble(x, pos, neg, x_w, pos_w, neg_w, self_negatives)
    logits = kernel.log_profile(cdist(x, t.pos))                                  # [B,N,P]
    v_pos = pull(row_normalise(logits, t.pos_w), t.pos, x)                        # V+, once
    if t.neg.shape[1] == 0:
        return v_pos
    gated = logits.exp().sum(-1, keepdim=True) < GATE                             # [B,N,1]
    return v_pos - torch.where(gated, repulsion(x, t, kernel, keep_self=True),
                               repulsion(x, t, kernel))
