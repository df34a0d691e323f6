"""A per-class bank of real samples for nearest-neighbour positives (``knn``), on disk.

Each class c has M_c real samples as rows y (what the generator makes: pixels or latents) and
keys k(y) (what the nearest-neighbour search compares), written by ``drift-zoo make-bank``:

    DIR/manifest.json   {"classes": K, "shape": [...], "dim": D, "rows_dtype": "uint8"|"float16",
                         "counts": [M_0, ...], "key": KeyMap.to_dict(), "source": ...}
    DIR/rows_<c>.npy    [M_c, D]  uint8 image bytes (y = r / 127.5 - 1) or float16 rows
    DIR/keys_<c>.npy    [M_c, E]  float32 keys

The key is a fixed function of one sample, so generated samples are keyed exactly as the bank:

    key(y) = P^T concat_s( mean_l phi_s(y)[l] / r_s ) / sqrt(S)          [E]

phi the run's frozen encoder (its S feature sets [L_s, C_s]; without an encoder, the row itself
is the one set), r_s the RMS of set s's features over the first build batch (stored, so no
set dominates by its units; a set whose location mean is ~0, such as a GroupNorm output, adds ~0), P a Gaussian projection [F, E] / sqrt(E) drawn from a stored
seed when the concatenation is wider than E (Johnson-Lindenstrauss: distances kept to a few
percent), else the identity. The manifest records the encoder's name and a fingerprint of its
weights; a run whose encoder differs is refused (its keys would not be comparable).
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch

MANIFEST = "manifest.json"


def fingerprint(encoder) -> str:
    """A short hash of an encoder's weights ('none' without an encoder)."""
    if encoder is None:
        return "none"
    h = hashlib.sha256()
    for name, t in sorted(encoder.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _feature_sets(encoder, rows: torch.Tensor, shape) -> dict[str, torch.Tensor]:
    """{set: [n, L_s, C_s]} of the frozen encoder (the row itself, one location, without one)."""
    if encoder is None:
        return {"rows": rows.float()[:, None]}
    with torch.no_grad():
        feats = encoder(rows.float().reshape(len(rows), *shape))
    return {name: f.float() for name, f in sorted(feats.items())}


class KeyMap:
    """rows [n, D] -> keys [n, E] (module doc); ``fit`` on real rows, ``to_dict`` / ``from_dict``."""

    def __init__(self, encoder, shape, set_scale: dict[str, float], key_dim: int, seed: int,
                 name: str, width: int):
        self.encoder, self.shape, self.set_scale = encoder, tuple(shape), dict(set_scale)
        self.key_dim, self.seed, self.name, self.width = int(key_dim), int(seed), name, int(width)
        self.dim = min(self.key_dim, self.width)
        g = torch.Generator().manual_seed(self.seed)
        self.proj = (None if self.width <= self.key_dim else
                     torch.randn(self.width, self.key_dim, generator=g) / math.sqrt(self.key_dim))

    @classmethod
    def fit(cls, encoder, rows: torch.Tensor, shape, key_dim: int = 64, seed: int = 0):
        """Set scales r_s from real rows [n, D] (n >= 2), the projection from ``seed``."""
        from zoo.registry import name_of
        sets = _feature_sets(encoder, rows, shape)
        rms = {s: float(f.pow(2).mean().sqrt()) for s, f in sets.items()}
        floor = 1e-3 * max(max(rms.values()), 1e-12)  # a set that is ~0 everywhere stays ~0
        scale = {s: max(r, floor) for s, r in rms.items()}
        width = sum(f.shape[2] for f in sets.values())
        return cls(encoder, shape, scale, key_dim, seed,
                   "none" if encoder is None else name_of(encoder), width)

    def __call__(self, rows: torch.Tensor) -> torch.Tensor:
        means = {s: f.mean(1) for s, f in _feature_sets(self.encoder, rows, self.shape).items()}
        if set(means) != set(self.set_scale):
            raise ValueError(f"knn keys: the encoder's feature sets {sorted(means)[:4]}... are "
                             f"not the bank's {sorted(self.set_scale)[:4]}...; rebuild the bank "
                             f"with drift-zoo make-bank for this run's encoder")
        f = torch.cat([means[s] / self.set_scale[s] for s in sorted(means)], 1)
        f = f / math.sqrt(len(means))
        return f if self.proj is None else f @ self.proj.to(f.device)

    def to_dict(self) -> dict:
        return {"encoder": self.name, "fingerprint": fingerprint(self.encoder),
                "set_scale": self.set_scale, "key_dim": self.key_dim, "seed": self.seed,
                "width": self.width}

    @classmethod
    def from_dict(cls, d: dict, encoder, shape) -> "KeyMap":
        """The bank's key map for the run's ``encoder``; ValueError when its weights differ."""
        if fingerprint(encoder) != d["fingerprint"]:
            from zoo.registry import name_of
            have = "no encoder" if encoder is None else f"encoder {name_of(encoder)}"
            raise ValueError(f"knn: the bank's keys were made with encoder {d['encoder']} "
                             f"(weights {d['fingerprint']}), this run has {have} (weights "
                             f"{fingerprint(encoder)}); rebuild the bank with drift-zoo make-bank "
                             f"--gin_file <this run's gin>")
        return cls(encoder, shape, d["set_scale"], d["key_dim"], d["seed"], d["encoder"],
                   d["width"])


def read_manifest(folder) -> dict:
    """The bank's manifest; FileNotFoundError naming the command that writes one."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"knn: no positive bank at {folder} (missing {MANIFEST}); write "
                                f"one with drift-zoo make-bank --gin_file <run gin> --out {folder}")
    return json.loads(path.read_text())


def load_rows(folder, c: int) -> np.ndarray:
    """rows_<c>.npy memory-mapped: [M_c, D] uint8 or float16."""
    return np.load(Path(folder) / f"rows_{c}.npy", mmap_mode="r")


def load_keys(folder, c: int) -> np.ndarray:
    return np.load(Path(folder) / f"keys_{c}.npy")


def as_float(rows: np.ndarray) -> torch.Tensor:
    """Stored rows -> float32 [n, D] (uint8 image bytes -> [-1, 1])."""
    t = torch.from_numpy(np.ascontiguousarray(rows))
    return t.float().div_(127.5).sub_(1.0) if t.dtype == torch.uint8 else t.float()


def nearest_union(idx: torch.Tensor, p: int) -> torch.Tensor:
    """The first ``p`` distinct bank rows of idx [N, k] (each query's neighbours nearest first)
    taken rank by rank: every query's 1st neighbour, then every query's 2nd, ... -> [<= p] int64.
    Entries < 0 (an approximate index found fewer) are skipped."""
    order = idx.t().reshape(-1)
    order = order[order >= 0]
    if len(order) == 0:
        return order
    uniq, inv = torch.unique(order, return_inverse=True)
    first = torch.full((len(uniq),), len(order), dtype=torch.long)
    first.scatter_reduce_(0, inv, torch.arange(len(order)), reduce="amin")
    return uniq[first.argsort()][:p]
