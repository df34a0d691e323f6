"""``knn`` positives: each generated sample's nearest real samples in a large per-class bank.

The attraction of a decaying kernel is dominated by the positives nearest to x (Deng et al.
2026, Eq. 8-10; ``zoo.positives.faiss_bank``), so instead of P random samples of class c the
group of class c gets the real samples nearest to its own generated samples x_1..x_G:

    kNN_j(x_n)  = the j-th nearest bank row of class c to x_n, in key space (``knn_bank``)
    pos[c]      = the first P distinct rows of  kNN_1(x_1) .. kNN_1(x_G), kNN_2(x_1) .. kNN_2(x_G), ...

i.e. the union of every sample's k nearest, k grown rank by rank (about P / G) until the group
holds the step's P positives; the step's cost is then that of fresh positives plus one keyed
query. The bank (``drift-zoo make-bank``: rows and keys of M real samples per class, stored as
.npy) is searched with a FAISS index per class: ``flat`` (exact), ``ivf`` or ``hnsw``, on the
GPU when faiss-gpu and CUDA are there (``device='auto'``). CFG's unconditional reals are fresh
dataset draws, as in ``fresh``.

The positives depend only on the generated batch and the fixed bank, so the source keeps no
state between steps; a checkpoint records the bank's identity and a resumed run refuses another
bank. Protocol: ``zoo.positives`` (``select`` runs after the generator, ``draw`` before it).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import torch

from zoo.positives import Positives
from zoo.positives.faiss_bank import PositiveBank
from zoo.positives.knn_bank import (KeyMap, as_float, load_keys, load_rows, nearest_union,
                                    read_manifest)
from zoo.registry import register


@register("positives", "knn")
class knn(Positives):  # noqa: N801 -- file = class = registry key = gin name
    """Nearest positives from the bank at ``path`` (module doc); ``index`` flat / ivf / hnsw,
    ``device`` auto / cpu / cuda, ``nprobe`` (ivf) and ``ef_search`` (hnsw) as in PositiveBank."""

    def __init__(self, path: str | None = None, index: str = "flat", device: str = "auto",
                 nprobe: int = 8, ef_search: int = 64, seed: int = 0):
        if not path:
            raise FileNotFoundError("knn: no bank folder bound (knn.path); give the folder written "
                                    "by drift-zoo make-bank (knn.path = 'data/imagenet-mini/bank')")
        self.path, self.index, self.device = str(path), index, device
        self.opts = dict(nprobe=nprobe, ef_search=ef_search, seed=seed)
        self.manifest, self.banks, self.rows, self.keys, self.p = None, [], [], None, 0

    @property
    def identity(self) -> str:
        """A hash of the bank's manifest (its counts, shape and key function)."""
        text = json.dumps(self.manifest, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def reset(self, dataset) -> None:
        """Load the bank (rows memory-mapped) and index every class; checks it fits ``dataset``."""
        m = read_manifest(self.path)
        classes = dataset.num_classes or 1
        if m["dim"] != dataset.dim or m["classes"] != classes:
            raise ValueError(f"knn: the bank at {self.path} holds {m['classes']} classes of "
                             f"{m['dim']}-dim rows, the dataset {dataset.name} {classes} of "
                             f"{dataset.dim}; rebuild it with drift-zoo make-bank for this run")
        self.manifest, self.shape = m, tuple(getattr(dataset, "shape", None) or (dataset.dim,))
        self.rows = [load_rows(self.path, c) for c in range(classes)]
        self.banks = [PositiveBank(load_keys(self.path, c), self.index, device=self.device,
                                   **self.opts) for c in range(classes)]
        self.keys = None  # built on the first select, from the run's encoder

    def draw(self, dataset, classes, p: int, u: int, generator: torch.Generator):
        """Placeholder positives [C, 0, D] (``select`` fills them) and fresh uncond reals."""
        self.p = p
        c = 1 if classes is None else len(classes)
        uncond = dataset.sample(c * u, generator).view(c, u, -1) if u else None
        return torch.empty(c, 0, dataset.dim), uncond

    def select(self, batch, x: torch.Tensor, encoder=None):
        """The batch with pos [B, P, D]: each group's nearest bank rows to its x [B, G, D]."""
        if self.keys is None:
            self.keys = KeyMap.from_dict(self.manifest["key"], encoder, self.shape)
        b, g, _ = x.shape
        keys = self.keys(x.detach().reshape(b * g, -1)).reshape(b, g, -1)
        classes = [0] * b if batch.labels is None else batch.labels[::g].tolist()
        pos = torch.stack([self._group(keys[i], int(c)) for i, c in enumerate(classes)])
        return dataclasses.replace(batch, pos=pos.to(x.device))

    def _group(self, keys: torch.Tensor, c: int) -> torch.Tensor:
        """[P, D]: the first P distinct rows of the union of the queries' nearest (module doc)."""
        bank, m = self.banks[c], self.banks[c].size
        if m < self.p:
            raise ValueError(f"knn: class {c} has {m} bank rows, fewer than the {self.p} "
                             f"positives per class of a step; build a larger bank")
        k = min(m, -(-self.p // len(keys)))
        while True:
            idx = nearest_union(bank.search(keys, k)[1].cpu(), self.p)
            if len(idx) == self.p or k == m:
                break
            k = min(m, 2 * k)
        if len(idx) < self.p:  # an approximate index may miss rows: pad from the bank's start
            taken = set(idx.tolist())
            rest = [i for i in range(m) if i not in taken][: self.p - len(idx)]
            idx = torch.cat([idx, torch.tensor(rest, dtype=torch.long)])
        return as_float(self.rows[c][idx.sort().values.numpy()])

    def state_dict(self) -> dict:
        return {"bank": self.identity} if self.manifest else {}

    def load_state_dict(self, state: dict) -> None:
        saved = state.get("bank")
        if saved and self.manifest and saved != self.identity:
            raise ValueError(f"knn: the checkpoint was trained with another positive bank "
                             f"(manifest {saved}) than the one at {self.path} ({self.identity}); "
                             f"point knn.path at that bank or start a new run")
