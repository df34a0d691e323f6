r"""Write the per-class positive bank of a run's ``knn`` positives: real rows and their keys.

    drift-zoo make-bank --gin_file gin/experiments/imagenet_mini_pixel.gin \
        --out data/imagenet-mini/bank --per-class 10000
    drift-zoo make-bank --gin_file gin/experiments/shapes.gin --out /tmp/bank --per-class 1000

The run's gin config gives the dataset and the frozen encoder (``train.dataset``,
``train.encoder``), so the bank holds exactly what the run's positives would be and is keyed in
the run's feature space (``zoo.positives.knn_bank``). Rows come from the dataset itself:

* shards (``@webdataset()``): its training shards read in passes, JPEGs with the loader's random
  crop and flip, so every pass adds new views (``--max-passes``); latent shards (``field='npy'``)
  have no augmentation and give each stored latent once;
* any other class-conditional dataset: ``sample_class`` draws under ``--seed``, at most
  ``--max-passes`` x ``--per-class`` per class (a finite dataset such as digits runs dry).

Rows are kept once (a repeated row would count twice in the kernel sums). Each class stops at
``--per-class`` rows; a class with fewer in the source keeps what it got (the counts are
printed and stored). Then train with ``train.positives = @knn()`` and
``knn.path = '<out>'``. Writes ``<out>/manifest.json``, ``rows_<c>.npy``, ``keys_<c>.npy``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from zoo.cli import parser
from zoo.run.report import print_error

CHUNK = 256  # rows drawn and keyed per call


def parse(argv):
    ap = parser("make-bank", __doc__)
    ap.add_argument("--gin_file", action="append", default=[], help="the run's gin file(s)")
    ap.add_argument("--gin_param", action="append", default=[], help="gin binding (repeatable)")
    ap.add_argument("--out", required=True, help="bank folder (manifest.json, rows_*, keys_*)")
    ap.add_argument("--per-class", type=int, default=10000, help="rows per class")
    ap.add_argument("--key-dim", type=int, default=64, help="key width E (projected above it)")
    ap.add_argument("--max-passes", type=int, default=100,
                    help="passes over the shards at most (JPEG shards: new crops each pass)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def run_parts(gin_files, gin_params):
    """(dataset, frozen encoder or None) of a run's gin config, built as ``train`` builds them."""
    import gin

    from zoo.config import parse as parse_gin
    from zoo.run.feature_step import check_encoder

    if not gin_files:
        raise ValueError("make-bank: give the run's --gin_file")
    parse_gin(gin_files, gin_params)
    bound = gin.get_bindings("train")
    if "dataset" not in bound:
        raise ValueError("make-bank: the gin config binds no train.dataset")
    dataset = bound["dataset"]
    return dataset, check_encoder(bound.get("encoder"), dataset, 1)


def batches(dataset, per_class: int, seed: int, max_passes: int):
    """Yield (rows [n, D] uint8 or float, labels [n]) real samples of ``dataset`` (module doc)."""
    if hasattr(dataset, "loader"):  # shards: the training shards, pass after pass
        from zoo.data.shards.loader import WebLoader
        jpg = dataset.field == "jpg"
        loader = WebLoader(dataset.loader.urls, size=dataset.size or 1, batch_size=CHUNK,
                           num_workers=0, device="cpu", seed=seed, epochs=max_passes if jpg else 1,
                           field=dataset.field, uint8=True, flip=jpg, random_crop=jpg,
                           rank=0, world_size=1)
        try:
            for x, y in loader:
                yield x.reshape(len(x), -1), y
        finally:
            loader.close()
        return
    if not dataset.num_classes:
        raise ValueError(f"make-bank: dataset {dataset.name} is not class-conditional")
    g = torch.Generator().manual_seed(seed)
    for _ in range(max_passes * -(-per_class // CHUNK)):
        for c in range(dataset.num_classes):
            labels = torch.full((CHUNK,), c, dtype=torch.long)
            yield dataset.sample_class(labels, g), labels


def make_bank(dataset, encoder, out, per_class: int, key_dim: int = 64, seed: int = 0,
              max_passes: int = 100, progress: bool = True) -> dict:
    """Fill ``out`` (module doc); returns the manifest."""
    from numpy.lib.format import open_memmap
    from rich.console import Console
    from rich.progress import Progress

    from zoo.positives.knn_bank import MANIFEST, KeyMap, as_float

    if per_class < 1:
        raise ValueError(f"make-bank: --per-class must be >= 1, got {per_class}")
    out = Path(out)
    if (out / MANIFEST).exists():
        raise ValueError(f"make-bank: {out} already holds a bank; pass another --out or delete it")
    out.mkdir(parents=True, exist_ok=True)
    k, shape = dataset.num_classes or 1, tuple(getattr(dataset, "shape", (dataset.dim,)))
    counts, rows, keys, keymap = [0] * k, {}, {}, None
    seen = [set() for _ in range(k)]  # hashes of the rows kept, per class
    with Progress(console=Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task("make-bank", total=k * per_class)
        for x, y in batches(dataset, per_class, seed, max_passes):
            if keymap is None:
                keymap = KeyMap.fit(encoder, as_float(x.numpy()), shape, key_dim, seed)
                dtype = np.uint8 if x.dtype == torch.uint8 else np.float16
                for c in range(k):
                    rows[c] = open_memmap(out / f"rows_{c}.npy", "w+", dtype, (per_class, dataset.dim))
                    keys[c] = open_memmap(out / f"keys_{c}.npy", "w+", np.float32,
                                          (per_class, keymap.dim))
            xs = x.numpy().astype(dtype)
            picks = {c: _new_rows(xs, (y == c).nonzero().flatten().numpy(), seen[c],
                                  per_class - counts[c]) for c in y.unique().tolist()}
            kept = [i for pick in picks.values() for i in pick]
            if not kept:  # every row a repeat or of a full class: no encoder pass
                continue
            kx, at = keymap(as_float(x.numpy()[kept])).numpy(), 0  # rows of kx follow kept
            for c, pick in picks.items():
                n0, n = counts[c], len(pick)
                rows[c][n0:n0 + n] = xs[pick]
                keys[c][n0:n0 + n] = kx[at:at + n]
                at += n
                counts[c] += n
                bar.advance(task, n)
            if min(counts) >= per_class:
                break
    if keymap is None:
        raise ValueError(f"make-bank: the dataset {dataset.name} gave no rows")
    for c in range(k):
        _trim(out, c, counts[c], rows.pop(c), keys.pop(c))
    manifest = {"classes": k, "shape": list(shape), "dim": dataset.dim,
                "rows_dtype": "uint8" if dtype == np.uint8 else "float16", "counts": counts,
                "key": keymap.to_dict(), "dataset": dataset.name, "seed": seed}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))  # last: a bank is whole or absent
    return manifest


def _new_rows(xs: np.ndarray, candidates: np.ndarray, seen: set, room: int) -> list[int]:
    """Up to ``room`` of the candidate rows of xs not seen before (by their bytes); marks them."""
    out = []
    for i in candidates:
        h = hash(xs[i].tobytes())
        if h not in seen and len(out) < room:
            seen.add(h)
            out.append(int(i))
    return out


def _trim(out: Path, c: int, n: int, rows, keys) -> None:
    """Flush class c's files, cut to its n rows when the source ran short."""
    for name, arr in ((f"rows_{c}.npy", rows), (f"keys_{c}.npy", keys)):
        arr.flush()
        if n < len(arr):
            np.save(out / f"{name}.tmp.npy", np.array(arr[:n]))
            os.replace(out / f"{name}.tmp.npy", out / name)


def main(argv=None) -> int:
    args = parse(argv)
    from rich.console import Console

    from zoo.config import ConfigError
    try:
        dataset, encoder = run_parts(args.gin_file, args.gin_param)
        m = make_bank(dataset, encoder, args.out, args.per_class, args.key_dim, args.seed,
                      args.max_passes, not args.quiet)
    except (ValueError, FileNotFoundError, KeyError, ConfigError) as err:
        return print_error(err)
    short = [c for c, n in enumerate(m["counts"]) if n < args.per_class]
    Console(soft_wrap=True).print(
        f"wrote a bank of {sum(m['counts'])} rows ({m['classes']} classes, keys {m['key']['key_dim']}"
        f"-d from encoder {m['key']['encoder']}) to {args.out}"
        + (f"; classes {short} have fewer than {args.per_class} rows" if short else "")
        + f"; train with --gin_param \"train.positives = @knn()\" --gin_param \"knn.path = '{args.out}'\"")
    return 0
