r"""Where do the samples that fail k-NN precision lie? A picture and the shares, per run.

    drift-zoo strays --workdir results/runs/<run> [--workdir <other run> ...] \
        [--num 16384] [--out strays.png]

For each run: EMA samples (seed --seed) scored against the dataset's held-out draws with the
ball ratio rho of zoo/metrics/misses.py (rho <= 1: inside a data point's k-NN ball, i.e. counted
by precision; rho > 1.5: a stray). The first panel is the data's own bar: fresh draws of the
first run's dataset scored the same way. Prints precision, miss and stray shares; writes a
scatter per run (data grey, hits blue, misses orange, strays red), by default into the first
run's folder.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from zoo import plugins
from zoo.cli import parser
from zoo.run.report import print_error

DATA_SEED = 5  # fresh draws for the data panel, independent of the held-out set


def main(argv=None) -> int:
    ap = parser("strays", __doc__)
    ap.add_argument("--workdir", action="append", required=True, help="a run folder (repeatable)")
    ap.add_argument("--num", type=int, default=16384, help="samples per run and held-out points")
    ap.add_argument("--k", type=int, default=3, help="k of the k-NN balls (as precision)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="PNG (default: <first workdir>/strays.png)")
    args = ap.parse_args(argv)
    import torch

    from zoo.metrics import ball_ratio, miss_shares
    from zoo.metrics.misses import STRAY_RATIO
    from zoo.run.plots import misses_png
    from zoo.run.sampling import restore, sample

    try:
        if args.num <= args.k:
            raise ValueError(f"--num must exceed --k, got {args.num} <= {args.k}")
        panels, first = [], None
        for workdir in args.workdir:
            plugins.load_run(workdir)  # the run's own plug-ins, kept in its folder
            model, dataset, run = restore(workdir)
            held = dataset.held_out(args.num)
            if first is None:
                first = run.path
                fresh = dataset.sample(args.num, torch.Generator().manual_seed(DATA_SEED))
                panels.append((f"data ({dataset.name}, fresh draws)", held, fresh,
                               ball_ratio(fresh, held, args.k)))
            x = sample(model, args.num, args.seed)
            panels.append((run.path.name, held, x, ball_ratio(x, held, args.k)))
    except (FileNotFoundError, ValueError, KeyError) as err:
        return print_error(err)
    table = Table(title=f"k-NN precision misses (k = {args.k}, {args.num} samples)", title_justify="left")
    for col in ("run", "precision", "miss", f"stray (rho > {STRAY_RATIO:g})"):
        table.add_column(col, justify="left" if col == "run" else "right")
    for title, _, _, rho in panels:
        shares = miss_shares(rho)
        table.add_row(title, f"{1 - shares['miss']:.4f}", f"{shares['miss']:.4f}", f"{shares['stray']:.4f}")
    console = Console(soft_wrap=True)
    console.print(table)
    if panels[0][1].shape[1] >= 2:
        out = Path(args.out) if args.out else first / "strays.png"
        misses_png(out, panels)
        console.print(f"wrote {out}")
    return 0
