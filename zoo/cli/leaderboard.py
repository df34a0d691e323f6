r"""The leaderboard of every run folder under results/ (or the given roots).

    drift-zoo leaderboard                                   # everything under results/
    drift-zoo leaderboard results/runs/sweeps/toy_kernels --sort energy_distance
    drift-zoo leaderboard --filter 'kernel=gaussian' --group_by kernel --metric energy_distance,recall
    drift-zoo leaderboard results/runs/sweeps/toy_kernels --markdown results/toy_kernels.md --csv t.csv
    drift-zoo leaderboard results/runs/sweeps/toy_kernels --plot energy_distance --x temperatures \
        --out ed.png
    drift-zoo leaderboard results/runs/sweeps/toy_kernels --filter seed=0 --samples samples.png
    drift-zoo leaderboard results/runs/sweeps/paper_antisymmetry --paper     # + the paper's numbers
    drift-zoo leaderboard results/runs/sweeps/paper_loss --track energy_distance  # loss ~ distance

One row per group of runs that differ only in the seed (or per --group_by columns), metrics
as mean +- std over the group's finished runs; failed, running and corrupt runs are listed
with their status. ``--paper`` adds the paper's number per row and "direction holds?" from
the sweep file's PAPER constants (zoo/sweeps/paper.py); alone it reads gin/sweeps/<root's name>.py.
"""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from rich.console import Console

from zoo.cli import parser
from zoo.config import ROOT
from zoo.run.report import print_error
from zoo.sweeps.curves import add_loss_tracking
from zoo.sweeps.leaderboard import Board, find_runs, plot_metric, read_run, samples_grid
from zoo.sweeps.paper import load_reference
from zoo.sweeps.print_board import show_board


def _csv_list(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _args(argv):
    ap = parser("leaderboard", __doc__)
    ap.add_argument("roots", nargs="*", default=[str(ROOT / "results")], help="folders to search")
    ap.add_argument("--filter", action="append", default=[], help="'column=value' or 'column!=value' (glob)")
    ap.add_argument("--group_by", type=_csv_list, default=None, help="columns that make a row (comma list)")
    ap.add_argument("--metric", type=_csv_list, default=None, help="metrics to show (comma list)")
    ap.add_argument("--sort", default=None, help="a metric (best first) or a column")
    ap.add_argument("--csv", default=None, help="write the table as CSV")
    ap.add_argument("--markdown", default=None, help="write the table as markdown (with this command)")
    ap.add_argument("--title", default="Leaderboard", help="markdown title")
    ap.add_argument("--plot", default=None, metavar="METRIC", help="plot METRIC against --x to --out")
    ap.add_argument("--x", default=None, help="swept column or binding for --plot")
    ap.add_argument("--samples", default=None, metavar="PNG", help="the runs' samples.png side by side")
    ap.add_argument("--out", default=None, help="PNG for --plot (default: <metric>_vs_<x>.png)")
    ap.add_argument("--track", default=None, metavar="METRIC",
                    help="add loss_vs_METRIC: rank correlation of the loss with METRIC over each run")
    ap.add_argument("--paper", nargs="?", const="auto", default=None, metavar="SWEEP_FILE",
                    help="the paper's numbers from a sweep file's PAPER (default: the root's sweep file)")
    return ap.parse_args(argv)


def _sweep_commands(roots) -> str:
    """'drift-zoo sweep gin/sweeps/<name>.py --workers 2 && \\' for every root that is a
    sweep folder results/runs/sweeps/<name> with its sweep file: the table's whole recipe."""
    out = ""
    for root in roots:
        path = Path(root).resolve()
        spec = ROOT / "gin" / "sweeps" / f"{path.name}.py"
        if path.parent.name == "sweeps" and spec.is_file():
            out += f"drift-zoo sweep {spec.relative_to(ROOT)} --workers 2 && \\\n"
    return out


def _paper(arg, roots):
    """The PaperRef of --paper: the given sweep file, or gin/sweeps/<name>.py of the one root."""
    if arg is None:
        return None
    if arg == "auto":
        if len(roots) != 1:
            raise ValueError("--paper without a file needs one root, a sweep folder; "
                             "or give the file: --paper gin/sweeps/<name>.py")
        arg = ROOT / "gin" / "sweeps" / f"{Path(roots[0]).resolve().name}.py"
    elif not Path(arg).is_file() and (ROOT / arg).is_file():
        arg = ROOT / arg
    return load_reference(arg)


def main(argv=None) -> int:
    args = _args(argv)
    command = "drift-zoo leaderboard " + shlex.join(
        [os.path.relpath(a, ROOT) if os.path.isabs(a) and a.startswith(str(ROOT)) else a
         for a in (sys.argv[1:] if argv is None else argv)])
    command = _sweep_commands(args.roots) + command
    try:
        runs = [read_run(p) for p in find_runs(args.roots)]
        if args.track:
            add_loss_tracking(runs, args.track)
        board = Board(runs, filters=args.filter, group_by=args.group_by, metrics=args.metric,
                      sort=args.sort, paper=_paper(args.paper, args.roots))
    except ValueError as err:
        return print_error(err)
    out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
    if not board.runs:
        out.print(f"no run folders under {', '.join(args.roots)}" + (" match the filters" if args.filter else ""))
        return 0
    show_board(board, out)
    try:
        if args.csv:
            board.write_csv(args.csv)
            out.print(f"wrote {args.csv}")
        if args.markdown:
            Path(args.markdown).write_text(board.markdown(command, args.title))
            out.print(f"wrote {args.markdown}")
        if args.plot:
            if not args.x:
                return print_error("--plot needs --x, the swept column, e.g. --x temperatures")
            path = args.out or f"{args.plot}_vs_{args.x.replace('/', '_')}.png"
            plot_metric(board, args.plot, args.x, path)
            out.print(f"wrote {path}")
        if args.samples:
            n = samples_grid(board, args.samples)
            out.print(f"wrote {args.samples} ({n} runs)")
    except ValueError as err:
        return print_error(err)
    return 0
