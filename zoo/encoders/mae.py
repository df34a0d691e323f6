"""The release's MAE-ResNet feature encoder, loaded from a state dict made by tools/train_encoder.py.

Architecture (Deng et al. 2026, App. A; lambertae/drifting JAX ``models/mae_model.py``:
``_BasicBlock``, ``_ResNetEncoder``, ``patch_input``), scaled by ``base_channels`` (b),
``layers`` (blocks per stage) and ``input_patch_size`` (p):

    x [N, C, H, W] -> space-to-depth p x p -> [N, C p^2, H/p, W/p]
    conv1 = ReLU(GN(Conv3x3(x)))                                  [N, b,  H', W']
    layer1 = GN(blocks(conv1))                     stride 1       [N, b,  H', W']
    layer_i = GN(blocks(layer_{i-1})), i = 2..4    stride 2       [N, 2^(i-1) b, H'/2^(i-1), ...]
    block(h) = ReLU(proj(h) + GN(Conv3x3(ReLU(GN(Conv3x3_stride(h))))))
               proj = GN(Conv1x1_stride) when the shape changes, else identity

GroupNorm with the largest divisor of the channel count up to 32 groups. The release's MAE
masks pixel patches, encodes the masked image and reconstructs it with a UNet decoder (MSE on
the masked pixels); ``tools/train_encoder.py`` does that and saves only this encoder's
state dict (``weights_only`` loadable) plus ``<path>.json`` with its architecture.

Feature sets (see ``zoo.encoders``): ``global`` (the input, when ``include_input``),
``norm_x``, and for every map of conv1, layer1..layer4 and, every ``every_k_block``-th block
of a stage, the block's raw output ``layer{i}_blk{k}``: per-location [N, H_s W_s, C_s],
``_mean`` / ``_std`` [N, 1, C_s] and the s x s patch ``_mean_{s}`` / ``_std_{s}`` sets.
On 8x8 digits with b = 8, layers (1, 1, 1, 1): conv1/layer1 8x8x8, layer2 4x4x16,
layer3 2x2x32, layer4 1x1x64 -> 30 sets.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from zoo.encoders import FeatureEncoder, SetOptions, as_images, input_sets, map_sets
from zoo.registry import register

TRAIN_COMMAND = "drift-zoo train-encoder --dataset <digits | shapes | ...> --out {path}"


def gn_groups(channels: int, max_groups: int = 32) -> int:
    """The largest divisor of ``channels`` that is at most ``max_groups`` (release)."""
    g = min(max_groups, channels)
    while g > 1 and channels % g:
        g -= 1
    return max(g, 1)


def conv_gn(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False),
                         nn.GroupNorm(gn_groups(cout), cout))


class BasicBlock(nn.Module):
    """Two 3x3 conv + GN, ReLU, residual (1x1 conv + GN projection when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(conv_gn(cin, cout, 3, stride), nn.ReLU(), conv_gn(cout, cout, 3))
        self.proj = conv_gn(cin, cout, 1, stride) if (cin != cout or stride != 1) else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        res = h if self.proj is None else self.proj(h)
        return torch.relu(res + self.body(h))


def space_to_depth(x: torch.Tensor, p: int) -> torch.Tensor:
    """[N, C, H, W] -> [N, C p^2, H/p, W/p] (the release's ``patch_input``; identity at p = 1)."""
    if p == 1:
        return x
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // p, p, w // p, p).permute(0, 3, 5, 1, 2, 4)
    return x.reshape(n, p * p * c, h // p, w // p)


class ResNet(nn.Module):
    """The trainable backbone: ``forward(x)`` -> (maps {conv1, layer1..}, blocks {layer_i: [..]})."""

    def __init__(self, in_channels: int = 3, base_channels: int = 64, layers=(2, 2, 2, 2),
                 input_patch_size: int = 1):
        super().__init__()
        if min(in_channels, base_channels, input_patch_size) < 1 or not layers \
                or min(layers) < 1:
            raise ValueError(f"ResNet: in_channels, base_channels, input_patch_size and every "
                             f"entry of layers must be >= 1, got {in_channels}, {base_channels}, "
                             f"{input_patch_size}, {tuple(layers)}")
        self.input_patch_size = int(input_patch_size)
        self.conv1 = nn.Sequential(conv_gn(in_channels * input_patch_size ** 2, base_channels, 3),
                                   nn.ReLU())
        self.stages, self.norms, self.channels = nn.ModuleList(), nn.ModuleList(), [base_channels]
        cin = base_channels
        for i, depth in enumerate(layers):
            cout, stride = base_channels * 2 ** i, (2 if i else 1)
            self.stages.append(nn.ModuleList(
                BasicBlock(cin if j == 0 else cout, cout, stride if j == 0 else 1)
                for j in range(int(depth))))
            self.norms.append(nn.GroupNorm(gn_groups(cout), cout))
            self.channels.append(cout)
            cin = cout

    def forward(self, x: torch.Tensor):
        """x [N, C, H, W] -> maps {conv1, layer1..}: [N, C_s, H_s, W_s], blocks {layer_i: [..]}."""
        return self.encode(space_to_depth(x, self.input_patch_size))

    def encode(self, xp: torch.Tensor):
        """As ``forward`` for an input already in space-to-depth form [N, C p^2, H/p, W/p]."""
        h = self.conv1(xp)
        maps, blocks = {"conv1": h}, {}
        for i, (stage, norm) in enumerate(zip(self.stages, self.norms), start=1):
            outs = []
            for block in stage:
                h = block(h)
                outs.append(h)
            blocks[f"layer{i}"] = outs
            h = norm(h)
            maps[f"layer{i}"] = h
        return maps, blocks


def resnet_sets(net: ResNet, x: torch.Tensor, opts: SetOptions, every_k_block,
                include_input: bool) -> dict[str, torch.Tensor]:
    """The release's ``get_activations`` (+ ``global``) for images x [N, C, H, W]."""
    out = input_sets(x)  # norm_x is part of get_activations, global of activation_fn
    if not include_input:
        del out["global"]
    maps, blocks = net(x)
    for name, fmap in maps.items():
        out.update(map_sets(name, fmap, opts))
    k = int(every_k_block) if every_k_block else 0
    for stage, outs in blocks.items():
        for j, fmap in enumerate(outs, start=1):
            if k >= 1 and j % k == 0:
                out.update(map_sets(f"{stage}_blk{j}", fmap, opts))
    return out


def save_encoder(net: ResNet, path, config: dict) -> tuple[Path, Path]:
    """Write net's state dict to ``path`` and ``config`` to ``path`` with suffix .json, each
    atomically (tmp file + rename). config must hold in_channels, base_channels, layers,
    input_patch_size and shape."""
    from zoo.run.folder import save_weights  # late: the run machinery imports the registry

    return save_weights(path, net.state_dict(), json.dumps(config, indent=1))


class ResNetEncoder(FeatureEncoder):
    """A frozen ``self.net`` (a ``ResNet``) whose maps become ``resnet_sets``; images of
    ``self.shape`` (or None: images only). Shared by ``mae`` and ``random_conv``."""

    def set_options(self, patch_mean_size, patch_std_size, use_mean, use_std, every_k_block,
                    include_input) -> None:
        """Which sets to derive (``SetOptions``, ``every_k_block``, ``include_input``); freezes."""
        self.opts = SetOptions(tuple(patch_mean_size or ()), tuple(patch_std_size or ()),
                               bool(use_mean), bool(use_std))
        self.every_k_block, self.include_input = every_k_block, bool(include_input)
        self.freeze()

    def feature_sets(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{name: [N, L, C]} for x [N, C, H, W] or rows [N, C*H*W] of ``self.shape``."""
        x = as_images(x, self.shape, type(self).__name__)
        return resnet_sets(self.net, x, self.opts, self.every_k_block, self.include_input)


@register("encoder", "mae")
class mae(ResNetEncoder):  # noqa: N801  (file = class = registry key = gin name)
    """A trained MAE-ResNet from ``path`` (+ ``path`` .json), frozen; see the module docstring."""

    def __init__(self, path: str | None = None, patch_mean_size=(2, 4), patch_std_size=(2, 4),
                 use_mean: bool = True, use_std: bool = True, every_k_block: int | None = 2,
                 include_input: bool = True):
        super().__init__()
        path = Path(path) if path else None
        meta = path.with_suffix(".json") if path else None
        if path is None or not path.is_file() or not meta.is_file():
            missing = "no path bound (mae.path)" if path is None else (
                f"missing {path if not path.is_file() else meta}")
            raise FileNotFoundError(
                f"encoder 'mae': {missing}. It needs a state dict made by "
                f"`{TRAIN_COMMAND.format(path=path or 'results/runs/encoders/mae_digits.pt')}` "
                f"(which also writes its .json config next to it; gin/experiments/shapes.gin "
                f"names the exact command of its committed results/encoders/mae_shapes_cls.pt). "
                f"A relative path is read from the current folder, {Path.cwd()}")
        self.config = json.loads(meta.read_text())
        arch = {k: self.config[k] for k in ("in_channels", "base_channels", "layers",
                                            "input_patch_size")}
        self.shape = tuple(self.config["shape"])
        self.net = ResNet(**arch)
        self.net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.set_options(patch_mean_size, patch_std_size, use_mean, use_std, every_k_block,
                         include_input)
