"""``conv_ae``: a small convolutional autoencoder trained offline (drift-zoo train-autoencoder).

    encode: x [N, 3, S, S] in [-1, 1] -> z = scale * E(x)      [N, 4, S/8, S/8]
    decode: z -> D(z / scale)                                  [N, 3, S, S]

E: three stride-2 stages [Conv4x4/2 -> GN -> SiLU -> Conv3x3 -> GN -> SiLU] (w, 2w, 2w channels),
then Conv1x1 to 4 latent channels. D: Conv3x3(4 -> 2w) -> GN -> SiLU, two stages [nearest 2x
upsample -> Conv3x3 -> GN -> SiLU -> Conv3x3 -> GN -> SiLU] (2w, w), a last upsample ->
Conv3x3 -> GN -> SiLU and Conv3x3 to 3 channels. Deterministic (no KL term): trained on the mean
squared reconstruction error.

As the SD-VAE the paper's latent models use (Deng et al. 2026, Sec. 5; ``sd_vae.SD_SCALE``),
latents are scaled to roughly unit scale: ``scale`` = 1 / std(E(x)) over training images, measured
at the end of training and stored in the weights file, so a latent drifting run sees features of
the size its kernels' temperatures are tuned for.

Weights file (``path``, ``weights_only`` loadable; written by ``save_conv_ae``, atomically):
``{"state": state dict, "width": w, "scale": s}``, plus ``<path>.json`` (the recipe and the
held-out reconstruction error). A missing file fails with the command that makes it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from zoo.autoencoders import Autoencoder
from zoo.registry import register

LATENT_CHANNELS, DOWN = 4, 8
DEFAULT_PATH = "results/runs/autoencoders/conv_ae.pt"
TRAIN_COMMAND = "drift-zoo train-autoencoder --dataset shapes --size 64 --out {path}"


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, c), c)


def _stage(cin: int, cout: int, down: bool) -> nn.Sequential:
    """Halve (Conv4x4 stride 2) or double (nearest upsample + Conv3x3) the resolution, then one
    more Conv3x3; GroupNorm + SiLU after each convolution."""
    first = (nn.Conv2d(cin, cout, 4, 2, 1) if down
             else nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, 1, 1)))
    return nn.Sequential(first, _gn(cout), nn.SiLU(), nn.Conv2d(cout, cout, 3, 1, 1), _gn(cout),
                         nn.SiLU())


class ConvAENet(nn.Module):
    """The trainable network: ``encoder`` [N, 3, S, S] -> [N, 4, S/8, S/8], ``decoder`` back."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = int(width)
        self.width = w
        self.encoder = nn.Sequential(_stage(3, w, True), _stage(w, 2 * w, True),
                                     _stage(2 * w, 2 * w, True),
                                     nn.Conv2d(2 * w, LATENT_CHANNELS, 1))
        self.decoder = nn.Sequential(nn.Conv2d(LATENT_CHANNELS, 2 * w, 3, 1, 1), _gn(2 * w),
                                     nn.SiLU(), _stage(2 * w, 2 * w, False),
                                     _stage(2 * w, w, False), nn.Upsample(scale_factor=2),
                                     nn.Conv2d(w, w, 3, 1, 1), _gn(w), nn.SiLU(),
                                     nn.Conv2d(w, 3, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction [N, 3, S, S] of x [N, 3, S, S] (unscaled latents in between)."""
        return self.decoder(self.encoder(x))


def check_shape(shape) -> tuple[int, int, int]:
    """(4, H/8, W/8) for an image shape (3, H, W); a clear error for anything else."""
    c, h, w = (int(s) for s in shape)
    if c != 3 or h % DOWN or w % DOWN:
        raise ValueError(f"conv_ae encodes RGB images with H and W divisible by {DOWN}, got "
                         f"shape {tuple(shape)}; resize the images (make-shards --size) to a "
                         f"multiple of {DOWN}")
    return LATENT_CHANNELS, h // DOWN, w // DOWN


def save_conv_ae(net: ConvAENet, scale: float, path, config: dict) -> tuple[Path, Path]:
    """Write ``{"state", "width", "scale"}`` to ``path`` and ``config`` to ``path`` .json, each
    atomically (tmp file + rename); returns both paths."""
    from zoo.run.folder import save_weights  # late: the run machinery imports the registry

    blob = {"state": net.state_dict(), "width": net.width, "scale": float(scale)}
    return save_weights(path, blob, json.dumps(config, indent=1))


@register("autoencoder", "conv_ae")
class conv_ae(Autoencoder):  # noqa: N801  (file = class = registry key = gin name)
    """A trained ``ConvAENet`` from ``path``, frozen; see the module docstring."""

    def __init__(self, path: str | None = DEFAULT_PATH, device: str = "cpu"):
        super().__init__()
        if path is None or not Path(path).is_file():
            raise FileNotFoundError(
                f"conv_ae: no weights at path={os.fspath(path) if path else None!r}. Train them "
                f"with `{TRAIN_COMMAND.format(path=path or DEFAULT_PATH)}` (or --shards DIR for "
                f"your shards), then pass that file as conv_ae.path / make-shards --latents-path")
        blob = torch.load(path, map_location="cpu", weights_only=True)
        self.path = os.path.abspath(path)
        self.net = ConvAENet(blob["width"])
        self.net.load_state_dict(blob["state"], assign=True)  # the loaded tensors themselves
        self.net.to(device)
        self.scale = float(blob["scale"])
        self.freeze()

    def latent_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        return check_shape(shape)

    def args(self) -> dict:
        """The arguments that rebuild this autoencoder (recorded in a shard manifest)."""
        return {"path": self.path}

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, 3, S, S] -> [N, 4, S/8, S/8], roughly unit scale."""
        check_shape(x.shape[1:])
        return self.net.encoder(x) * self.scale

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, 4, h, w] -> [N, 3, 8h, 8w]."""
        return self.net.decoder(z / self.scale)

    def __repr__(self) -> str:
        return f"conv_ae(path={self.path!r}, width={self.net.width}, scale={self.scale:.4g})"
