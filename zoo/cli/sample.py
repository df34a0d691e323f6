"""Draw samples from a trained run (EMA weights) into a .npy file and, for image runs, PNGs.

    drift-zoo sample --workdir results/runs/<run> --num 10000 --out samples.npy
    drift-zoo sample --workdir results/runs/<image run> --num 80 --grid grid.png
    drift-zoo sample --workdir results/runs/<cfg run> --num 80 --alpha 2 --grid grid.png
    drift-zoo sample --workdir results/runs/<image run> --num 50000 --png_dir fid/gen

``--grid`` tiles the samples (a class-conditional run: row c holds class c, the samples have
balanced labels i mod K); ``--png_dir`` writes one PNG per sample, the folder that
``zoo.metrics.fid`` compares. Both need a run whose dataset has an image ``shape``; a latent run
(``webdataset.field = 'npy'``) is decoded through its dataset's autoencoder first
(``zoo.autoencoders.decoded``), so grids and PNGs are images. ``--out`` keeps the raw rows
(latents for a latent run).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from zoo import plugins
from zoo.cli import parser
from zoo.run.report import print_error


def main(argv=None) -> int:
    ap = parser("sample", __doc__)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--num", type=int, default=10000)
    ap.add_argument("--out", default=None, help="output .npy file")
    ap.add_argument("--grid", default=None, help="image runs: write an image grid PNG")
    ap.add_argument("--png_dir", default=None, help="image runs: one PNG per sample (for FID)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--raw", action="store_true", help="use the raw (non-EMA) weights")
    ap.add_argument("--alpha", type=float, default=None,
                    help="guidance scale of a class-conditional run (default: 1)")
    args = ap.parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    from zoo.run.sampling import eval_labels, restore, sample

    try:
        if args.num < 1:
            raise ValueError(f"--num must be >= 1, got {args.num}")
        if not (args.out or args.grid or args.png_dir):
            raise ValueError("nothing to write: give --out, --grid and/or --png_dir")
        plugins.load_run(args.workdir)  # the run's own plug-ins, kept in its folder
        model, dataset, _ = restore(args.workdir, use_ema=not args.raw)
        shape = getattr(dataset, "shape", None)
        if (args.grid or args.png_dir) and shape is None:
            raise ValueError(f"--grid / --png_dir need an image run (a dataset with a shape); "
                             f"this run's dataset {dataset!r} has none: use --out FILE.npy")
    except (FileNotFoundError, ValueError) as err:
        return print_error(err)
    try:
        x = sample(model, args.num, args.seed, alpha=args.alpha)
    except ValueError as err:
        return print_error(err)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        np.save(args.out, x.numpy())
        console.print(f"wrote {x.shape[0]} samples of dim {x.shape[1]} to {args.out}")
    if args.grid or args.png_dir:
        from zoo.autoencoders.decoded import decoded
        x, shape = decoded(dataset, x)
    if args.grid:
        from zoo.images import save_grid
        rows, cols = save_grid(args.grid, x, shape, labels=eval_labels(model, args.num),
                               names=getattr(dataset, "class_names", None))
        console.print(f"wrote a {rows} x {cols} image grid to {args.grid}")
    if args.png_dir:
        from zoo.images import save_pngs
        save_pngs(args.png_dir, x, shape)
        console.print(f"wrote {x.shape[0]} PNGs to {args.png_dir}")
    return 0
