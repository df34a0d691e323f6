"""Image files from sample rows: a grid PNG to look at, one PNG per sample for FID.

    rows x [N, C*H*W] in [-1, 1] (the dataset protocol, ``shape`` = (C, H, W))
      -> uint8 pixels round((clamp(x, -1, 1) + 1) * 127.5)        [N, H, W, C]

``grid`` / ``save_grid`` tile N images with ``pad`` pixels of border colour between them (images of
side < 32 are scaled up by an integer factor, nearest neighbour, so 8x8 digits stay legible);
with class ``labels`` row r holds the samples of class r (the first ``columns`` of each).
``save_pngs`` writes ``<dir>/<index:06d>.png`` per sample (grayscale "L" for C = 1, RGB for
C = 3), the layout clean-fid reads (``zoo.metrics.fid``).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(x, shape: tuple[int, int, int]) -> np.ndarray:
    """[N, H, W, C] uint8 from rows [N, C*H*W] (or images [N, C, H, W]) in [-1, 1]."""
    c, h, w = (int(s) for s in shape)
    if c not in (1, 3):
        raise ValueError(f"images need 1 or 3 channels, got shape {tuple(shape)}")
    x = torch.as_tensor(x).detach().float().cpu()
    if x.dim() < 2 or x[0].numel() != c * h * w:
        raise ValueError(f"expected rows of {c * h * w} values (shape {tuple(shape)}), got "
                         f"tensor of shape {tuple(x.shape)}")
    x = x.reshape(-1, c, h, w).clamp(-1, 1).add(1).mul(127.5).round()
    return x.to(torch.uint8).permute(0, 2, 3, 1).numpy()


def tile(pixels: np.ndarray, rows: int, cols: int, pad: int = 1, scale: int = 1,
         fill: int = 255) -> np.ndarray:
    """[rows*(h*scale+pad)+pad, cols*(w*scale+pad)+pad, C] uint8 grid of pixels [N, h, w, C]
    (N <= rows*cols, filled row by row; empty cells stay ``fill``)."""
    n, h, w, c = pixels.shape
    if n > rows * cols:
        raise ValueError(f"{n} images do not fit a {rows} x {cols} grid")
    if scale > 1:
        pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
        h, w = h * scale, w * scale
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), fill, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        out[top:top + h, left:left + w] = pixels[i]
    return out


def _pil(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def grid(x, shape, *, labels=None, columns: int | None = None, pad: int = 1,
         scale: int | None = None) -> tuple[np.ndarray, int, int]:
    """(uint8 grid [H', W', C], rows, columns of cells) of samples x.

    Without labels: ``columns`` (default ceil(sqrt(N))) per row. With labels [N] (classes
    0..K-1): one row per class 0..max(label), ``columns`` (default: the largest class count)
    cells, the samples of class r in row r in order. ``scale`` default: ceil(32 / H).
    """
    pixels = to_uint8(x, shape)
    n = len(pixels)
    scale = max(1, math.ceil(32 / int(shape[1]))) if scale is None else int(scale)
    if labels is None:
        cols = int(columns) if columns else max(1, math.ceil(math.sqrt(n)))
        rows = math.ceil(n / cols)
        return tile(pixels, rows, cols, pad, scale), rows, cols
    labels = torch.as_tensor(labels, dtype=torch.long).cpu()
    if labels.shape != (n,) or bool((labels < 0).any()):
        raise ValueError(f"labels must be [{n}] classes >= 0, got {tuple(labels.shape)}")
    rows = int(labels.max()) + 1
    per_class = [(labels == r).nonzero().flatten().tolist() for r in range(rows)]
    cols = int(columns) if columns else max(len(p) for p in per_class)
    h, w, c = pixels.shape[1:]
    cells = np.full((rows * cols, h, w, c), 255, dtype=np.uint8)
    for r, idx in enumerate(per_class):
        idx = idx[:cols]
        cells[r * cols:r * cols + len(idx)] = pixels[idx]
    return tile(cells, rows, cols, pad, scale), rows, cols


def save_grid(path, x, shape, *, labels=None, columns: int | None = None, pad: int = 1,
              scale: int | None = None) -> tuple[int, int]:
    """Write ``grid(x, shape, ...)`` as a PNG; returns its (rows, columns) of cells."""
    pixels, rows, cols = grid(x, shape, labels=labels, columns=columns, pad=pad, scale=scale)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _pil(pixels).save(path)
    return rows, cols


def save_pngs(directory, x, shape, *, start: int = 0) -> list[Path]:
    """Write one PNG per sample, ``<directory>/<start + i:06d>.png``; returns the paths."""
    pixels = to_uint8(x, shape)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(pixels):
        p = directory / f"{start + i:06d}.png"
        _pil(img).save(p)
        paths.append(p)
    return paths
