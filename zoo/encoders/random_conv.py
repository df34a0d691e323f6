"""A fixed, seeded, randomly initialised ResNet: multi-scale features that need no training.

The same backbone and the same feature sets as ``mae`` (``zoo.encoders.mae.ResNet``,
``resnet_sets``; the release's MAE-ResNet architecture), with PyTorch's default initialisation
drawn under ``seed`` (a forked RNG: the global stream is untouched) and never trained. A
baseline for what the MAE's learnt features add (random conv features already capture local
statistics). Shapes as ``mae``: x [N, C, H, W] (or rows [N, C*H*W] with ``shape`` bound) ->
{name: [N, L, C_s]}; on 32x32 shapes with b = 16, layers (1, 1, 1, 1): conv1/layer1 32x32x16,
layer2 16x16x32, layer3 8x8x64, layer4 4x4x128 -> 37 sets.
"""
from __future__ import annotations

import torch

from zoo.encoders.mae import ResNet, ResNetEncoder
from zoo.registry import register


@register("encoder", "random_conv")
class random_conv(ResNetEncoder):  # noqa: N801  (file = class = registry key = gin name)
    """Frozen random ResNet(in_channels, base_channels, layers, input_patch_size) under ``seed``."""

    def __init__(self, in_channels: int = 3, base_channels: int = 16, layers=(1, 1, 1, 1),
                 input_patch_size: int = 1, seed: int = 0, shape=None, patch_mean_size=(2, 4),
                 patch_std_size=(2, 4), use_mean: bool = True, use_std: bool = True,
                 every_k_block: int | None = 2, include_input: bool = True):
        super().__init__()
        if shape is not None and (len(shape) != 3 or shape[0] != in_channels):
            raise ValueError(f"encoder 'random_conv': shape {tuple(shape)} must be (C, H, W) with "
                             f"C = in_channels = {in_channels}")
        self.shape = None if shape is None else tuple(int(s) for s in shape)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = ResNet(in_channels, base_channels, tuple(layers), input_patch_size)
        self.set_options(patch_mean_size, patch_std_size, use_mean, use_std, every_k_block,
                         include_input)
