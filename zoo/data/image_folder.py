"""A class-per-folder image tree (the ImageNet / torchvision ``ImageFolder`` layout) as a dataset.

    root/<class_a>/xxx.png, root/<class_a>/sub/yyy.jpg, root/<class_b>/zzz.jpeg, ...

Classes are the sorted sub-folder names (label = position); images are found recursively with
the extensions in EXTENSIONS (case-insensitive); hidden files and folders are ignored. Only the
index (paths [N], labels [N]) is kept in memory; images are decoded on demand with Pillow:

    RGB -> resize the shorter side to ``resize`` (default ``size``; bicubic)
        -> crop size x size: centre, or (``random_crop``) uniform offsets from the generator
        -> (``flip``) mirror with prob. 1/2 from the generator -> x = v / 127.5 - 1 in [-1, 1]

Rows are [n, 3 size^2] (``shape`` = (3, size, size)); augmentation applies to training draws
only (``sample`` / ``sample_class``), held-out images are always centre-cropped. ``cache=True``
keeps every decoded, resized image (uint8) in memory: for small trees trained on for long.

Held out: ``held_out_root`` (a second tree with the same class names, e.g. ImageNet val), or a
fixed stratified split of ``held_out_fraction`` of each class (``zoo.data.digits``).

Errors (at construction, one message naming the problem and the fix): a missing root
(FileNotFoundError), a root with no class folders or no images, a class folder without
readable images (ValueError). With ``verify=True`` (default) every file is opened and checked
with Pillow at construction; unreadable files are skipped and counted (``corrupt``), and more
than ``max_corrupt_fraction`` of them is a ValueError. A file that fails later, at decode, is
counted too and replaced by the next image of its class and split (deterministic).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from zoo.data import HELD_OUT_SEED, Dataset
from zoo.data.digits import ClassTable, stratified_split
from zoo.registry import register

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".tif", ".tiff")
SPLIT_SEED = 20_260_205


def _readable(path: str) -> bool:
    """True if Pillow can identify and verify the file (header and, for PNG, checksums)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except Exception:  # noqa: BLE001 - any decoder error means "unreadable"
        return False


def scan(root: str, classes: list[str] | None = None) -> tuple[list[str], list[str], list[int]]:
    """(class names, image paths, labels) of a class-per-folder tree, sorted.

    ``classes`` fixes the label of each class name (for a held-out tree); unknown names fail.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"image_folder: root '{root}' does not exist or is not a folder; "
                                f"pass a folder with one sub-folder of images per class")
    found = sorted(d.name for d in os.scandir(root) if d.is_dir() and not d.name.startswith("."))
    if not found:
        raise ValueError(f"image_folder: root '{root}' has no class sub-folders; expected "
                         f"root/<class>/<image>.png (the ImageNet layout)")
    names = found if classes is None else classes
    extra = sorted(set(found) - set(names))
    if extra:
        raise ValueError(f"image_folder: '{root}' has class folders {extra[:5]} that the "
                         f"training tree lacks")
    paths, labels = [], []
    for label, name in enumerate(names):
        if name not in found:
            continue
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, name)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for f in sorted(filenames):
                if not f.startswith(".") and f.lower().endswith(EXTENSIONS):
                    paths.append(os.path.join(dirpath, f))
                    labels.append(label)
    if not paths:
        raise ValueError(f"image_folder: no images under '{root}' (looked for {EXTENSIONS} in "
                         f"{len(found)} class folders)")
    return names, paths, labels


@register("dataset", "image_folder")
class image_folder(Dataset):
    """Images of ``root/<class>/...``, class-conditional (label = sorted class-folder index).

    Attributes:
        class_names: [K] sorted folder names; paths [N], labels [N] int64: the readable images.
        corrupt: paths skipped as unreadable; train_index, held_index: rows of paths/labels.
    """

    needs_args = ("root",)

    def __init__(self, root: str, size: int = 64, resize: int | None = None,
                 random_crop: bool = False, flip: bool = False, held_out_root: str | None = None,
                 held_out_fraction: float = 0.1, verify: bool = True,
                 max_corrupt_fraction: float = 0.01, cache: bool = False,
                 conditional: bool = True):
        self.root, self.size = os.fspath(root), int(size)
        self.resize = self.size if resize is None else int(resize)
        if self.size < 1 or self.resize < self.size:
            raise ValueError(f"image_folder needs 1 <= size <= resize, got size={size}, "
                             f"resize={resize}")
        self.random_crop, self.flip, self.cache = bool(random_crop), bool(flip), bool(cache)
        self.max_corrupt_fraction = float(max_corrupt_fraction)
        self.shape, self.dim = (3, self.size, self.size), 3 * self.size * self.size
        self.corrupt: list[str] = []
        self._seen = 0
        self.class_names, paths, labels = scan(self.root)
        paths, labels = self._verified(paths, labels, verify, True)
        k = len(self.class_names)
        self.conditional = bool(conditional)
        self.num_classes = k if self.conditional else None
        if held_out_root is None:
            self.paths, self.labels = paths, torch.tensor(labels, dtype=torch.long)
            self.train_index, self.held_index = stratified_split(
                self.labels, k, float(held_out_fraction), SPLIT_SEED)
        else:
            _, held_paths, held_labels = scan(os.fspath(held_out_root), self.class_names)
            held_paths, held_labels = self._verified(held_paths, held_labels, verify, False)
            self.paths = paths + held_paths
            self.labels = torch.tensor(labels + held_labels, dtype=torch.long)
            self.train_index = torch.arange(len(paths))
            self.held_index = torch.arange(len(paths), len(self.paths))
        if len(self.held_index) == 0:
            raise ValueError(f"image_folder: '{self.root}' leaves no held-out images (every class "
                             f"has one image?); add images or pass held_out_root")
        self._train = ClassTable(self.labels[self.train_index], k, "image_folder (train)")
        self._held = ClassTable(self.labels[self.held_index], k, "image_folder (held out)")
        self._cache: dict[int, torch.Tensor] = {}

    # ------------------------------------------------------------------ index and decoding

    def _verified(self, paths: list[str], labels: list[int], verify: bool, training: bool):
        """Drop unreadable files (when ``verify``), count them, check the fraction and classes."""
        self._seen += len(paths)
        if verify:
            ok = [_readable(p) for p in paths]
            self.corrupt += [p for p, good in zip(paths, ok) if not good]
            paths = [p for p, good in zip(paths, ok) if good]
            labels = [c for c, good in zip(labels, ok) if good]
        self._check_corrupt()
        empty = sorted(set(range(len(self.class_names))) - set(labels))
        if training and empty:
            names = [self.class_names[c] for c in empty]
            raise ValueError(f"image_folder: class folder(s) {names[:5]} under '{self.root}' hold "
                             f"no readable images; remove them or add images")
        return paths, labels

    def _check_corrupt(self) -> None:
        bad, total = len(self.corrupt), max(self._seen, 1)
        if bad > self.max_corrupt_fraction * total:
            raise ValueError(
                f"image_folder: {bad} of {total} image files are unreadable (more than "
                f"max_corrupt_fraction={self.max_corrupt_fraction}), e.g. {self.corrupt[:3]}; "
                f"fix or remove them, or raise image_folder.max_corrupt_fraction")

    def _load(self, row: int) -> torch.Tensor:
        """[3, h, w] uint8: image ``row`` decoded, RGB, shorter side resized to ``resize``."""
        if row in self._cache:
            return self._cache[row]
        from PIL import Image
        with Image.open(self.paths[row]) as im:
            im = im.convert("RGB")
            w, h = im.size
            scale = self.resize / min(w, h)
            new = (max(self.resize, round(w * scale)), max(self.resize, round(h * scale)))
            if new != (w, h):
                im = im.resize(new, Image.BICUBIC)
            out = torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1).contiguous()
        if self.cache:
            self._cache[row] = out
        return out

    def _decode(self, row: int, split: torch.Tensor) -> torch.Tensor:
        """Decode ``row``; on failure count it and fall back to the next row of its class/split."""
        try:
            return self._load(row)
        except Exception:  # noqa: BLE001 - any decoder error: skip and count
            pass
        members = split[self.labels[split] == self.labels[row]].tolist()
        start = members.index(row)
        for j in range(len(members)):
            r = members[(start + j) % len(members)]
            try:
                return self._load(r)
            except Exception:  # noqa: BLE001
                if self.paths[r] not in self.corrupt:
                    self.corrupt.append(self.paths[r])
                    self._check_corrupt()
        raise ValueError(f"image_folder: no readable image of class "
                         f"'{self.class_names[int(self.labels[row])]}' left in this split")

    def _images(self, rows: torch.Tensor, split: torch.Tensor,
                generator: torch.Generator | None) -> torch.Tensor:
        """[n, 3 size^2] rows in [-1, 1]: crop (random if training and ``random_crop``), flip."""
        rows = rows.cpu()
        train = generator is not None
        if train:  # always three uniforms per image, so the stream does not depend on options
            u = torch.rand(len(rows), 3, generator=generator, device=generator.device).cpu()
        out = torch.empty(len(rows), *self.shape, dtype=torch.uint8)
        for i, row in enumerate(rows.tolist()):
            img = self._decode(row, split)
            h, w = img.shape[1:]
            if train and self.random_crop:
                top = min(int(u[i, 0] * (h - self.size + 1)), h - self.size)
                left = min(int(u[i, 1] * (w - self.size + 1)), w - self.size)
            else:
                top, left = (h - self.size) // 2, (w - self.size) // 2
            img = img[:, top:top + self.size, left:left + self.size]
            if train and self.flip and u[i, 2] < 0.5:
                img = img.flip(-1)
            out[i] = img
        x = out.float().div_(127.5).sub_(1.0).reshape(len(rows), self.dim)
        return x.to(generator.device) if train else x

    # ------------------------------------------------------------------ the protocol

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 3 size^2] training images, uniform with replacement, augmented (``generator``)."""
        pick = torch.randint(len(self.train_index), (n,), generator=generator,
                             device=generator.device).cpu()
        return self._images(self.train_index[pick], self.train_index, generator)

    def held_out(self, n: int) -> torch.Tensor:
        """[n, 3 size^2] held-out images, centre crop, fixed seed: distinct while n <= H."""
        generator = torch.Generator().manual_seed(HELD_OUT_SEED + n)
        count = len(self.held_index)
        pick = (torch.randperm(count, generator=generator)[:n] if n <= count
                else torch.randint(count, (n,), generator=generator))
        return self._images(self.held_index[pick], self.held_index, None)

    def sample_class(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[n, 3 size^2] training images of class labels[i] (with replacement), augmented."""
        if not self.conditional:
            return super().sample_class(labels, generator)
        rows = self.train_index[self._train.draw(labels, generator)]
        return self._images(rows, self.train_index, generator)

    def held_out_class(self, labels: torch.Tensor) -> torch.Tensor:
        """[n, 3 size^2] held-out images of class labels[i], distinct per class while they last."""
        if not self.conditional:
            return super().sample_class(labels, None)
        rows = self.held_index[self._held.fixed(labels, HELD_OUT_SEED + len(labels))]
        return self._images(rows, self.held_index, None)

    def __repr__(self) -> str:
        return (f"image_folder(root={self.root!r}, classes={len(self.class_names)}, "
                f"train={len(self.train_index)}, held_out={len(self.held_index)}, "
                f"size={self.size})")
