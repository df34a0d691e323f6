"""Sweep files (gin/sweeps/*.py) and command-line axes -> a ``Sweep``.

A sweep file is plain Python that sets module constants:

    GIN_FILES = ["gin/experiments/toy.gin"]      # base config (str or list)
    PARAMS = ["train.steps = 300"]               # bindings shared by every point (optional)
    SEEDS = [0, 1, 2]                            # one run per seed (optional, default [0])
    AXES = product(sweep("train.kernel", ["@laplace", "@gaussian"]), ...)   # optional
    NAME = "toy_kernels"                         # optional, default: the file's stem

Command-line ``--axis`` values are crossed (product) with the file's axes, ``--gin_param``
bindings are added to PARAMS, ``--gin_file`` and ``--seeds`` replace the file's.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from zoo.sweeps.spec import Sweep, parse_axis, product

ROOT = Path(__file__).resolve().parent.parent.parent


def normalise_gin_file(path: str) -> str:
    """A gin file as a path relative to the repository root when it lies inside it.

    tools/train.py runs with cwd = the repository root, and the run's config text names
    the file as given, so the same file must be spelled the same way from any cwd. The file is
    found as ``zoo.config.resolve`` finds it (as given, then from the root).
    """
    from zoo.config import ConfigError, resolve  # late: zoo.config imports zoo (torch)

    try:
        full = resolve(path).resolve()
    except ConfigError as err:
        raise FileNotFoundError(str(err)) from None
    try:
        return str(full.relative_to(ROOT))
    except ValueError:
        return str(full)


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(f"sweep_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot load sweep file {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value or [])


def build_sweep(sweep_file: str | None = None, *, gin_files=(), params=(), axes=(),
                seeds: list[int] | None = None, name: str | None = None) -> Sweep:
    """Combine a sweep file (optional) with command-line overrides into a ``Sweep``."""
    base, fixed, file_axes, file_seeds, file_name = [], [], [{}], [0], None
    if sweep_file:
        path = Path(sweep_file)
        if not path.is_file() and (ROOT / sweep_file).is_file():
            path = ROOT / sweep_file
        if not path.is_file():
            raise FileNotFoundError(f"sweep file '{sweep_file}' not found; sweeps live in gin/sweeps/")
        mod = _module(path)
        base = _as_list(getattr(mod, "GIN_FILES", None))
        fixed = _as_list(getattr(mod, "PARAMS", None))
        file_axes = list(getattr(mod, "AXES", None) or [{}])
        file_seeds = list(getattr(mod, "SEEDS", [0]))
        file_name = getattr(mod, "NAME", None) or path.stem
    gin_files = [normalise_gin_file(f) for f in (list(gin_files) or base)]
    if not gin_files:
        raise ValueError("a sweep needs a base config: GIN_FILES in the sweep file or --gin_file")
    all_axes = product(file_axes, *[parse_axis(a) if isinstance(a, str) else a for a in axes])
    params = fixed + list(params)
    seeds = list(seeds) if seeds is not None else file_seeds
    if not (name or file_name):
        # stable while values are added to an axis: hash the base, fixed params and axis keys
        keys = sorted({k for a in all_axes for k in a})
        digest = hashlib.sha1(repr((gin_files, params, keys)).encode()).hexdigest()[:6]
        name = f"{Path(gin_files[-1]).stem}-{digest}"
    name = name or file_name
    if os.sep in name or name in (".", ".."):
        raise ValueError(f"sweep name '{name}' must be a plain folder name")
    return Sweep(name=name, gin_files=gin_files, params=params, axes=all_axes, seeds=seeds)
