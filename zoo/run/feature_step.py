"""The training step in feature space: drift through a frozen encoder phi (``train.encoder``).

    x = f(z) as images;  feats = phi(x) (gradients reach f);  phi(y+), phi(y-) under no_grad
    loss = mean_b feature_drift_loss(feats, phi(y+), phi(y-))      (zoo.features: sum over sets)

Deng et al. 2026 (drifting in the feature space of a frozen encoder). The drift target is
rebuilt inside every feature_drift_loss call, so an encoder run takes one optimizer step per
target: ``train.inner_steps = 1`` (checked before training). Shapes: rows [B, M, D] are
images [B*M, C, H, W] of ``dataset.shape``; feature sets {name: [B, M, L, C]}.
"""
from __future__ import annotations

import math

import torch

from zoo.features import feature_drift_loss
from zoo.registry import name_of


def check_encoder(encoder, dataset, inner_steps):
    """The frozen encoder module (a gin class reference is built), or None; ValueError when the
    dataset has no image shape or ``inner_steps`` != 1 (the target is not reusable)."""
    if encoder is None:
        return None
    if not isinstance(encoder, torch.nn.Module):
        encoder = encoder()  # train.encoder = @identity (a class) rather than @identity()
    shape = getattr(dataset, "shape", None)
    if shape is None or math.prod(shape) != dataset.dim:
        raise ValueError(f"train.encoder = {name_of(encoder)} needs an image dataset (shape = "
                         f"(C, H, W) with C*H*W = dim); dataset '{dataset.name}' has shape "
                         f"{shape} and dim {dataset.dim}. Unset train.encoder for point data")
    if inner_steps != 1:
        raise ValueError(f"train.inner_steps must be 1 with train.encoder (the feature drift "
                         f"target is rebuilt every step and not reused), got {inner_steps}")
    return encoder.eval().requires_grad_(False)


def features(encoder, rows: torch.Tensor, shape) -> dict:
    """{name: [B, M, L, C]} = encoder(rows [B, M, D] as images [B*M, C, H, W])."""
    b, m = rows.shape[:2]
    feats = encoder(rows.reshape(b * m, *shape))
    return {name: f.reshape(b, m, *f.shape[1:]) for name, f in feats.items()}


def loss(x, pos, neg, neg_w, *, encoder, shape, field, kernel,
         temperatures) -> tuple[torch.Tensor, dict]:
    """(mean feature drift loss, float stats) through the frozen ``encoder``.

    x [B, G, D] generated rows (with gradients), pos [B, P, D], neg [B, Q, D] or None: rows of
    ``shape`` (C, H, W) images; positives and negatives go through the encoder under no_grad.
    Stats: ``drift_rms`` (root sum of squares over sets) and every set's ``<set>/<stat>``.
    """
    feats = features(encoder, x, shape)
    with torch.no_grad():
        pos_feats = features(encoder, pos, shape)
        neg_feats = None if neg is None else features(encoder, neg, shape)
    total, stats = feature_drift_loss(feats, pos_feats, neg_feats, neg_w=neg_w, field=field,
                                      kernel=kernel, temperatures=temperatures)
    stats = {key: float(v) for key, v in stats.items()}
    stats["drift_rms"] = math.sqrt(sum(v * v for key, v in stats.items()
                                       if key.endswith("/drift_rms")))
    return total.mean(), stats
