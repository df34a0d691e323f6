"""Image datasets: digits (split, range, per-class draws), shapes (factors, classes by
construction, determinism) and image_folder (tiny trees written on the fly)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import zoo  # noqa: F401  (registers everything)
from zoo.data import check_dataset
from zoo.data.shapes import SHAPES
from zoo.registry import build


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def write_tree(root, per_class=(4, 4, 4), size=12, seed=0) -> str:
    """A class-per-folder tree of PNGs drawn by ``shapes`` (class i = SHAPES[i]); returns root."""
    from PIL import Image
    ds = build("dataset", "shapes", size=size)
    root = str(root)
    for c, count in enumerate(per_class):
        folder = os.path.join(root, SHAPES[c])
        os.makedirs(folder, exist_ok=True)
        x = ds.sample_class(torch.full((count,), c), _gen(seed + c)).view(count, *ds.shape)
        pixels = ((x + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
        for i, img in enumerate(pixels):
            Image.fromarray(img).save(os.path.join(folder, f"{i:03d}.png"))
    return root


# ----------------------------------------------------------------------------- digits

@pytest.fixture(scope="module")
def digits():
    return build("dataset", "digits")


def test_digits_split(digits):
    assert (len(digits.train_index), len(digits.test_index)) == (1438, 359)
    assert not set(digits.train_index.tolist()) & set(digits.test_index.tolist())
    counts = torch.bincount(digits.labels, minlength=10)
    test = torch.bincount(digits.test_labels, minlength=10)
    assert torch.equal(test, torch.round(counts / 5).long())  # stratified: 20% of each class
    again = build("dataset", "digits")  # fixed split
    assert torch.equal(again.test_index, digits.test_index)


def test_digits_values(digits):
    assert digits.shape == (1, 8, 8) and digits.dim == 64 and digits.conditional
    assert digits.images.shape == (1797, 1, 8, 8) and digits.images.dtype == torch.float32
    assert digits.images.min() == -1 and digits.images.max() == 1
    levels = torch.unique((digits.images + 1) * 8)  # x = v / 8 - 1 with integer v in 0..16
    assert torch.equal(levels, torch.arange(17, dtype=torch.float32))
    check_dataset(digits)


def test_digits_sampling(digits):
    x = digits.sample(500, _gen(0))
    assert x.shape == (500, 64) and torch.equal(x, digits.sample(500, _gen(0)))
    train_rows = {tuple(r) for r in digits._train.tolist()}
    assert {tuple(r) for r in x.tolist()} <= train_rows
    labels = torch.arange(200) % 10
    y = digits.sample_class(labels, _gen(1))
    images = digits.images.view(1797, 64)
    for row, c in zip(y, labels):  # every draw is a train image of the asked class
        hit = (images == row).all(dim=1).nonzero().flatten()
        assert len(hit) and any(int(digits.labels[h]) == int(c) for h in hit)
        assert any(h in set(digits.train_index.tolist()) for h in hit.tolist())
    assert torch.equal(y, digits.sample_class(labels, _gen(1)))


def test_digits_held_out(digits):
    test_rows = {tuple(r) for r in digits._test.tolist()}
    h = digits.held_out(300)
    assert len({tuple(r) for r in h.tolist()}) == 300  # distinct rows while they last
    assert {tuple(r) for r in h.tolist()} <= test_rows and torch.equal(h, digits.held_out(300))
    labels = torch.arange(10).repeat_interleave(30)
    hc = digits.held_out_class(labels)
    images, test_set = digits.images.view(1797, 64), set(digits.test_index.tolist())
    for c in range(10):
        rows = hc[labels == c]
        assert len({tuple(r) for r in rows.tolist()}) == 30  # 30 <= 35 test images per class
        for row in rows:
            hit = set((images == row).all(dim=1).nonzero().flatten().tolist()) & test_set
            assert any(int(digits.labels[h]) == c for h in hit)
    assert torch.equal(hc, digits.held_out_class(labels))


def test_digits_bad_labels(digits):
    with pytest.raises(ValueError, match="classes in 0..9"):
        digits.sample_class(torch.tensor([0, 10]), _gen(0))
    with pytest.raises(ValueError, match="unconditional"):
        build("dataset", "digits", conditional=False).sample_class(torch.tensor([0]), _gen(0))


# ----------------------------------------------------------------------------- shapes

def test_shapes_protocol():
    ds = build("dataset", "shapes")
    assert ds.shape == (3, 32, 32) and ds.dim == 3072 and ds.num_classes == len(SHAPES)
    x = ds.sample(64, _gen(0))
    assert x.shape == (64, 3072) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, ds.sample(64, _gen(0))) and not torch.equal(x, ds.sample(64, _gen(1)))
    check_dataset(ds)


def test_shapes_factors_render():
    ds = build("dataset", "shapes", size=16)
    f = ds.factors(32, _gen(3))
    assert set(f) == {"label", "position", "scale", "rotation", "colour", "background"}
    x = ds.sample(32, _gen(3))  # sample = render(factors) under the same stream
    assert torch.equal(x, ds.render(f).reshape(32, -1))
    lo, hi = ds.scale_range
    assert ((f["scale"] >= lo) & (f["scale"] <= hi)).all()
    assert (f["position"].abs() <= 1 - f["scale"][:, None] + 1e-6).all()  # shape inside frame
    labels = torch.tensor([5, 0, 2, 2])
    fc = ds.factors(0, _gen(0), labels=labels)
    assert torch.equal(fc["label"], labels)
    held = ds.held_out(8)
    assert torch.equal(held, ds.render(ds.held_out_factors(8)).reshape(8, -1))
    # pixels far from the shape show the background colour, the shape's core its colour
    img = ds.render(f)
    cover = ds.coverage(f)
    for i in range(32):
        bg = img[i][:, cover[i] == 0]
        fg = img[i][:, cover[i] == 1]
        assert torch.allclose(bg, (2 * f["background"][i] - 1)[:, None].expand_as(bg), atol=1e-5)
        assert torch.allclose(fg, (2 * f["colour"][i] - 1)[:, None].expand_as(fg), atol=1e-5)


def _descriptor(cover: torch.Tensor) -> torch.Tensor:
    """[n, 3]: area, mean radius, radial std of each mask (pixels, about the image centre)."""
    m = cover.shape[-1]
    axis = torch.arange(m) + 0.5 - m / 2
    r = torch.sqrt(axis[None, :] ** 2 + axis[:, None] ** 2)
    area = cover.sum((1, 2))
    mean = (cover * r).sum((1, 2)) / area
    std = torch.sqrt((cover * (r - mean[:, None, None]) ** 2).sum((1, 2)) / area)
    return torch.stack([area, mean, std], 1)


def test_shapes_classes_distinct_by_construction():
    ds = build("dataset", "shapes")
    k = len(SHAPES)
    desc = []
    for angle in (0.0, 0.7, 2.1):  # the class signature does not depend on rotation
        f = ds.factors(0, _gen(0), labels=torch.arange(k))
        f["position"].zero_()
        f["scale"].fill_(0.8)
        f["rotation"].fill_(angle)
        desc.append(_descriptor(ds.coverage(f)))
    desc = torch.stack(desc)  # [3, K, 3]
    unit = torch.tensor([3.14, 2.07, 1.30, 1.81, 2.36, 1.10])  # documented unit areas
    assert torch.allclose(desc[..., 0] / (0.8 * 16) ** 2, unit.expand(3, k), rtol=0.03)
    spread = (desc.max(0).values - desc.min(0).values) / desc.mean(0)
    assert spread.max() < 0.03
    scaled = desc.mean(0) / desc.mean((0, 1))
    gap = torch.cdist(scaled, scaled) + torch.eye(k) * 10
    assert gap.min() > 0.08, "every pair of classes differs in area or radial moments"


def test_shapes_fast_and_seeded():
    ds = build("dataset", "shapes", classes=("circle", "ring"))
    assert ds.num_classes == 2
    f = ds.factors(100, _gen(0))
    assert set(f["label"].tolist()) == {0, 1}
    with pytest.raises(ValueError, match="subset"):
        build("dataset", "shapes", classes=("circle", "blob"))
    with pytest.raises(ValueError, match="classes in 0..1"):
        ds.sample_class(torch.tensor([2]), _gen(0))


# ----------------------------------------------------------------------------- image_folder

def test_image_folder_tree(tmp_path):
    root = write_tree(tmp_path / "tree", per_class=(5, 4, 6), size=12)
    os.makedirs(tmp_path / "tree" / SHAPES[1] / "nested")
    (tmp_path / "tree" / SHAPES[0] / "notes.txt").write_text("not an image")
    ds = build("dataset", "image_folder", root=root, size=8, held_out_fraction=0.25)
    assert ds.class_names == sorted(SHAPES[:3]) and ds.num_classes == 3
    assert ds.shape == (3, 8, 8) and ds.dim == 192 and len(ds.paths) == 15
    for path, c in zip(ds.paths, ds.labels.tolist()):
        assert os.path.basename(os.path.dirname(path)) == ds.class_names[c]
    assert len(ds.held_index) == 4 and not ds.corrupt  # round(5/4), round(4/4), round(6/4)
    x = ds.sample(10, _gen(0))
    assert x.shape == (10, 192) and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, ds.sample(10, _gen(0)))
    check_dataset(ds)
    labels = torch.tensor([0, 1, 2, 2])
    y = ds.sample_class(labels, _gen(1))
    # a draw of class c equals one of class c's train images (centre crop, no augmentation)
    train = {c: ds._images(ds.train_index[ds.labels[ds.train_index] == c], ds.train_index, None)
             for c in range(3)}
    for row, c in zip(y, labels.tolist()):
        assert (train[c] == row).all(dim=1).any()
    h = ds.held_out_class(torch.tensor([0, 1, 2]))
    assert h.shape == (3, 192) and torch.equal(h, ds.held_out_class(torch.tensor([0, 1, 2])))


def test_image_folder_resize_and_crop(tmp_path):
    from PIL import Image
    root = tmp_path / "wide"
    for c in ("a", "b"):
        os.makedirs(root / c)
        for i in range(3):  # 20 x 10 (w x h): left half black, right half white
            a = np.zeros((10, 20, 3), dtype=np.uint8)
            a[:, 10:] = 255
            Image.fromarray(a).save(root / c / f"{i}.png")
    ds = build("dataset", "image_folder", root=str(root), size=4, resize=6, held_out_fraction=0.4)
    img = ds._load(0)
    assert img.shape == (3, 6, 12)  # shorter side 10 -> 6, aspect kept
    centre = ds.held_out(1).view(3, 4, 4)  # columns 4..7 of 12: black, black | white, white
    assert torch.equal(torch.sign(centre[0, 0]), torch.tensor([-1.0, -1.0, 1.0, 1.0]))  # bicubic
    aug = build("dataset", "image_folder", root=str(root), size=4, resize=6, random_crop=True,
                flip=True, held_out_fraction=0.4)
    x = aug.sample(64, _gen(0)).view(64, 3, 4, 4)
    assert torch.equal(x, aug.sample(64, _gen(0)).view(64, 3, 4, 4))
    assert len({tuple(r) for r in x[:, 0, 0].tolist()}) > 2  # crops move across the edge
    assert torch.equal(aug.held_out(2), ds.held_out(2))  # held out: never augmented


def test_image_folder_corrupt(tmp_path):
    root = write_tree(tmp_path / "t", per_class=(6, 6), size=10)
    (tmp_path / "t" / SHAPES[0] / "bad.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "t" / SHAPES[1] / "empty.jpg").write_bytes(b"")
    ds = build("dataset", "image_folder", root=root, size=8, max_corrupt_fraction=0.2)
    assert len(ds.corrupt) == 2 and len(ds.paths) == 12
    assert {os.path.basename(p) for p in ds.corrupt} == {"bad.png", "empty.jpg"}
    with pytest.raises(ValueError, match=r"2 of 14 image files are unreadable"):
        build("dataset", "image_folder", root=root, size=8, max_corrupt_fraction=0.1)
    # without verification, a file that fails at decode is counted and replaced
    lazy = build("dataset", "image_folder", root=root, size=8, verify=False,
                 max_corrupt_fraction=0.5)
    assert len(lazy.paths) == 14 and not lazy.corrupt
    bad = lazy.paths.index(os.path.join(root, SHAPES[0], "bad.png"))
    split = lazy.train_index if bad in lazy.train_index.tolist() else lazy.held_index
    img = lazy._images(torch.tensor([bad]), split, None)
    assert img.shape == (1, 192) and lazy.corrupt == [lazy.paths[bad]]


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build("dataset", "image_folder", root=str(tmp_path / "nope"))
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match="no class sub-folders"):
        build("dataset", "image_folder", root=str(tmp_path / "empty"))
    os.makedirs(tmp_path / "empty" / "cat")
    with pytest.raises(ValueError, match="no images"):
        build("dataset", "image_folder", root=str(tmp_path / "empty"))
    root = write_tree(tmp_path / "t", per_class=(3, 3), size=8)
    os.makedirs(tmp_path / "t" / "zzz_empty")
    with pytest.raises(ValueError, match="zzz_empty"):
        build("dataset", "image_folder", root=root, size=8)


def test_image_folder_held_out_root(tmp_path):
    root = write_tree(tmp_path / "train", per_class=(3, 3), size=8)
    val = write_tree(tmp_path / "val", per_class=(2, 2), size=8, seed=10)
    ds = build("dataset", "image_folder", root=root, held_out_root=val, size=8, cache=True)
    assert (len(ds.train_index), len(ds.held_index)) == (6, 4)
    assert all(ds.paths[i].startswith(val) for i in ds.held_index.tolist())
    assert torch.equal(ds.held_out(4), ds.held_out(4)) and len(ds._cache) == 4
    os.makedirs(tmp_path / "val" / "unknown_class")
    with pytest.raises(ValueError, match="unknown_class"):
        build("dataset", "image_folder", root=root, held_out_root=val, size=8)
