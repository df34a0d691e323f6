"""A torchvision backbone from a local weights file, frozen, as multi-scale feature sets.

    torchvision(arch="resnet18", path=..., layers=("layer1", "layer2", "layer3", "layer4"))

Builds ``torchvision.models.get_model(arch, weights=None)``, loads the state dict at ``path``
(``weights_only``; nothing is ever downloaded), and returns, for every node in ``layers``
(``torchvision.models.feature_extraction`` names, e.g. ``layer3`` or ``features.4``), the
release's sets of ``zoo.encoders`` (per-location [N, H_s W_s, C_s], ``_mean`` / ``_std``
[N, 1, C_s], s x s patch ``_mean_{s}`` / ``_std_{s}``), plus ``global`` and ``norm_x`` of the
input when ``include_input``. Input x [N, C, H, W] in [-1, 1] (rows [N, C*H*W] with ``shape``):
one channel is repeated to three, x is mapped to [0, 1] and normalised with the ImageNet mean
and std (as the release feeds its ConvNeXt), and resized to ``resize`` x ``resize`` (bilinear)
when given. ``path`` defaults to where torchvision would cache the arch's DEFAULT weights
(``$TORCH_HOME/hub/checkpoints/<file>``). torchvision is an optional dependency, imported
here only when this encoder is built: ``pip install torchvision==0.29.1``.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch

from zoo.encoders import FeatureEncoder, SetOptions, as_images, input_sets, map_sets
from zoo.registry import register

INSTALL = "pip install torchvision==0.29.1"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _import_torchvision():
    try:
        return importlib.import_module("torchvision")
    except ImportError as err:
        raise ImportError(f"encoder 'torchvision' needs torchvision: {INSTALL}") from err


def default_path(tv, arch: str) -> Path:
    """Where ``torchvision.models.<arch>(weights='DEFAULT')`` caches its weights."""
    url = tv.models.get_model_weights(arch).DEFAULT.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


@register("encoder", "torchvision")
class torchvision(FeatureEncoder):  # noqa: N801  (file = class = registry key = gin name)
    """Frozen torchvision ``arch`` with weights from ``path``; see the module docstring."""

    def __init__(self, arch: str = "resnet18", path: str | None = None,
                 layers=("layer1", "layer2", "layer3", "layer4"), shape=None,
                 resize: int | None = None, patch_mean_size=(2, 4), patch_std_size=(2, 4),
                 use_mean: bool = True, use_std: bool = True, include_input: bool = True):
        super().__init__()
        tv = _import_torchvision()
        if arch not in tv.models.list_models():
            raise ValueError(f"encoder 'torchvision': unknown arch '{arch}'; torchvision has "
                             f"{tv.models.list_models()}")
        path = Path(path) if path else default_path(tv, arch)
        if not path.is_file():
            raise FileNotFoundError(
                f"encoder 'torchvision': weights file not found: {path}. Weights are never "
                f"downloaded at run time: copy them there (on a machine with internet, "
                f"`python -c \"import torchvision; torchvision.models.get_model('{arch}', "
                f"weights='DEFAULT')\"` caches them under {Path(torch.hub.get_dir())}/checkpoints) "
                f"or bind torchvision.path")
        model = tv.models.get_model(arch, weights=None)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        from torchvision.models.feature_extraction import create_feature_extractor
        self.layers = tuple(layers)
        self.body = create_feature_extractor(model, return_nodes=list(self.layers))
        self.arch, self.path, self.resize = arch, str(path), resize
        self.shape = None if shape is None else tuple(int(s) for s in shape)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.opts = SetOptions(tuple(patch_mean_size or ()), tuple(patch_std_size or ()),
                               bool(use_mean), bool(use_std))
        self.include_input = bool(include_input)
        self.freeze()

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] in [-1, 1] -> ImageNet-normalised [N, 3, H', W']."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[1] != 3:
            raise ValueError(f"encoder 'torchvision': needs 1 or 3 channels, got {x.shape[1]}")
        if self.resize:
            x = torch.nn.functional.interpolate(x, size=(self.resize, self.resize),
                                                mode="bilinear", align_corners=False)
        return ((x + 1) / 2 - self.mean) / self.std

    def feature_sets(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{name: [N, L, C]} for x [N, C, H, W] or rows [N, C*H*W] (with ``shape``)."""
        x = as_images(x, self.shape, "torchvision")
        out = input_sets(x) if self.include_input else {}
        maps = self.body(self.preprocess(x))
        for name in self.layers:
            out.update(map_sets(name.replace(".", "_"), maps[name], self.opts))
        return out
