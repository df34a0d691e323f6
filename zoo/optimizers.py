"""Optimizers for the generator (``train.optimizer``), one registered factory each.

    adam    Kingma & Ba 2015; ``weight_decay`` is an L2 term added to the gradient
    adamw   Loshchilov & Hutter 2019, decoupled weight decay  w <- w - lr * wd * w
            (the release's optimizer: optax.adamw in lambertae/drifting ``train.py``)

Each is ``factory(params, *, lr, betas, weight_decay) -> torch.optim.Optimizer``; the trainer
passes ``train.lr``, ``train.betas`` and ``train.weight_decay``, and scales the lr of every
param group by ``train.lr_schedule`` each step.
"""
from __future__ import annotations

import torch

from zoo.registry import register


@register("optimizer", "adam")
def adam(params, *, lr: float, betas=(0.9, 0.999), weight_decay: float = 0.0):
    """Adam (Kingma & Ba 2015); ``weight_decay`` is an L2 term added to the gradient."""
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)


@register("optimizer", "adamw")
def adamw(params, *, lr: float, betas=(0.9, 0.999), weight_decay: float = 0.0):
    """AdamW (Loshchilov & Hutter 2019): decoupled weight decay, the release's optimizer."""
    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)
