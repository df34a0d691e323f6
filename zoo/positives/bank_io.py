"""Loading and validating positive banks: features [M, D] float32 from arrays, .npy files, shards.

A bank is the set Y = {y_1 .. y_M} of positive features the k-NN truncated field draws from
(``zoo.positives.faiss_bank.PositiveBank``; M up to millions, e.g. every ImageNet feature of a class).
Sources, in the order ``read_shards`` concatenates them:

    tensor / array [M, D]          -> float32 numpy (memory maps kept)
    one .npy file                  -> np.load(mmap_mode="r")
    a folder, a glob, a list       -> its *.npy and *.tar files, sorted by path
    a .tar shard                   -> its *.npy members, sorted by member name

Every part is checked (``check_features``) before use: 2-D, non-empty, the same D throughout
(or the asked ``dim``), and finite, scanned in blocks of ``CHECK_ROWS`` rows so a memory-mapped
bank is never read whole. Each refusal is a ValueError / FileNotFoundError naming the part and
the fix.
"""
from __future__ import annotations

import glob
import io
import tarfile
from pathlib import Path

import numpy as np
import torch

CHECK_ROWS = 65536  # rows per block when validating or streaming a bank


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
