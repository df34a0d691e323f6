"""FID between two folders of images with clean-fid's Inception, read from a local file only.

    ZOO_INCEPTION=/path/to/inception-2015-12-05.pt drift-zoo fid DIR1 DIR2
    drift-zoo fid DIR1 DIR2 --inception /path/to/inception-2015-12-05.pt
    drift-zoo fid DIR1 DIR2 --evaluator results/evaluators/digits.pt   # FD in evaluator features

Prints ``fid <value>`` (``fd <value>`` with --evaluator). ``--record RUN`` also stores the
value in that run folder's summary.json ``final_metrics`` (as ``fid``, or ``png_fd`` with
--evaluator: the FD of the PNG files, JPEG-free and resized as clean-fid reads them), so the
leaderboard shows it beside the run's own metrics:

    drift-zoo fid data/imagenet-mini/val results/runs/imagenet-mini/pixel/png \
        --evaluator results/evaluators/shapes.pt --record results/runs/imagenet-mini/pixel
 The metric is ``zoo.metrics.fid``
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
    ap.add_argument("--record", default=None, metavar="RUN",
                    help="also write the value into this run folder's final_metrics")
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
    if args.record:
        return record(args.record, "png_fd" if args.evaluator else "fid", value)
    return 0


def record(workdir, key: str, value: float) -> int:
    """Store ``key: value`` in the run's final_metrics (under the run folder's writer lock)."""
    from zoo.run.folder import open_run
    from zoo.sweeps.lock import FolderBusy
    try:
        run = open_run(workdir)
        with run.lock("fid"):
            summary = run.summary() or {}
            run.update_summary(final_metrics={**(summary.get("final_metrics") or {}),
                                              key: round(float(value), 6)})
    except (FileNotFoundError, ValueError, FolderBusy) as err:
        return print_error(err)
    return 0
