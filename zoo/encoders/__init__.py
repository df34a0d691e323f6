"""Frozen feature encoders phi: images -> named feature sets, one file per encoder.

    feats = encoder(x) -> {name: [N, L, C]}        x [N, C, H, W] (or flat rows [N, C*H*W])

Every set is a bag of L "locations" of C-dimensional features per sample; the drift step
(``zoo.features.feature_drift_loss``) runs once per set with the L locations as independent
drift groups and sums the per-set losses. Encoders are frozen (eval mode, no parameter
gradients) but differentiable in their input, so the loss reaches the generator.

The multi-scale sets follow the drifting release (Deng et al. 2026, App. A; lambertae/drifting,
the JAX ``models/mae_model.py``: ``MAEResNetJAX.get_activations`` and
``build_activation_function``), for every feature map ``name`` of shape [N, C, H, W]:

    name              [N, H*W, C]          per-location features
    name_mean         [N, 1, C]            global mean over locations
    name_std          [N, 1, C]            global std, sqrt(var + 1e-6) (``safe_std``)
    name_mean_{s}     [N, H*W/s^2, C]      mean over each s x s patch (s in patch_mean_size,
    name_std_{s}      [N, H*W/s^2, C]      std of each s x s patch      only when s divides H, W)

plus the encoder input itself, ``global`` [N, 1, C*H*W] (the flattened image, one location),
and ``norm_x`` [N, 1, C] (per-channel RMS of the input, sqrt(mean_{h,w} x^2 + 1e-6)). Order:
``global``, ``norm_x``, then per map: location, mean, std, patch means, patch stds.

A std over a single element (``name_std`` of a 1 x 1 map) is the constant sqrt(1e-6) and is
left out (the release keeps it; only tiny inputs such as the 8x8 digits reach 1 x 1 maps).
Means are kept where they repeat another set (``name_mean_4`` of a 4 x 4 map = ``name_mean``),
as in the release.
The release flattens H, W, C (channels last); we flatten C, H, W: a fixed permutation of the
coordinates, so every distance and every drift is the same.

Every module of this package is imported by ``import zoo``; its registered class (file =
class = registry key = gin name, kind ``encoder``) is re-exported here.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

STD_EPS = 1e-6  # the release's safe_std / norm_x epsilon


def safe_std(x: torch.Tensor, dim, keepdim: bool = False) -> torch.Tensor:
    """sqrt(biased var + 1e-6) in float32 (the release's ``safe_std``); finite gradient at 0."""
    x = x.float()
    var = (x - x.mean(dim=dim, keepdim=True)).pow(2).mean(dim=dim, keepdim=keepdim)
    return torch.sqrt(var.clamp(min=0.0) + STD_EPS)


def as_images(x: torch.Tensor, shape, who: str) -> torch.Tensor:
    """x as [N, C, H, W]: images pass through, flat rows [N, C*H*W] are folded with ``shape``."""
    if x.dim() == 4:
        return x
    if x.dim() == 2 and shape is not None and x.shape[1] == shape[0] * shape[1] * shape[2]:
        return x.reshape(x.shape[0], *shape)
    raise ValueError(f"encoder '{who}': expected images [N, C, H, W] or rows [N, C*H*W] with "
                     f"shape = (C, H, W) bound, got x of shape {tuple(x.shape)} and shape = "
                     f"{None if shape is None else tuple(shape)}")


def input_sets(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The input itself: ``global`` [N, 1, C*H*W] and ``norm_x`` [N, 1, C] from x [N, C, H, W]."""
    return {"global": x.reshape(x.shape[0], 1, -1),
            "norm_x": torch.sqrt(x.float().pow(2).mean(dim=(2, 3)) + STD_EPS)[:, None, :]}


@dataclass(frozen=True)
class SetOptions:
    """Which sets ``map_sets`` derives from every feature map (the release's defaults)."""

    patch_mean_size: tuple[int, ...] = (2, 4)
    patch_std_size: tuple[int, ...] = (2, 4)
    use_mean: bool = True
    use_std: bool = True


def map_sets(name: str, fmap: torch.Tensor, opts: SetOptions) -> dict[str, torch.Tensor]:
    """The per-location, global-statistic and patch-statistic sets of one map [N, C, H, W]."""
    n, c, h, w = fmap.shape
    flat = fmap.flatten(2).transpose(1, 2)                               # [N, H*W, C]
    out = {name: flat}
    if opts.use_mean:
        out[f"{name}_mean"] = flat.mean(dim=1, keepdim=True)
    if opts.use_std and h * w > 1:
        out[f"{name}_std"] = safe_std(flat, dim=1, keepdim=True)
    for sizes, stat, fn in ((opts.patch_mean_size, "mean", lambda t: t.mean(dim=2)),
                            (opts.patch_std_size, "std", lambda t: safe_std(t, dim=2))):
        for s in sizes:
            if h % s == 0 and w % s == 0 and (stat == "mean" or s > 1):
                patches = fmap.reshape(n, c, h // s, s, w // s, s).permute(0, 2, 4, 3, 5, 1)
                out[f"{name}_{stat}_{s}"] = fn(patches.reshape(n, (h // s) * (w // s), s * s, c))
    return out


class FeatureEncoder(nn.Module):
    """Base class: a frozen module whose ``forward(x)`` returns the feature-set dict.

    ``freeze()`` puts it in eval mode and turns parameter gradients off; ``train()`` keeps it in
    eval mode (a trainer calling ``.train()`` on everything cannot unfreeze normalisation).
    """

    def freeze(self) -> "FeatureEncoder":
        super().train(False)
        self.requires_grad_(False)
        return self

    def train(self, mode: bool = True) -> "FeatureEncoder":  # noqa: ARG002 - always frozen
        return super().train(False)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.feature_sets(x)

    def feature_sets(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError


from zoo.registry import import_all  # noqa: E402

import_all(__name__, __path__, globals())  # every module registers itself
