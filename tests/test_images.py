"""Sample grids a person can read (issue 19): cells of at least 64 px by nearest-neighbour
upscaling, a label strip naming each class row, and the ``samples.png`` of image runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import zoo  # noqa: F401  (registers everything)
from zoo.images import MIN_CELL, grid, titled, to_uint8
from zoo.registry import build
from zoo.run.evaluation import GRID_CELLS, samples_picture

PAD = 1


def _images(side: int, n: int, channels: int = 3) -> torch.Tensor:
    """[n, C*side*side] rows in [-1, 1], seeded."""
    return torch.rand(n, channels * side * side, generator=torch.Generator().manual_seed(side)) * 2 - 1


@pytest.mark.parametrize("side, scale", [(8, 8), (32, 2), (64, 1), (100, 1)])
def test_cells_are_at_least_64_pixels_nearest_neighbour(side, scale):
    shape = (3, side, side)
    x = _images(side, 4)
    pixels, rows, cols = grid(x, shape)
    cell = side * scale
    assert cell >= MIN_CELL and (rows, cols) == (2, 2)
    assert pixels.shape == (2 * (cell + PAD) + PAD, 2 * (cell + PAD) + PAD, 3)
    first = pixels[PAD:PAD + cell, PAD:PAD + cell]  # image 0, every source pixel a scale^2 block
    assert np.array_equal(first, to_uint8(x, shape)[0].repeat(scale, 0).repeat(scale, 1))


def _strip(pixels: np.ndarray, cols: int, cell: int) -> np.ndarray:
    """The label strip: the columns left of the tiled cells."""
    return pixels[:, :pixels.shape[1] - (cols * (cell + PAD) + PAD)]


def _row(strip: np.ndarray, r: int, cell: int) -> np.ndarray:
    return strip[PAD + r * (cell + PAD):PAD + r * (cell + PAD) + cell]


def test_class_rows_carry_a_label_strip():
    digits = build("dataset", "digits")
    labels = torch.arange(10).repeat(3)
    pixels, rows, cols = grid(digits.held_out_class(labels), digits.shape, labels=labels)
    assert (rows, cols) == (10, 3) and pixels.shape[2] == 1
    strip = _strip(pixels, cols, 64)
    assert strip.shape[1] > 0
    for r in range(rows):  # text (dark pixels) in every row, each row's label its own
        assert (_row(strip, r, 64) < 128).any(), r
    assert not np.array_equal(_row(strip, 0, 64), _row(strip, 1, 64))
    no_labels = grid(digits.held_out(30), digits.shape, columns=3)[0]
    assert no_labels.shape[1] == cols * 65 + PAD  # unlabelled grids get no strip


def test_rows_are_named_by_the_dataset_class_names():
    shapes = build("dataset", "shapes")
    assert shapes.class_names == ["circle", "square", "triangle", "cross", "ring", "star"]
    labels = torch.arange(6).repeat(2)
    x = shapes.held_out_class(labels)
    named = grid(x, shapes.shape, labels=labels, names=shapes.class_names)[0]
    indexed = grid(x, shapes.shape, labels=labels)[0]
    wide, narrow = _strip(named, 2, 64), _strip(indexed, 2, 64)
    assert wide.shape[1] > narrow.shape[1]  # "triangle" is wider than "2"
    assert not np.array_equal(_row(wide, 0, 64), _row(wide, 1, 64))  # circle != square
    with pytest.raises(ValueError, match="2 class names for labels up to 5"):
        grid(x, shapes.shape, labels=labels, names=["a", "b"])


def test_samples_png_of_an_image_run_is_readable_and_labelled(tmp_path):
    shapes = build("dataset", "shapes")
    labels = torch.arange(6).repeat(GRID_CELLS)
    samples = shapes.sample_class(labels, torch.Generator().manual_seed(0))
    samples_picture(tmp_path / "s.png", shapes, None, samples, labels, "a-run")
    img = np.asarray(Image.open(tmp_path / "s.png"))
    band = titled(np.zeros((1, 1, 3), np.uint8), "x").shape[0] - 1  # one caption's height
    top = 2 * band  # the run's title, then each panel's
    assert img.shape[0] == top + 6 * 65 + PAD
    assert img.shape[1] > 2 * GRID_CELLS * 65  # two panels of 10 cells of 64 px
    strip = img[top:, :40]
    assert (_row(strip, 2, 64) < 128).any() and not np.array_equal(_row(strip, 0, 64),
                                                                   _row(strip, 1, 64))


def test_samples_png_shows_at_most_grid_rows_classes(tmp_path, monkeypatch):
    import zoo.run.evaluation as evaluation

    monkeypatch.setattr(evaluation, "GRID_ROWS", 4)
    digits = build("dataset", "digits")
    labels = torch.arange(10).repeat(GRID_CELLS)
    samples_picture(tmp_path / "s.png", digits, None, digits.held_out_class(labels), labels, "")
    band = titled(np.zeros((1, 1, 1), np.uint8), "x").shape[0] - 1  # the panel captions
    assert np.asarray(Image.open(tmp_path / "s.png")).shape[0] == band + 4 * 65 + PAD
