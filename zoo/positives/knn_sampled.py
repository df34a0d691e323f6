"""``knn_sampled`` positives: ``knn`` on a bank drawn from the dataset at the run's start.

The same positives as ``knn`` (each group gets the real samples nearest to its own generated
samples, ``zoo.positives.knn``), but the bank needs no ``drift-zoo make-bank``: ``reset`` draws
``per_class`` rows of every class from the dataset (``sample_class`` under ``seed``; repeats of a
finite dataset dropped), and the first step keys them with the run's encoder
(``zoo.positives.knn_bank.KeyMap``: set-wise RMS scaling, a seeded Gaussian projection to
``key_dim``) and indexes each class (FAISS ``flat`` by default). Meant for small procedural or
in-memory datasets (shapes, digits), where drawing and keying a few thousand rows per class
costs seconds; a large bank belongs on disk (``knn`` + make-bank).

Why a fixed bank (issue 15, results/images.md): with P fresh positives per class per step, a
generated sample's nearest positive is a different random image every step, so its attraction
target averages to the class-conditional mean (a blob). The nearest rows of a fixed bank are
the same from step to step as long as x barely moves: a consistent target that x can reach.

The bank is a function of (dataset, per_class, seed): it is redrawn identically on resume, and
the checkpoint records its identity (a resumed run with another bank is refused).
"""
from __future__ import annotations


import torch

from zoo.metrics.floor import distinct
from zoo.positives.faiss_bank import PositiveBank
from zoo.positives.knn import knn
from zoo.positives.knn_bank import KeyMap
from zoo.registry import register

FIT_ROWS = 64  # rows per class the key map's set scales are fitted on


@register("positives", "knn_sampled")
class knn_sampled(knn):  # noqa: N801 -- file = class = registry key = gin name
    """Nearest positives from ``per_class`` rows per class drawn at the start (module doc)."""

    def __init__(self, per_class: int = 1000, key_dim: int = 64, seed: int = 0,
                 index: str = "flat", device: str = "auto", nprobe: int = 8,
                 ef_search: int = 64):
        if per_class < 1 or key_dim < 1:
            raise ValueError(f"knn_sampled: per_class and key_dim must be >= 1, got "
                             f"{per_class} and {key_dim}")
        self.per_class, self.key_dim, self.seed = int(per_class), int(key_dim), int(seed)
        self.path, self.index, self.device = None, index, device
        self.opts = dict(nprobe=nprobe, ef_search=ef_search, seed=seed)
        self.manifest, self.banks, self.rows, self.keys, self.p = None, [], [], None, 0

    def reset(self, dataset) -> None:
        """Draw the bank: ``per_class`` distinct rows of each class [M_c, D] (float16)."""
        k = getattr(dataset, "num_classes", None)
        if not k:
            raise ValueError(f"knn_sampled: dataset {dataset.name} is not class-conditional; "
                             f"use knn with a bank from drift-zoo make-bank")
        g = torch.Generator().manual_seed(self.seed)
        self.rows = []
        for c in range(k):
            labels = torch.full((self.per_class,), c, dtype=torch.long)
            rows = distinct(dataset.sample_class(labels, g).float(), labels)[0]
            self.rows.append(rows.half().numpy())  # float16 as make-bank stores rows: half the memory
        self.shape = tuple(getattr(dataset, "shape", None) or (dataset.dim,))
        self.manifest = {"dataset": repr(dataset), "dim": dataset.dim, "classes": k,
                         "counts": [len(r) for r in self.rows], "seed": self.seed}
        self.banks, self.keys = [], None

    def select(self, batch, x: torch.Tensor, encoder=None):
        """Key and index the bank with the run's ``encoder`` on the first call, then ``knn``."""
        if self.keys is None:
            fit = torch.cat([torch.from_numpy(r[:FIT_ROWS]).float() for r in self.rows])
            self.keys = KeyMap.fit(encoder, fit, self.shape, self.key_dim, self.seed)
            self.banks = [PositiveBank(self._key(r), self.index, device=self.device, **self.opts)
                          for r in self.rows]
        return super().select(batch, x, encoder)

    def _key(self, rows) -> torch.Tensor:
        """Keys [M, E] of bank rows [M, D], 256 at a time."""
        rows = torch.from_numpy(rows).float()
        return torch.cat([self.keys(rows[i:i + 256]) for i in range(0, len(rows), 256)]).float()
