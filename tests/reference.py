"""Independent float64 re-derivation of the official release's drift loss (numpy, loops over
temperatures, explicit differences instead of the Gram expansion). Used only by tests.

Follows lambertae/drifting ``drift_loss.py`` step by step: targets = [gen; neg; pos];
scale = weighted mean distance; coordinates / max(scale/sqrt(S), 1e-3); logits =
-(d/max(scale,1e-3) + 100 * [self]) / R; affinity = sqrt(max(rowsoftmax * colsoftmax, 1e-6)) * w;
force = S_neg * sum_pos a (y - x) - S_pos * sum_neg a (y - x); each R's force / its RMS; summed.
"""
import numpy as np


def _softmax(z, axis):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def official_goal_and_loss(gen, pos, neg=None, wg=None, wp=None, wn=None,
                           temps=(0.02, 0.05, 0.2), floor=1e-6):
    """Returns (goal in original coordinates [B,G,S], loss per group [B]) in float64."""
    gen, pos = np.asarray(gen, np.float64), np.asarray(pos, np.float64)
    b, g, s = gen.shape
    neg = np.zeros((b, 0, s)) if neg is None else np.asarray(neg, np.float64)
    wg = np.ones((b, g)) if wg is None else np.asarray(wg, np.float64)
    wp = np.ones(pos.shape[:2]) if wp is None else np.asarray(wp, np.float64)
    wn = np.ones(neg.shape[:2]) if wn is None else np.asarray(wn, np.float64)
    y = np.concatenate([gen, neg, pos], 1)
    w = np.concatenate([wg, wn, wp], 1)
    diff = gen[:, :, None, :] - y[:, None, :, :]
    dist = np.sqrt(np.maximum((diff**2).sum(-1), 1e-8))
    scale = (dist * w[:, None, :]).mean() / w.mean()
    c = max(scale / np.sqrt(s), 1e-3)
    dn = dist / max(scale, 1e-3)
    dn[:, np.arange(g), np.arange(g)] += 100.0
    n_neg = g + neg.shape[1]
    total = np.zeros_like(gen)
    for r in temps:
        logits = -dn / r
        a = np.sqrt(np.maximum(_softmax(logits, -1) * _softmax(logits, -2), floor)) * w[:, None, :]
        a_neg, a_pos = a[:, :, :n_neg], a[:, :, n_neg:]
        coeff = np.concatenate([-a_neg * a_pos.sum(-1, keepdims=True),
                                a_pos * a_neg.sum(-1, keepdims=True)], 2)
        force = np.einsum("bnt,bts->bns", coeff, y / c) - coeff.sum(-1)[..., None] * gen / c
        total += force / np.sqrt(max((force**2).mean(), 1e-8))
    goal = gen / c + total
    loss = ((gen / c - goal) ** 2).mean(axis=(1, 2))
    return goal * c, loss
