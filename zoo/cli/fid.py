"""FID between two folders of images with clean-fid's Inception, read from a local file only.

    ZOO_INCEPTION=/path/to/inception-2015-12-05.pt drift-zoo fid DIR1 DIR2
    drift-zoo fid DIR1 DIR2 --inception /path/to/inception-2015-12-05.pt
    drift-zoo fid DIR1 DIR2 --evaluator results/evaluators/digits.pt   # FD in evaluator features

Prints ``fid <value>`` (``fd <value>`` with --evaluator). The metric is ``zoo.metrics.fid``
(clean-fid's "clean" mode; the Inception file is never downloaded). Folders are read
recursively, so ``drift-zoo sample --png_dir`` output and a class-per-folder tree both work.
"""
from __future__ import annotations

from zoo.cli import parser
from zoo.run.report import print_error


def main(argv=None) -> int:
    from zoo.metrics.fid import ENV, INCEPTION_FILE, fid

    ap = parser("fid", __doc__)
    ap.add_argument("dir1")
    ap.add_argument("dir2")
    ap.add_argument("--inception", default=None, help=f"{INCEPTION_FILE} (default: ${ENV})")
    ap.add_argument("--evaluator", default=None, help="use this evaluator's features instead")
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    try:
        extractor = None
        if args.evaluator:
            from zoo.metrics.evaluator import load_evaluator
            extractor = load_evaluator(args.evaluator)
        value = fid(args.dir1, args.dir2, inception=args.inception, feature_extractor=extractor,
                    device=args.device)
    except (FileNotFoundError, ValueError) as err:
        return print_error(err)
    print(f"{'fd' if args.evaluator else 'fid'} {value:.6g}")
    return 0
