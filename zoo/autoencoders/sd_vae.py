"""``sd_vae``: the Stable Diffusion VAE (diffusers ``AutoencoderKL``), from local weights only.

    encode: x [N, 3, H, W] in [-1, 1] -> z = scale * E[q(z|x)]   [N, 4, H/8, W/8]
    decode: z -> D(z / scale)                                     [N, 3, H, W]

with scale = 0.18215 (the SD-VAE latent scaling the paper's latent models use; Deng et al. 2026,
Sec. 5, after DiT / SiT). The posterior mean is used (no sampling), so encoding is deterministic.

No weights ship with this repository and none are downloaded: ``path`` must be a local folder
saved by ``AutoencoderKL.save_pretrained`` (e.g. a copy of ``stabilityai/sd-vae-ft-ema`` made on
a machine with network access), and ``diffusers`` must be installed. Both are checked at
construction with an error naming the fix.
"""
from __future__ import annotations

import os

import torch

from zoo.autoencoders import Autoencoder
from zoo.registry import register

SD_SCALE = 0.18215


@register("autoencoder", "sd_vae")
class sd_vae(Autoencoder):
    """SD-VAE loaded from the local folder ``path`` (config.json + weights)."""

    def __init__(self, path: str | None = None, scale: float = SD_SCALE, device: str = "cpu"):
        super().__init__()
        if path is None or not os.path.isfile(os.path.join(os.fspath(path), "config.json")):
            raise FileNotFoundError(
                f"sd_vae: no VAE weights at path={path!r} (expected a folder with config.json and "
                f"the weights, from AutoencoderKL.save_pretrained). This repository ships none and "
                f"downloads none: copy e.g. stabilityai/sd-vae-ft-ema there, or use the weight-free "
                f"'space_to_depth' autoencoder")
        try:
            from diffusers import AutoencoderKL
        except ImportError as err:
            raise ImportError("sd_vae needs the 'diffusers' package: pip install diffusers") from err
        self.vae = AutoencoderKL.from_pretrained(os.fspath(path)).to(device)
        self.scale, self.path = float(scale), os.path.abspath(path)
        self.freeze()

    def args(self) -> dict:
        return {"path": self.path, "scale": self.scale}

    def latent_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        _, h, w = shape
        return 4, h // 8, w // 8

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(x).latent_dist.mean * self.scale

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z / self.scale).sample
