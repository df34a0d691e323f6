"""Evaluating a trained generator, one way for the trainer and for ``tools/eval.py``.

    samples = f(z, c, alpha)      z on the eval seed, balanced labels c = i mod K, alpha given
    point data:  zoo.metrics.evaluate(samples, held-out data)     (energy distance, precision, ...)
    image data:  zoo.metrics.image.evaluate_images in the features of the dataset's evaluator
                 (FD, KID, feature precision / recall, class accuracy / coverage;
                 ``results/evaluators/<dataset>.pt``, ``tools/train_evaluator.py``)
                 + ``energy_distance`` of the raw pixel rows

Image data means ``dataset.shape`` = (C, H, W) with C*H*W = ``dataset.dim``. Latent data (a
dataset with an ``autoencoder``, e.g. ``webdataset(field="npy")``) is decoded first
(``zoo.autoencoders.decoded``): samples and held-out latents alike, so the metrics and pictures
are of decoded images and measure the generator, not the autoencoder's reconstruction error
(FID against the real images, ``drift-zoo sample --png_dir`` + ``drift-zoo fid``, includes it).
Square images of another side than the evaluator's are resized to it (area average) first.
When no evaluator file exists for the dataset (or its channels or classes differ), image data
falls back to the
point-cloud metrics on pixel rows: k-NN precision in raw pixel space is near 0 for any
generator and says little, which is why evaluators exist (README "Images").

``samples.png``: a scatter of data vs samples (first two coordinates) for point data; for
images two grids side by side, held-out data and samples, one row per class (conditional; rows
labelled with the dataset's ``class_names`` or the class index; the first GRID_ROWS classes) or a
square grid (unconditional), cells at least 64 px (``zoo.images``).
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from zoo.autoencoders.decoded import decoded
from zoo.images import grid, save_png, side_by_side, titled
from zoo.metrics import evaluate
from zoo.metrics.evaluator import default_path, load_evaluator
from zoo.metrics.image import evaluate_images
from zoo.metrics.point_cloud import energy_distance
from zoo.run.plots import samples_png
from zoo.run.sampling import eval_labels, sample

GRID_CELLS = 10  # samples per class (row) in an image samples.png
GRID_ROWS = 20  # classes (rows) shown at most: ImageNet's 1000 would make a 64000 px tall PNG


def is_image(dataset) -> bool:
    """Whether rows of ``dataset`` are images of ``dataset.shape`` (C*H*W = dim)."""
    shape = getattr(dataset, "shape", None)
    return shape is not None and math.prod(shape) == dataset.dim


@lru_cache(maxsize=8)
def _load(path: str, mtime: float):
    return load_evaluator(path)


def evaluator_for(dataset, shape=None):
    """The dataset's committed evaluator (``results/evaluators/<name>.pt``, name = the dataset's
    ``evaluator`` attribute if it has one, else its name) when it exists and was trained on
    images of ``shape`` (default: the dataset's; a latent dataset's decoded image shape) and
    the dataset's class count, else None."""
    path = default_path(getattr(dataset, "evaluator", None) or dataset.name)
    if not is_image(dataset) or not path.is_file():
        return None
    model = _load(str(path), path.stat().st_mtime)
    k = getattr(dataset, "num_classes", None)
    shape = dataset.shape if shape is None else shape
    square = len(shape) == 3 and shape[1] == shape[2]  # resized to the evaluator's side
    fits = square and shape[0] == model.shape[0] and k in (None, model.num_classes)
    return model if fits else None


def resized(rows: torch.Tensor, shape, side: int) -> torch.Tensor:
    """Image rows [n, C*H*W] of ``shape`` at ``side`` x ``side`` (area average when shrinking,
    bilinear when growing) -> [n, C*side*side]; the same rows when already that size."""
    c, h, _ = shape
    if h == side:
        return rows
    x = rows.reshape(len(rows), c, h, h).float()
    mode = "area" if side < h else "bilinear"
    return torch.nn.functional.interpolate(x, size=(side, side), mode=mode).reshape(len(rows), -1)


def assess(model, dataset, n: int, seed: int, *, alpha: float | None = None):
    """(metrics, samples [n, D], held-out data [n, D], labels [n] or None) of ``model``.

    ``alpha``: the guidance scale for class-conditional generators (None: the model's default,
    alpha = 1). Metrics: see the module docstring (latents: of the decoded images). The
    samples and data returned are the dataset's rows (latents for a latent dataset).
    """
    samples = sample(model, n, seed, alpha=alpha)
    data = dataset.held_out(n)
    labels = eval_labels(model, n)
    return measure(dataset, samples, data, labels), samples, data, labels


def measure(dataset, samples: torch.Tensor, data: torch.Tensor, labels) -> dict:
    """The metrics of ``assess`` for given rows: samples [n, D] (any source: a generator, or
    real rows for the data-vs-data floor, ``zoo.metrics.floor``) against held-out data [m, D],
    labels [n] the samples' classes or None."""
    seen, shape = decoded(dataset, samples)
    real = decoded(dataset, data)[0]
    evaluator = evaluator_for(dataset, shape)
    if evaluator is None:
        return evaluate(seen, real, modes=dataset.modes, mode_std=dataset.mode_std,
                        labels=labels)
    side = evaluator.shape[1]
    # a small test split is drawn with replacement: repeated rows would give k-NN radii of
    # 0 and a precision near 0 whatever the samples, so the evaluator sees distinct rows
    metrics = evaluate_images(resized(seen, shape, side),
                              torch.unique(resized(real, shape, side), dim=0), evaluator, labels)
    metrics["energy_distance"] = float(energy_distance(seen, real))
    return metrics


def _grid(rows: torch.Tensor, dataset, labels) -> np.ndarray:
    """``GRID_CELLS`` samples per class row (labels given, rows named by the dataset's
    ``class_names`` or the index), else a square of GRID_CELLS^2; latents decoded first."""
    if labels is None:
        rows = rows[:GRID_CELLS * GRID_CELLS]
    images, shape = decoded(dataset, rows)
    if labels is None:
        return grid(images, shape, columns=GRID_CELLS)[0]
    names = getattr(dataset, "class_names", None)
    return grid(images, shape, labels=labels, columns=GRID_CELLS, names=names)[0]


def image_samples_png(path: Path, dataset, samples: torch.Tensor, labels, title: str = "") -> None:
    """Held-out data (per class when conditional; the first GRID_ROWS classes) beside samples
    [n, D], one PNG at the grids' own resolution (``zoo.images``: cells >= 64 px, rows
    labelled), ``title`` on top. Latent rows are decoded to images (``decoded``)."""
    classes = dataset.num_classes if labels is not None else None
    if classes:
        classes = min(classes, GRID_ROWS)
        shown = torch.as_tensor(labels).cpu() < classes
        samples, labels = samples[shown.to(samples.device)], torch.as_tensor(labels).cpu()[shown]
        data_labels = torch.arange(classes).repeat_interleave(GRID_CELLS)
        data = dataset.held_out_class(data_labels)
    else:
        data_labels, data = None, dataset.held_out(GRID_CELLS * GRID_CELLS)
    panels = [titled(_grid(data, dataset, data_labels), "data (held out)"),
              titled(_grid(samples, dataset, labels), "samples (EMA)")]
    save_png(path, titled(side_by_side(panels), title))


def samples_picture(path: Path, dataset, data, samples, labels, title: str = "") -> None:
    """``samples.png`` for any dataset: image grids or a 2-D scatter (module docstring)."""
    if is_image(dataset):
        image_samples_png(path, dataset, samples, labels, title)
    else:
        samples_png(path, data, samples, title=title)
