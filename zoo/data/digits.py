"""scikit-learn's bundled 8x8 handwritten digits (UCI optdigits test set): 1797 images, 10 classes.

    x = v / 8 - 1,  v in {0..16} (the 4x4-block pixel counts)  ->  x in [-1, 1]
    images [N, 1, 8, 8] float32, rows x = images.view(N, 64) (``dim`` = 64, ``shape`` = (1, 8, 8))

The rows follow the dataset protocol (``zoo.data``): ``sample`` / ``held_out`` return flat
[n, 64] rows, ``x.view(n, *ds.shape)`` turns them back into images. No download: the data ship
inside scikit-learn (``sklearn.datasets.load_digits``).

Split (fixed, stratified, independent of the scikit-learn version's splitters): per class c with
n_c images, a permutation under SPLIT_SEED holds out round(n_c / 5) of them: 1438 train / 359
test, 34-37 test images per class. ``sample`` / ``sample_class`` draw train rows with replacement
using only the given generator; ``held_out`` / ``held_out_class`` read the test split
(``ClassTable`` below: distinct rows while the request fits, fixed seed HELD_OUT_SEED + n).

``ClassTable`` (per-class index tables and sampling) is shared with ``image_folder``.
"""
from __future__ import annotations

import torch

from zoo.data import HELD_OUT_SEED, Dataset
from zoo.registry import register

SPLIT_SEED = 20_260_204  # the stratified train / test permutation
TEST_FRACTION = 0.2


class ClassTable:
    """Rows grouped by class, for per-class sampling. labels [N] int64 in 0..num_classes-1.

    ``order`` [N] sorts rows by class (stable); class c owns order[starts[c]:starts[c]+counts[c]].
    """

    def __init__(self, labels: torch.Tensor, num_classes: int, what: str = "dataset"):
        self.labels = torch.as_tensor(labels, dtype=torch.long).cpu()
        self.num_classes, self.what = int(num_classes), what
        self.order = torch.sort(self.labels, stable=True).indices
        self.counts = torch.bincount(self.labels, minlength=self.num_classes)
        self.starts = torch.cumsum(self.counts, 0) - self.counts

    def check(self, labels) -> torch.Tensor:
        """labels as a [n] int64 CPU tensor; ValueError for bad shapes, unknown or empty classes."""
        labels = torch.as_tensor(labels, dtype=torch.long).cpu()
        k = self.num_classes
        if labels.dim() != 1 or bool(((labels < 0) | (labels >= k)).any()):
            raise ValueError(f"{self.what}: labels must be a [n] tensor of classes in 0..{k - 1}, "
                             f"got {labels.tolist() if labels.numel() < 20 else labels.shape}")
        empty = sorted(set(labels[self.counts[labels] == 0].tolist()))
        if empty:
            raise ValueError(f"{self.what}: no rows of class(es) {empty} in this split")
        return labels

    def draw(self, labels, generator: torch.Generator) -> torch.Tensor:
        """[n] row indices, row i uniform among class labels[i] (with replacement); one
        ``torch.rand(n)`` from ``generator``."""
        labels = self.check(labels)
        u = torch.rand(len(labels), generator=generator, device=generator.device,
                       dtype=torch.float64).cpu()
        count = self.counts[labels]
        j = torch.minimum((u * count).long(), count - 1)
        return self.order[self.starts[labels] + j]

    def fixed(self, labels, seed: int) -> torch.Tensor:
        """[n] deterministic row indices: the r-th request for class c gets row perm_c[r mod n_c]
        of a fixed per-class permutation, so rows are distinct while a class's requests fit."""
        labels = self.check(labels)
        generator = torch.Generator().manual_seed(seed)
        keys = self.labels.double() + torch.rand(len(self.labels), generator=generator,
                                                 dtype=torch.float64)
        perm = torch.argsort(keys)  # by class, random within class
        by_label = torch.sort(labels, stable=True)
        pos = torch.arange(len(labels))
        first = torch.cumsum(torch.bincount(labels, minlength=self.num_classes), 0)
        first = first - torch.bincount(labels, minlength=self.num_classes)
        rank = torch.empty_like(labels)
        rank[by_label.indices] = pos - first[by_label.values]
        return perm[self.starts[labels] + rank % self.counts[labels]]


def stratified_split(labels: torch.Tensor, num_classes: int, fraction: float,
                     seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train [T], test [H]) row indices: per class, round(n_c * fraction) rows held out
    (at least 1 and at most n_c - 1 when n_c >= 2; none when n_c = 1), chosen by a seeded
    permutation. Both sorted ascending."""
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(labels), generator=generator)
    train, test = [], []
    for c in range(num_classes):
        rows = perm[labels[perm] == c]
        n = len(rows)
        k = 0 if n < 2 else min(max(int(round(n * fraction)), 1), n - 1)
        test.append(rows[:k])
        train.append(rows[k:])
    return torch.sort(torch.cat(train)).values, torch.sort(torch.cat(test)).values


def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """(images [1797, 1, 8, 8] float32 in [-1, 1], labels [1797] int64) from scikit-learn."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("dataset 'digits' needs scikit-learn: pip install scikit-learn") from err
    bunch = load_digits()
    images = torch.from_numpy(bunch.images).float().div_(8.0).sub_(1.0)[:, None]
    return images.contiguous(), torch.from_numpy(bunch.target).long()


@register("dataset", "digits")
class digits(Dataset):
    """The 8x8 digits, class-conditional by default (class = digit).

    Attributes:
        images: [1797, 1, 8, 8] float32 in [-1, 1]; labels: [1797] int64.
        train_index [1438], test_index [359]: the fixed stratified split (row indices).
    """

    shape = (1, 8, 8)
    dim = 64

    def __init__(self, conditional: bool = True):
        self.images, self.labels = load_digits_tensors()
        self.conditional = bool(conditional)
        self.num_classes = 10 if self.conditional else None
        self.train_index, self.test_index = stratified_split(self.labels, 10, TEST_FRACTION,
                                                             SPLIT_SEED)
        rows = self.images.view(len(self.images), self.dim)
        self._train, self._test = rows[self.train_index], rows[self.test_index]
        self.train_labels = self.labels[self.train_index]
        self.test_labels = self.labels[self.test_index]
        self._train_table = ClassTable(self.train_labels, 10, "dataset 'digits' (train)")
        self._test_table = ClassTable(self.test_labels, 10, "dataset 'digits' (test)")

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 64] train rows, uniform with replacement, on ``generator.device``."""
        idx = torch.randint(len(self._train), (n,), generator=generator, device=generator.device)
        return self._train.to(idx.device)[idx]

    def held_out(self, n: int) -> torch.Tensor:
        """[n, 64] test rows (fixed seed): distinct when n <= 359, else with replacement."""
        generator = torch.Generator().manual_seed(HELD_OUT_SEED + n)
        count = len(self._test)
        idx = (torch.randperm(count, generator=generator)[:n] if n <= count
               else torch.randint(count, (n,), generator=generator))
        return self._test[idx]

    def sample_class(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[n, 64] train rows of digit labels[i] (with replacement), only ``generator``."""
        if not self.conditional:
            return super().sample_class(labels, generator)
        idx = self._train_table.draw(labels, generator)
        return self._train[idx].to(generator.device)

    def held_out_class(self, labels: torch.Tensor) -> torch.Tensor:
        """[n, 64] test rows of digit labels[i]: distinct per class while they last (fixed seed)."""
        if not self.conditional:
            return super().sample_class(labels, None)
        return self._test[self._test_table.fixed(labels, HELD_OUT_SEED + len(labels))]

    def __repr__(self) -> str:
        return f"digits(train={len(self._train)}, test={len(self._test)}, shape={self.shape})"
