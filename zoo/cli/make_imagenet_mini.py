r"""Write a miniature ImageNet: an ImageNet-layout JPEG tree drawn from a registered image dataset.

    drift-zoo make-imagenet-mini --out /tmp/imagenet-mini                 (shapes, 64 x 64)
    drift-zoo make-imagenet-mini --out DIR --dataset shapes --size 64 \
        --train-per-class 200 --val-per-class 50 --seed 0
    drift-zoo make-shards --src DIR/train --out DIR/shards/train --size 32 --center-crop
    drift-zoo make-shards --src DIR/val --out DIR/shards/val --size 32 --center-crop

The tree has the layout of ILSVRC-2012 (``ImageFolder`` / ``make-shards`` read it as they
read ImageNet), so the real path -- JPEG decode, resize / crop, shards -- is exercised:

    DIR/train/<wnid>/<wnid>_<i>.JPEG         --train-per-class images of each class
    DIR/val/<wnid>/ILSVRC2012_val_<j>.JPEG   --val-per-class images of each class (j over all)
    DIR/synsets.txt                          one line per class: "<wnid> <class name>"
                                             (the layout of ImageNet's LOC_synset_mapping.txt)

``wnid`` = ``n%08d`` of the class index (n00000000, n00000001, ...), so sorting the folders keeps
the dataset's class order. Train images are ``dataset.sample_class`` draws under the generator
seeded ``2 seed``, val images under ``2 seed + 1`` (disjoint streams); RGB JPEG at --quality
(1-channel datasets are repeated to RGB). The same arguments write the same bytes.
"""
from __future__ import annotations

from pathlib import Path

import torch

from zoo.cli import parser
from zoo.run.report import print_error

CHUNK = 256  # images drawn per call (bounds memory at large --train-per-class)


def wnid(c: int) -> str:
    """The synset-style folder name of class ``c``: n00000000, n00000001, ..."""
    return f"n{c:08d}"


def parse(argv):
    ap = parser("make-imagenet-mini", __doc__)
    ap.add_argument("--out", required=True, help="folder of the tree (train/, val/, synsets.txt)")
    ap.add_argument("--dataset", default="shapes", help="a registered class-conditional image dataset")
    ap.add_argument("--size", type=int, default=64, help="image side, for datasets with a size")
    ap.add_argument("--train-per-class", type=int, default=100)
    ap.add_argument("--val-per-class", type=int, default=20)
    ap.add_argument("--quality", type=int, default=95, help="JPEG quality")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def build_dataset(name: str, size: int):
    """The registered dataset ``name`` (with ``size`` when it takes one); ValueError unless it is
    a class-conditional image dataset."""
    import zoo
    from zoo.config_hints import parameters
    from zoo.registry import lookup

    kwargs = {"size": size} if "size" in parameters(lookup("dataset", name)) else {}
    ds = zoo.build("dataset", name, **kwargs)
    shape = getattr(ds, "shape", None)
    if shape is None or len(shape) != 3 or shape[0] not in (1, 3) or not ds.num_classes:
        raise ValueError(f"make-imagenet-mini: dataset '{name}' is not a class-conditional image "
                         f"dataset (shape {shape}, num_classes {ds.num_classes}); use e.g. shapes")
    return ds


def write_split(ds, folder: Path, per_class: int, generator: torch.Generator, name, quality: int,
                advance) -> int:
    """Write ``per_class`` JPEGs of every class into folder/<wnid>/; ``name(c, i, j)`` is the
    file stem of the i-th image of class c (j: index over the split). Returns the count."""
    from PIL import Image

    from zoo.images import to_uint8

    j = 0
    for c in range(ds.num_classes):
        (folder / wnid(c)).mkdir(parents=True, exist_ok=True)
        for start in range(0, per_class, CHUNK):
            n = min(CHUNK, per_class - start)
            x = ds.sample_class(torch.full((n,), c, dtype=torch.long), generator)
            for i, img in enumerate(to_uint8(x, ds.shape), start):
                img = img.repeat(3, axis=2) if img.shape[2] == 1 else img
                Image.fromarray(img).save(folder / wnid(c) / f"{name(c, i, j)}.JPEG",
                                          format="JPEG", quality=quality)
                j += 1
            advance(n)
    return j


def make_imagenet_mini(out, dataset: str = "shapes", size: int = 64, train_per_class: int = 100,
                       val_per_class: int = 20, quality: int = 95, seed: int = 0,
                       progress: bool = True) -> dict:
    """Write the tree (module doc) into ``out``; returns {classes, train, val, size}."""
    from rich.console import Console
    from rich.progress import Progress

    if train_per_class < 1 or val_per_class < 1:
        raise ValueError(f"make-imagenet-mini: --train-per-class and --val-per-class must be >= 1, "
                         f"got {train_per_class} and {val_per_class}")
    ds = build_dataset(dataset, size)
    out = Path(out)
    if (out / "train").exists() or (out / "val").exists():
        raise ValueError(f"make-imagenet-mini: {out} already holds train/ or val/; pass an empty "
                         f"--out (or delete the old tree)")
    k = ds.num_classes
    names = list(getattr(ds, "class_names", None) or [str(c) for c in range(k)])
    with Progress(console=Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task("imagenet-mini", total=k * (train_per_class + val_per_class))
        advance = lambda n: bar.advance(task, n)  # noqa: E731
        n_train = write_split(ds, out / "train", train_per_class,
                              torch.Generator().manual_seed(2 * seed), lambda c, i, j:
                              f"{wnid(c)}_{i}", quality, advance)
        n_val = write_split(ds, out / "val", val_per_class,
                            torch.Generator().manual_seed(2 * seed + 1), lambda c, i, j:
                            f"ILSVRC2012_val_{j + 1:08d}", quality, advance)
    (out / "synsets.txt").write_text("".join(f"{wnid(c)} {n}\n" for c, n in enumerate(names)))
    return {"classes": k, "train": n_train, "val": n_val, "size": ds.shape[-1],
            "dataset": dataset}


def main(argv=None) -> int:
    args = parse(argv)
    from rich.console import Console

    try:
        info = make_imagenet_mini(args.out, args.dataset, args.size, args.train_per_class,
                                  args.val_per_class, args.quality, args.seed, not args.quiet)
    except (ValueError, KeyError) as err:
        return print_error(err)
    Console(soft_wrap=True).print(
        f"wrote {info['train']} train and {info['val']} val JPEGs of {info['classes']} classes "
        f"({info['size']}x{info['size']}, {info['dataset']}) to {args.out}; next: drift-zoo "
        f"make-shards --src {args.out}/train --out {args.out}/shards/train --size S --center-crop")
    return 0
