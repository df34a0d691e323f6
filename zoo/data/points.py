"""Any point cloud saved as an ``[N, D]`` ``.npy`` array, as a dataset (empirical distribution).

    p_hat = 1/|T| sum_{i in T} delta(x - X_i)           training draws: rows of T, with replacement
    held out: rows of H,  T and H a fixed split of the N rows

Split: when N >= 10, a permutation of the rows under the fixed seed SPLIT_SEED holds out the
first floor(N / 5) rows (20%) as H and trains on the rest (T, disjoint from H). When N < 10
there is too little to split, so T = H = all rows (held-out metrics are then in-sample).

``held_out(n)`` is deterministic (seed HELD_OUT_SEED + n): n distinct rows of H, a fixed-seed
random subset, when n <= |H| (all of H, permuted, when n = |H|); when n > |H| it draws n rows
of H with replacement. Distinct rows where possible keep nearest-neighbour metrics unbiased.

Every problem with the file is reported at construction, with one message naming the problem
and the fix: a missing file (FileNotFoundError), a file numpy cannot load, an .npz archive, an
array that is not 2-D, not of a float or integer dtype (integers are converted to float32),
with NaN / inf rows, or with fewer than 2 rows (all ValueError).
"""
from __future__ import annotations

import os
import zipfile

import numpy as np
import torch

from zoo.data import HELD_OUT_SEED, Dataset
from zoo.registry import register

SPLIT_SEED = 20_240_601  # the train / held-out permutation of the rows
HELD_OUT_FRACTION = 5  # hold out N // 5 rows ...
MIN_ROWS_TO_SPLIT = 10  # ... when N >= 10
NPY_MAGIC = b"\x93NUMPY"  # first bytes of every .npy file


def _load_array(path: str) -> np.ndarray:
    """Load ``path`` with numpy (no pickles); raise FileNotFoundError / ValueError otherwise."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"points file '{path}' does not exist; pass the path of an [N, D] array saved "
            f"with numpy.save(path, array)")
    fix = "save a single [N, D] numeric array with numpy.save(path, array)"
    if os.path.isdir(path):
        raise ValueError(f"points file '{path}' is a directory, not a .npy file; {fix}")
    if zipfile.is_zipfile(path):
        raise ValueError(f"points file '{path}' is an .npz archive, not an .npy array; "
                         f"{fix} (e.g. numpy.save(path, numpy.load(npz)['<key>']))")
    with open(path, "rb") as fh:
        if fh.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise ValueError(f"points file '{path}' could not be loaded as a .npy array (it does "
                             f"not start with the .npy header; a text or .csv file?); {fix}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        if "allow_pickle" in str(err):  # an object array: never unpickle, say what is wrong
            raise ValueError(f"points file '{path}' holds an object array, which is not a numeric "
                             f"float or integer array; {fix}") from err
        raise ValueError(f"points file '{path}' could not be loaded as a .npy array ({err}); "
                         f"{fix}") from err


def _validate(path: str, array: np.ndarray) -> np.ndarray:
    """Check a loaded array is a finite numeric [N >= 2, D >= 1] array; return it as float32."""
    if array.ndim != 2 or array.shape[1] < 1:
        raise ValueError(
            f"points file '{path}' holds an array of shape {array.shape}; expected a 2-D [N, D] "
            f"array with one point per row; reshape it (e.g. array.reshape(len(array), -1)) "
            f"and save it again")
    if array.dtype.kind not in "fiu":
        raise ValueError(
            f"points file '{path}' holds an array of dtype {array.dtype}, which is not a numeric "
            f"float or integer array; convert it (e.g. array.astype(numpy.float32)) "
            f"and save it again")
    if array.shape[0] < 2:
        raise ValueError(
            f"points file '{path}' has {array.shape[0]} row(s); need at least 2 points "
            f"(one per row) to train and evaluate on; add more rows")
    data = array.astype(np.float32)
    finite = np.isfinite(data).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"points file '{path}' has non-finite values (NaN or inf, after conversion to float32) "
            f"in {len(bad)} of {len(data)} rows (first: row {bad[0]}); drop or impute those rows, "
            f"e.g. array[numpy.isfinite(array).all(axis=1)]")
    return data


def split_rows(n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train_index [T], held_index [H]) int64: a fixed 80/20 split, or all rows twice if N < 10."""
    if n_rows < MIN_ROWS_TO_SPLIT:
        every = torch.arange(n_rows)
        return every, every.clone()
    perm = torch.randperm(n_rows, generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_held = n_rows // HELD_OUT_FRACTION
    return perm[n_held:], perm[:n_held]


@register("dataset", "points")
class points(Dataset):
    """The rows of an [N, D] .npy file at ``path``; dim = D.

    Attributes:
        data: [N, D] float32, all rows of the file.
        train_index: [T] int64 rows that ``sample`` draws from.
        held_index: [H] int64 rows that ``held_out`` draws from (disjoint from train if N >= 10).
    """

    needs_args = ("path",)

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self.data = torch.from_numpy(_validate(self.path, _load_array(self.path)))
        self.dim = int(self.data.shape[1])
        self.train_index, self.held_index = split_rows(len(self.data))
        self._train = self.data[self.train_index]
        self._held = self.data[self.held_index]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, D] training rows drawn uniformly with replacement, using only ``generator``."""
        idx = torch.randint(len(self._train), (n,), generator=generator, device=generator.device)
        return self._train.to(idx.device)[idx]

    def held_out(self, n: int) -> torch.Tensor:
        """[n, D] held-out rows, fixed seed: distinct rows if n <= H, else with replacement."""
        generator = torch.Generator().manual_seed(HELD_OUT_SEED + n)
        count = len(self._held)
        if n <= count:
            idx = torch.randperm(count, generator=generator)[:n]
        else:
            idx = torch.randint(count, (n,), generator=generator)
        return self._held[idx]

    def __repr__(self) -> str:
        return f"points(path={self.path!r}, N={len(self.data)}, dim={self.dim})"
