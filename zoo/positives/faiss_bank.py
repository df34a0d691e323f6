"""Positive banks too large for the kernel: ``PositiveBank``, features [M, D] and their FAISS index.

A bank Y = {y_1 .. y_M} (M up to millions, e.g. every ImageNet feature of a class) cannot
enter the N x M kernel. The attraction of the split field (Deng et al. 2026, Eq. 8-10) is

    V+(x) = sum_{m<=M} k(x, y_m) (y_m - x) / sum_{m<=M} k(x, y_m)

and, for a kernel that decays with distance, it is dominated by the nearest y_m. So for every
generated x we take its k nearest bank rows

    kNN(x) = argmin_{|S| = k} sum_{m in S} ||x - y_m||^2

from a FAISS index (Johnson, Douze and Jegou 2019, "Billion-scale similarity search with
GPUs"): exact ``IndexFlatL2``, inverted lists ``IndexIVFFlat`` (seeded k-means, ``nprobe``
lists searched), or the graph ``IndexHNSWFlat`` of Malkov and Yashunin 2018 (``ef_search``),
moved to the GPU when faiss-gpu and CUDA are there (``device="auto"``; never HNSW).

This module holds the bank and its index; the rest of the family:

    zoo.positives.bank_io         loading and validating features (arrays, .npy, shards, tar)
    zoo.positives.knn_positives   the field on the k nearest positives (union and per-row truncation)
    zoo.positives.bank_reference  the exact full-bank fields, streamed over the bank

Shapes: bank [M, D] float32; queries x [n, D]; search -> (squared distances, indices) [n, k].
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from zoo.positives.bank_io import CHECK_ROWS, check_features, load_npy, read_shards

INDEXES = ("flat", "ivf", "hnsw")
DEVICES = ("auto", "cpu", "cuda")
GPU_MAX_K = 2048  # FAISS GPU search limit on k


def gpu_available() -> bool:
    """True when faiss was built with GPU support, sees a GPU, and torch has CUDA."""
    import faiss
    return (hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
            and torch.cuda.is_available())


def _resolve_device(device: str, kind: str) -> str:
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got '{device}'")
    if device == "cuda" and not gpu_available():
        raise ValueError("device='cuda' needs faiss with GPU support (pip install '.[gpu]') and "
                         "CUDA; use device='cpu' or 'auto'")
    if device == "cuda" and kind == "hnsw":
        raise ValueError("FAISS has no GPU HNSW index; use index='hnsw' with device='cpu', or "
                         "index='flat' / 'ivf' on the GPU")
    if device == "auto":
        return "cuda" if kind != "hnsw" and gpu_available() else "cpu"
    return device


def build_index(feats: np.ndarray, kind: str, seed: int, nlist: int | None, hnsw_m: int):
    """An L2 FAISS index over feats [M, D] (CPU); IVF k-means is seeded and trained on a seeded
    sample of at most 64 nlist rows. nlist defaults to min(sqrt(M), M / 39)."""
    import faiss
    m, d = feats.shape
    if kind == "flat":
        index = faiss.IndexFlatL2(d)
    elif kind == "ivf":
        nlist = nlist or max(1, min(round(math.sqrt(m)), m // 39))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, int(nlist), faiss.METRIC_L2)
        index.cp.seed = seed
        rows = np.random.default_rng(seed).permutation(m)[: 64 * int(nlist)]
        index.train(np.ascontiguousarray(feats[np.sort(rows)]))
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, int(hnsw_m), faiss.METRIC_L2)
    else:
        raise ValueError(f"index must be one of {INDEXES}, got '{kind}'")
    for i in range(0, m, CHECK_ROWS * 4):
        index.add(np.ascontiguousarray(feats[i:i + CHECK_ROWS * 4]))
    return index


class PositiveBank:
    """A bank of positive features [M, D] and its FAISS index (``flat`` exact, ``ivf``, ``hnsw``).

    ``features`` is a tensor, an array, a ``.npy`` path or shards (``from_shards``); it is
    validated (``check_features``). ``nprobe`` (ivf) and ``ef_search`` (hnsw) trade recall for
    speed at query time. HNSW built with several OpenMP threads may differ between runs; build
    with ``faiss.omp_set_num_threads(1)`` for a bit-identical graph. The GPU index needs faiss-gpu.
    """

    def __init__(self, features, index: str = "flat", *, dim: int | None = None,
                 device: str = "auto", seed: int = 0, nlist: int | None = None,
                 nprobe: int = 8, hnsw_m: int = 32, ef_search: int = 64):
        if isinstance(features, (str, Path)):
            features = load_npy(features)
        self.features = check_features(features, "PositiveBank", dim)
        self.kind, self.device = index, _resolve_device(device, index)
        self.nprobe, self.ef_search = int(nprobe), int(ef_search)
        self.index = build_index(self.features, index, seed, nlist, hnsw_m)
        if index == "ivf":
            self.index.nprobe = self.nprobe
        if self.device == "cuda":
            import faiss
            self._res = faiss.StandardGpuResources()  # must outlive the GPU index
            self.index = faiss.index_cpu_to_gpu(self._res, torch.cuda.current_device(), self.index)
            if index == "ivf":
                faiss.GpuParameterSpace().set_index_parameter(self.index, "nprobe", self.nprobe)

    @classmethod
    def from_shards(cls, spec, **kw) -> "PositiveBank":
        """From a directory / glob / list of .npy files and .tar shards of .npy members."""
        return cls(read_shards(spec, kw.get("dim")), **kw)

    @property
    def size(self) -> int:
        return self.features.shape[0]

    @property
    def dim(self) -> int:
        return self.features.shape[1]

    def __len__(self) -> int:
        return self.size

    def _check_query(self, x: torch.Tensor, k: int) -> None:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"queries must be [n, {self.dim}] for this bank, got {tuple(x.shape)}")
        if not 1 <= k <= self.size:
            raise ValueError(f"k={k} nearest positives asked of a bank of M={self.size} rows; "
                             f"use 1 <= k <= {self.size} (k = M is the exact full-bank field)")
        if self.device == "cuda" and k > GPU_MAX_K:
            raise ValueError(f"FAISS GPU search allows k <= {GPU_MAX_K}, got {k}; use device='cpu'")

    def search(self, x: torch.Tensor, k: int):
        """k nearest rows of x [n, D]: (squared distances [n, k], indices [n, k] int64 with -1
        where an approximate index found fewer than k), on x's device, nearest first."""
        self._check_query(x, int(k))
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = max(self.ef_search, int(k))
        q = np.ascontiguousarray(x.detach().float().cpu().numpy())
        dist, idx = self.index.search(q, int(k))
        return torch.from_numpy(dist).to(x.device), torch.from_numpy(idx).to(x.device)

    def rows(self, idx: torch.Tensor, device=None) -> torch.Tensor:
        """Bank rows at idx (any shape, values in [0, M)) -> [*idx.shape, D] float32."""
        flat = idx.reshape(-1).cpu().numpy()
        out = torch.from_numpy(np.ascontiguousarray(self.features[flat]))
        return out.reshape(*idx.shape, self.dim).to(device or idx.device)

    def blocks(self, block: int, device) -> Iterator[torch.Tensor]:
        """The bank in consecutive [<= block, D] tensors on ``device``."""
        for i in range(0, self.size, block):
            yield torch.from_numpy(np.ascontiguousarray(self.features[i:i + block])).to(device)

    def __repr__(self) -> str:
        return f"PositiveBank(M={self.size}, D={self.dim}, index='{self.kind}', device='{self.device}')"
