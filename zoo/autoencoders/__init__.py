"""Autoencoders: images <-> latents, for training drifting models in a latent space.

    z = ae.encode(x)      x [N, C, H, W] float in [-1, 1]  ->  z [N, *ae.latent_shape((C, H, W))]
    x = ae.decode(z)      z [N, c, h, w]                   ->  x [N, C, H, W]

The paper trains its ImageNet 256 models on SD-VAE latents (Deng et al. 2026, Sec. 5; 4 x 32 x 32
per image). ``drift-zoo make-shards --latents NAME [--latents-path FILE]`` pre-encodes every
image once through ``build("autoencoder", NAME[, path=FILE])``, stores ``<key>.npy`` next to ``<key>.jpg`` in
the shards and records NAME and ``args()`` in the manifest; a latent ``webdataset`` rebuilds that
autoencoder from it, and ``decoded`` (``zoo.autoencoders.decoded``) turns its latent rows back
into images wherever pictures or image metrics are made.

Registered under kind ``"autoencoder"`` (file = class = registry key = gin name):

- ``space_to_depth``: a lossless, weight-free rearrangement (C, H, W) -> (C f^2, H/f, W/f);
  the offline stand-in used by the tests and for pipeline checks.
- ``conv_ae``: a small convolutional autoencoder (4 latent channels, 8x down) that we train
  offline with ``drift-zoo train-autoencoder``; weights from ``path``.
- ``sd_vae``: the Stable Diffusion VAE (diffusers ``AutoencoderKL``) from a *local* folder of
  weights (``path``); no weights ship with this repository and none are downloaded.

Every module of this package registers itself when imported (``import zoo.autoencoders``).
"""
from __future__ import annotations

import torch
from torch import nn


class Autoencoder(nn.Module):
    """Base class: a frozen image <-> latent map (eval mode, no parameter gradients)."""

    def freeze(self) -> "Autoencoder":
        super().train(False)
        self.requires_grad_(False)
        return self

    def latent_shape(self, shape: tuple[int, int, int]) -> tuple[int, ...]:
        """The latent shape (c, h, w) of one image of shape (C, H, W)."""
        raise NotImplementedError

    def args(self) -> dict:
        """The keyword arguments that rebuild this autoencoder with ``build("autoencoder", name,
        **args)`` (make-shards records them in the manifest: latent shards know their decoder)."""
        return {}

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


from zoo.registry import import_all  # noqa: E402

import_all(__name__, __path__, globals())  # every module registers itself
