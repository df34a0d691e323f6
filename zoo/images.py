"""Image files from sample rows: a grid PNG to look at, one PNG per sample for FID.

    rows x [N, C*H*W] in [-1, 1] (the dataset protocol, ``shape`` = (C, H, W))
      -> uint8 pixels round((clamp(x, -1, 1) + 1) * 127.5)        [N, H, W, C]

``grid`` / ``save_grid`` tile N images with ``pad`` pixels of border colour between them. Cells are
at least MIN_CELL = 64 pixels high: smaller images are scaled up by the integer factor
ceil(64 / H), nearest neighbour (8x8 digits x8, 32x32 shapes x2), so a person can read them.
With class ``labels`` row r holds the samples of class r (the first ``columns`` of each) and a
label strip on the left names it: ``names[r]`` (a dataset's ``class_names``) or the index r.
``titled`` / ``side_by_side`` add a caption above a grid and put grids next to each other
(``samples.png`` of image runs, ``zoo.run.evaluation``).
``save_pngs`` writes ``<dir>/<index:06d>.png`` per sample (grayscale "L" for C = 1, RGB for
C = 3), the layout clean-fid reads (``zoo.metrics.fid``).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

MIN_CELL = 64  # default: scale images up (integer factor) to at least this many pixels high
MAX_NAME = 16  # row labels longer than this are cut


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


def _font(cell: int) -> ImageFont.ImageFont:
    """Pillow's built-in font at a size that suits a cell ``cell`` pixels high (10-24 px)."""
    return ImageFont.load_default(size=min(24, max(10, cell // 4)))


def text_band(texts: list[str], height: int, starts: list[int], cell: int,
              channels: int) -> np.ndarray:
    """[height, W, channels] uint8 white strip with ``texts[r]`` in black, vertically centred on
    the cell starting at ``starts[r]`` (``cell`` pixels high); W fits the longest text."""
    font = _font(cell)
    texts = [t if len(t) <= MAX_NAME else t[:MAX_NAME - 1] + "~" for t in texts]
    width = max(font.getbbox(t)[2] for t in texts) + 8
    band = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(band)
    for text, top in zip(texts, starts):
        draw.text((4, top + cell / 2), text, fill=0, font=font, anchor="lm")
    out = np.asarray(band)[..., None]
    return np.repeat(out, channels, axis=2)


def grid(x, shape, *, labels=None, columns: int | None = None, pad: int = 1,
         scale: int | None = None, names=None) -> tuple[np.ndarray, int, int]:
    """(uint8 grid [H', W', C], rows, columns of cells) of samples x.

    Without labels: ``columns`` (default ceil(sqrt(N))) per row. With labels [N] (classes
    0..K-1): one row per class 0..max(label), ``columns`` (default: the largest class count)
    cells, the samples of class r in row r in order, and a label strip on the left with
    ``names[r]`` (default: r). ``scale`` default: ceil(MIN_CELL / H).
    """
    pixels = to_uint8(x, shape)
    n = len(pixels)
    scale = max(1, math.ceil(MIN_CELL / int(shape[1]))) if scale is None else int(scale)
    if labels is None:
        cols = int(columns) if columns else max(1, math.ceil(math.sqrt(n)))
        rows = math.ceil(n / cols)
        return tile(pixels, rows, cols, pad, scale), rows, cols
    labels = torch.as_tensor(labels, dtype=torch.long).cpu()
    if labels.shape != (n,) or bool((labels < 0).any()):
        raise ValueError(f"labels must be [{n}] classes >= 0, got {tuple(labels.shape)}")
    rows = int(labels.max()) + 1
    if names is not None and len(names) < rows:
        raise ValueError(f"{len(names)} class names for labels up to {rows - 1}; pass one name "
                         f"per class (the dataset's class_names) or names=None for indices")
    per_class = [(labels == r).nonzero().flatten().tolist() for r in range(rows)]
    cols = int(columns) if columns else max(len(p) for p in per_class)
    h, w, c = pixels.shape[1:]
    cells = np.full((rows * cols, h, w, c), 255, dtype=np.uint8)
    for r, idx in enumerate(per_class):
        idx = idx[:cols]
        cells[r * cols:r * cols + len(idx)] = pixels[idx]
    tiled = tile(cells, rows, cols, pad, scale)
    texts = [str(names[r]) if names is not None else str(r) for r in range(rows)]
    cell = h * scale
    band = text_band(texts, tiled.shape[0], [pad + r * (cell + pad) for r in range(rows)], cell, c)
    return np.concatenate([band, tiled], axis=1), rows, cols


def titled(pixels: np.ndarray, title: str, size: int = 14) -> np.ndarray:
    """[H' + band, W, C] uint8: ``pixels`` [H', W, C] under a white band with ``title``."""
    if not title:
        return pixels
    font = ImageFont.load_default(size=size)
    band = Image.new("L", (pixels.shape[1], size + 8), 255)
    ImageDraw.Draw(band).text((4, (size + 8) / 2), title, fill=0, font=font, anchor="lm")
    band = np.repeat(np.asarray(band)[..., None], pixels.shape[2], axis=2)
    return np.concatenate([band, pixels], axis=0)


def side_by_side(grids: list[np.ndarray], gap: int = 16) -> np.ndarray:
    """[max H, sum W + gaps, C] uint8: grids [H_i, W_i, C] top-aligned on white, ``gap`` apart."""
    height = max(g.shape[0] for g in grids)
    width = sum(g.shape[1] for g in grids) + gap * (len(grids) - 1)
    out = np.full((height, width, grids[0].shape[2]), 255, dtype=np.uint8)
    left = 0
    for g in grids:
        out[:g.shape[0], left:left + g.shape[1]] = g
        left += g.shape[1] + gap
    return out


def save_png(path, pixels: np.ndarray) -> Path:
    """Write uint8 pixels [H, W, C] (C = 1: grayscale) as a PNG, making its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _pil(pixels).save(path)
    return path


def save_grid(path, x, shape, *, labels=None, columns: int | None = None, pad: int = 1,
              scale: int | None = None, names=None) -> tuple[int, int]:
    """Write ``grid(x, shape, ...)`` as a PNG; returns its (rows, columns) of cells."""
    pixels, rows, cols = grid(x, shape, labels=labels, columns=columns, pad=pad, scale=scale,
                              names=names)
    save_png(path, pixels)
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
