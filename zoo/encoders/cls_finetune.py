r"""The classification fine-tune of the MAE encoder (Deng et al. 2026, App. A.3: "cls fine-tune
3k steps on lambda CE + (1 - lambda) recon, lambda 0 -> 0.1 over 1k"; Table 3: + cls ft takes
FID 4.28 -> 3.36), run by ``drift-zoo train-encoder --cls_steps K`` after the masked
reconstruction:

    loss_t   = lambda_t * CE(head(GAP(last block of net(x))), c) + (1 - lambda_t) * recon(x, mask)
    lambda_t = w * min(1, t / W)        t = 0 .. K-1 (fine-tune step), w = --cls_weight,
                                        W = --cls_warmup (lambda_t = w from the start when W = 0)

with c the dataset's class of each image (the encoder learns from the data's labels with its
*own* linear head, never from an evaluator) and ``recon`` the masked-reconstruction loss of the
pre-training (same masks, same decoder, which keeps training). The head is a linear layer on
the global average pool of the encoder's last block output (``blocks['layerK'][-1]`` of
``zoo.encoders.mae.ResNet``, [N, C_K, H_K, W_K] -> [N, C_K] -> [N, num_classes]), initialised
N(0, 0.01^2) weights and zero bias, as the release's head (lambertae/drifting
``torch/models/mae_model.py``, ``MAEResNetPyTorch.cls_head`` on ``tokens.mean(dim=1)`` of the
last stage, a torchvision ResNet's ``layer4`` output). It pools the block output, not the
GroupNorm'd ``layerK`` map: where that map is 1x1 with one channel per group (8x8 digits) the
norm makes it a constant. Like the release, the CE sees the encoder's features of the
*unmasked* image (the features the drift uses); the reconstruction sees the masked one. The head and the
decoder are dropped on save, so the saved state dict loads with ``mae.path`` unchanged.
(The release's torch port adds ``lambda * CE`` to the full reconstruction loss; the paper's
convex combination is used here.)
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from zoo.encoders.mae import gn_groups


def cls_lambda(t: int, weight: float, warmup: int) -> float:
    """lambda_t = weight * min(1, t / warmup) at fine-tune step t >= 0 (weight when warmup = 0)."""
    return float(weight) if warmup <= 0 else float(weight) * min(1.0, t / warmup)


class ClsHead(nn.Module):
    """Linear head on the global average pool of the last block output -> logits [N, K]."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    @staticmethod
    def features(net, x: torch.Tensor) -> torch.Tensor:
        """net: a ``ResNet``; x [N, C p^2, H', W'] (space-to-depth input) -> pooled [N, C_K]."""
        _, blocks = net.encode(x)
        return list(blocks.values())[-1][-1].mean(dim=(2, 3))   # GAP of [N, C_K, H_K, W_K]

    def forward(self, net, x: torch.Tensor) -> torch.Tensor:
        """net: a ``ResNet``; x [N, C p^2, H', W'] -> logits [N, num_classes]."""
        return self.fc(self.features(net, x))


def check_features(net, x: torch.Tensor) -> None:
    """Raise ValueError when the last block output of x [N, C p^2, H', W'] is 1x1 with one
    channel per GroupNorm group: every conv-GN there outputs its bias, so the pooled features
    are the same for every image and no head can learn from them."""
    with torch.no_grad():
        _, blocks = net.encode(x[:2])
    _, c, h, w = list(blocks.values())[-1][-1].shape
    if h * w == 1 and gn_groups(c) == c:
        raise ValueError(f"cls fine-tune: the encoder's last block output ({c} channels, 1x1) "
                         f"is the same for every image (a 1x1 map normalised per channel), so "
                         f"its own head cannot learn; use fewer --layers (a last map of at "
                         f"least 2x2) or more --base_channels (over 32 channels in the last "
                         f"stage)")


def head_accuracy(net, head: ClsHead, x: torch.Tensor, labels: torch.Tensor,
                  batch: int = 512) -> float:
    """Fraction of x [N, C p^2, H', W'] (space-to-depth input) whose argmax logit is labels [N]."""
    hits = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = head(net, x[i:i + batch])
            hits += int((logits.argmax(dim=1) == labels[i:i + batch]).sum())
    return hits / max(len(x), 1)


def cls_finetune(net, head: ClsHead, opt: torch.optim.Optimizer,
                 batches: Callable[[], tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
                 recon_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 steps: int, weight: float, warmup: int,
                 on_step: Callable[[int, float], None] | None = None) -> None:
    """``steps`` optimiser steps on the module docstring's loss. ``batches()`` gives
    (x [B, C p^2, H', W'], labels [B] int64, mask [B, 1, H', W']); ``recon_loss(x, mask)`` is
    the pre-training's masked loss; ``opt`` must hold the head's parameters too;
    ``on_step(t, recon)`` is called after each step with the step's reconstruction loss."""
    for t in range(steps):
        x, labels, mask = batches()
        lam = cls_lambda(t, weight, warmup)
        recon = recon_loss(x, mask)
        ce = nn.functional.cross_entropy(head(net, x), labels)
        loss = lam * ce + (1.0 - lam) * recon
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if on_step is not None:
            on_step(t, recon.item())
