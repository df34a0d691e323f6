"""Positive banks too large for the kernel: the field on the k nearest positives from a FAISS index.

A bank Y = {y_1 .. y_M} (M up to millions, e.g. every ImageNet feature of a class) cannot
enter the N x M kernel. The attraction of the split field (Deng et al. 2026, Eq. 8-10) is

    V+(x) = sum_{m<=M} k(x, y_m) (y_m - x) / sum_{m<=M} k(x, y_m)

and, for a kernel that decays with distance, it is dominated by the nearest y_m. So for every
generated x we take its k nearest bank rows kNN(x) from a FAISS index (Johnson, Douze and
Jegou 2019, "Billion-scale similarity search with GPUs"; exact ``IndexFlatL2``, inverted
lists ``IndexIVFFlat``, or the graph ``IndexHNSWFlat`` of Malkov and Yashunin 2018) and
compute the field on those only. Two truncations:

    union    P'(group) = U_{n<=N} kNN(x_n)  (deduplicated, P' <= N k), then any registered field
             unchanged: ``field(x, pos=Y[P'], neg, pos_w=...)`` (``knn_positives``). Each x_n
             sees a superset of its own kNN, so its error is never larger than per-row's; fields
             with a column normaliser (meanshift's softmax over generated rows) keep their
             coupling: every kept bank row's column sum over n is exact.
    per-row  V+(x_n) on kNN(x_n) alone: O(N k D) after the query instead of O(N P' D), for the
             row-normalised split field only (``knn_split``); the repulsion stays exact.

The exact full-bank fields (``exact_split``, ``exact_meanshift``) stream the bank in blocks:
the row softmax over M is a running log-sum-exp (max, sum, weighted sum rescaled per block), and
meanshift's column softmax over the N generated rows is local to each bank row, so its two
passes (row normalisers, then affinities) never hold more than N x ``block`` logits.
Shapes: bank [M, D] float32, x [B, N, D], pos [B, P', D], pos_w [B, P'], V [B, N, D].
"""
from __future__ import annotations

import glob
import io
import math
import tarfile
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch

from zoo.fields import SELF_MASK, assemble, pull, repulsion, row_normalise
from zoo.kernels import cdist

INDEXES = ("flat", "ivf", "hnsw")
DEVICES = ("auto", "cpu", "cuda")
GPU_MAX_K = 2048  # FAISS GPU search limit on k
CHECK_ROWS = 65536  # rows per block when validating or streaming a bank


# ------------------------------------------------------------------ loading and validation

def check_features(a, where: str = "bank", dim: int | None = None) -> np.ndarray:
    """a -> [M, D] float32 numpy (mmaps kept); ValueError on empty / not 2-D / wrong D / NaN / inf."""
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a
    a = a if isinstance(a, np.ndarray) else np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{where}: features must be a 2-D [M, D] array, got shape {a.shape}; "
                         "flatten per-location features to rows first")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{where}: the bank is empty (shape {a.shape}); give at least one row")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{where}: features have D={a.shape[1]} but dim={dim} was asked; build "
                         "the bank from the feature set the field runs on")
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    for i in range(0, a.shape[0], CHECK_ROWS):
        bad = ~np.isfinite(a[i:i + CHECK_ROWS]).all(1)
        if bad.any():
            raise ValueError(f"{where}: row {i + int(bad.argmax())} has NaN or inf; drop or "
                             "recompute the non-finite rows before building the bank")
    return a


def load_npy(path, mmap: bool = True) -> np.ndarray:
    """One .npy file -> [M, D] array (memory-mapped when ``mmap``); FileNotFoundError names it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"bank file {path} does not exist; check the path")
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def shard_files(spec) -> list[Path]:
    """A directory (its *.npy and *.tar), a glob, a file or a list of them -> sorted shard paths."""
    if isinstance(spec, (list, tuple)):
        return [p for s in spec for p in shard_files(s)]
    spec = str(spec)
    if any(c in spec for c in "*?["):
        paths = [Path(p) for p in sorted(glob.glob(spec))]
    elif Path(spec).is_dir():
        paths = sorted(p for p in Path(spec).iterdir() if p.suffix in (".npy", ".tar"))
    else:
        paths = [Path(spec)] if Path(spec).is_file() else []
    if not paths:
        raise FileNotFoundError(f"no bank shards (.npy or .tar) found at '{spec}'; give a "
                                "directory, a glob such as 'feats/*.npy', or a file")
    return paths


def _tar_arrays(path: Path) -> list[tuple[str, np.ndarray]]:
    """(name, array) of every member of a tar shard whose name ends in .npy, sorted by name."""
    with tarfile.open(path) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".npy")),
                         key=lambda m: m.name)
        return [(f"{path}:{m.name}", np.load(io.BytesIO(tar.extractfile(m).read()),
                                             allow_pickle=False)) for m in members]


def read_shards(spec, dim: int | None = None) -> np.ndarray:
    """Concatenate shards (see ``shard_files``; tar members in name order) -> [M, D] float32."""
    parts = []
    for path in shard_files(spec):
        named = _tar_arrays(path) if path.suffix == ".tar" else [(str(path), load_npy(path))]
        for name, arr in named:
            parts.append(check_features(arr, f"shard {name}", dim))
            dim = parts[-1].shape[1]
    if not parts:
        raise ValueError(f"the shards at '{spec}' hold no .npy arrays")
    return np.concatenate(parts, 0)


# ------------------------------------------------------------------ the index

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


# ------------------------------------------------------------------ truncated positives

def _bank_of(banks, classes, b: int) -> PositiveBank:
    if isinstance(banks, PositiveBank):
        return banks
    if classes is None:
        raise ValueError("per-class banks need classes [B] (the class of each group)")
    c = int(classes[b])
    if c not in (banks if isinstance(banks, Mapping) else range(len(banks))):
        known = sorted(banks) if isinstance(banks, Mapping) else f"0..{len(banks) - 1}"
        raise ValueError(f"no positive bank for class {c}; the banks hold classes {known}")
    return banks[c]


def knn_positives(banks: PositiveBank | Mapping | Sequence, x: torch.Tensor, k: int,
                  classes=None):
    """Union of the k nearest bank rows of every x row, per group -> (pos [B, P', D], pos_w [B, P']).

    x [B, N, D]; ``banks`` one bank for every group or a dict / list class -> bank with
    ``classes`` [B]. Rows are deduplicated (each bank row counts once, as in the full bank) and
    in bank order; groups with fewer than P' rows are padded with copies of their first row at
    weight 0 (exactly ignored by fields that weight the kernel, e.g. split; meanshift's
    unweighted softmax normalisers still see them). Pass both to the field / drift step.
    """
    b, _, d = x.shape
    pos = []
    for g in range(b):
        bank = _bank_of(banks, classes, g)
        _, idx = bank.search(x[g], k)                                    # [N, k]
        pos.append(bank.rows(torch.unique(idx[idx >= 0]), x.device))    # [P'_g, D]
    width = max(len(rows) for rows in pos)
    pos_w = x.new_zeros(b, width)
    out = x.new_empty(b, width, d)
    for g, rows in enumerate(pos):
        out[g, : len(rows)], pos_w[g, : len(rows)] = rows, 1.0
        out[g, len(rows):] = rows[:1]
    return out, pos_w


def knn_rows(banks, x: torch.Tensor, k: int, classes=None):
    """Each x row's own k nearest bank rows -> (y [B, N, k, D], w [B, N, k]); w = 0 where an
    approximate index found fewer than k (y is then a copy of row 0)."""
    ys, ws = [], []
    for g in range(x.shape[0]):
        bank = _bank_of(banks, classes, g)
        _, idx = bank.search(x[g], k)                                    # [N, k]
        ys.append(bank.rows(idx.clamp(min=0), x.device))
        ws.append((idx >= 0).float())
    return torch.stack(ys), torch.stack(ws)


@torch.no_grad()
def per_row_split(x, y, w, neg=None, *, kernel, x_w=None, neg_w=None,
                  self_negatives: bool = True) -> torch.Tensor:
    """split whose attraction for x_n runs over its own rows y[:, n] only; V [B, N, D].

    x [B, N, D], y [B, N, k, D], w [B, N, k] (from ``knn_rows``), neg [B, Q, D] or None; the
    repulsion (x itself and neg) is exact, as in ``split``.
    """
    x = x.float()
    b, n, d = x.shape
    xr, yr = x.reshape(b * n, 1, d), y.reshape(b * n, -1, d)
    a = row_normalise(kernel.log_profile(cdist(xr, yr)), w.reshape(b * n, -1))  # [BN, 1, k]
    v_pos = pull(a, yr, xr).reshape(b, n, d)
    t = assemble(x, x[:, :0], neg, x_w, None, neg_w, self_negatives)
    return v_pos if t.neg.shape[1] == 0 else v_pos - repulsion(x, t, kernel)


def knn_split(x, banks, neg=None, *, kernel, k: int, classes=None, **kw) -> torch.Tensor:
    """``per_row_split`` on ``knn_rows(banks, x, k, classes)``: one query, then the field."""
    return per_row_split(x, *knn_rows(banks, x, k, classes), neg, kernel=kernel, **kw)


# ------------------------------------------------------------------ exact full-bank references

@torch.no_grad()
def exact_attraction(x: torch.Tensor, bank: PositiveBank, kernel, block: int = 65536):
    """V+ over all M bank rows by a running log-sum-exp over bank blocks: x [B,N,D] -> [B,N,D]."""
    b, n, d = x.shape
    xf = x.float().reshape(1, b * n, d)
    top = xf.new_full((1, b * n, 1), -math.inf)
    den, num = xf.new_zeros(1, b * n, 1), xf.new_zeros(1, b * n, d)
    for y in bank.blocks(block, x.device):
        logits = kernel.log_profile(cdist(xf, y[None]))                 # [1, BN, m]
        new = torch.maximum(top, logits.amax(-1, keepdim=True))
        old, e = (top - new).exp(), (logits - new).exp()
        den, num, top = den * old + e.sum(-1, keepdim=True), num * old + e @ y, new
    return (num / den - xf).reshape(b, n, d)


@torch.no_grad()
def exact_split(x, bank: PositiveBank, neg=None, *, kernel, x_w=None, neg_w=None,
                self_negatives: bool = True, block: int = 65536) -> torch.Tensor:
    """The split field with every bank row a positive (weight 1), streamed; V [B, N, D]."""
    x = x.float()
    t = assemble(x, x[:, :0], neg, x_w, None, neg_w, self_negatives)
    v_pos = exact_attraction(x, bank, kernel, block)
    return v_pos if t.neg.shape[1] == 0 else v_pos - repulsion(x, t, kernel)


def _affinity(logits, row_lse, floor: float) -> torch.Tensor:
    """meanshift's sqrt(rowsoftmax * colsoftmax), floored, given the full row normaliser."""
    log_a = logits - 0.5 * (row_lse + torch.logsumexp(logits, -2, keepdim=True))
    return (log_a.clamp(min=0.5 * math.log(floor)) if floor > 0 else log_a).exp()


@torch.no_grad()
def exact_meanshift(x, bank: PositiveBank, neg=None, *, kernel, x_w=None, neg_w=None,
                    self_negatives: bool = True, affinity_floor: float = 1e-6,
                    block: int = 65536) -> torch.Tensor:
    """``meanshift`` with every bank row a positive, in two streamed passes; V [B, N, D]."""
    x = x.float()
    t = assemble(x, x[:, :0], neg, x_w, None, neg_w, self_negatives)
    l_neg = kernel.log_profile(cdist(x, t.neg))
    mask = t.self_mask(x.shape[1])
    l_neg = l_neg if mask is None else l_neg.masked_fill(mask, SELF_MASK)
    bank_logits = lambda y: kernel.log_profile(cdist(x, y[None].expand(x.shape[0], -1, -1)))
    row = torch.logsumexp(l_neg, -1, keepdim=True)
    for y in bank.blocks(block, x.device):
        row = torch.logaddexp(row, torch.logsumexp(bank_logits(y), -1, keepdim=True))
    s_pos, acc = x.new_zeros(*x.shape[:2], 1), torch.zeros_like(x)
    for y in bank.blocks(block, x.device):
        a = _affinity(bank_logits(y), row, affinity_floor)
        s_pos, acc = s_pos + a.sum(-1, keepdim=True), acc + a @ y
    a_neg = _affinity(l_neg, row, affinity_floor) * t.neg_w[:, None, :]
    v_pos = acc - s_pos * x
    return a_neg.sum(-1, keepdim=True) * v_pos - s_pos * pull(a_neg, t.neg, x)
