#!/usr/bin/env python
"""Draw samples from a trained run (EMA weights) into a .npy file.

    python tools/sample.py --workdir results/runs/<run> --num 10000 --out samples.npy
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

from zoo.report import print_error  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--num", type=int, default=10000)
    ap.add_argument("--out", required=True, help="output .npy file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--raw", action="store_true", help="use the raw (non-EMA) weights")
    args = ap.parse_args(argv)
    console = Console(stderr=True, soft_wrap=True)
    from zoo.train import restore, sample

    try:
        if args.num < 1:
            raise ValueError(f"--num must be >= 1, got {args.num}")
        model, _, _ = restore(args.workdir, use_ema=not args.raw)
    except (FileNotFoundError, ValueError) as err:
        return print_error(err)
    x = sample(model, args.num, args.seed).numpy()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, x)
    console.print(f"wrote {x.shape[0]} samples of dim {x.shape[1]} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
