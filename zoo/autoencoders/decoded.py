"""Latent rows back to images: what pictures, image metrics and FID see of a latent dataset.

    decoded(dataset, rows [n, c*h*w]) -> (images [n, C*H*W] in about [-1, 1], (C, H, W))
        = rows, dataset.shape (None: points)                   when dataset.autoencoder is None
        = flatten(ae.decode(rows as [n, c, h, w])), ae's image shape     otherwise

A dataset of latents (``webdataset(field="npy")``) carries the autoencoder its shards were made
with as ``dataset.autoencoder``; ``from_manifest`` rebuilds it from the manifest that
``drift-zoo make-shards --latents NAME [--latents-path FILE]`` wrote (the name and
``Autoencoder.args()``, e.g. the weights path). Every other dataset has none, and its rows are
images already.
"""
from __future__ import annotations

import torch

CHUNK = 256  # latents decoded per call (bounds the decoder's activations)


def decoded(dataset, rows: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """(image rows [n, C*H*W] on the CPU, image shape) of ``dataset`` rows [n, dim] (module doc)."""
    ae = getattr(dataset, "autoencoder", None)
    if ae is None:
        shape = getattr(dataset, "shape", None)
        return rows, shape if shape is None else tuple(shape)
    shape = tuple(int(s) for s in dataset.shape)
    rows = torch.as_tensor(rows)
    device = next(ae.parameters(), torch.empty(0)).device  # the decoder's (sd_vae on a GPU)
    out, image_shape = [], None
    for chunk in rows.split(CHUNK) if len(rows) else [rows[:0]]:
        with torch.no_grad():
            x = ae.decode(chunk.reshape(len(chunk), *shape).float().to(device))
        image_shape = tuple(x.shape[1:]) if x.dim() == 4 else image_shape
        out.append(x.reshape(len(chunk), -1).float().cpu())
    if image_shape is None:  # no rows: decode one zero latent for the shape
        image_shape = tuple(ae.decode(torch.zeros(1, *shape)).shape[1:])
    return torch.cat(out).reshape(len(rows), -1), image_shape


def from_manifest(latents: dict, where: str):
    """The autoencoder that made the latents described by a manifest's ``latents`` entry
    ({autoencoder, args?, shape}); an error that says how to name it when it cannot be rebuilt."""
    from zoo.registry import build
    name, args = latents.get("autoencoder"), latents.get("args") or {}
    if not name:
        raise ValueError(f"the manifest of {where} names no autoencoder for its latents; bind "
                         f"webdataset.autoencoder = @<name>() to decode them")
    try:
        return build("autoencoder", name, **args)
    except (FileNotFoundError, ImportError) as err:
        raise FileNotFoundError(
            f"the latents in {where} were made by autoencoder '{name}' (args {args}), which "
            f"cannot be rebuilt here to decode them: {err}. Bind webdataset.autoencoder = "
            f"@{name}() with its weights (e.g. {name}.path = '...')") from err
