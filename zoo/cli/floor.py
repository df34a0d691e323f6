"""The data-vs-data floor of a run's metrics: real draws against the same held-out data.

    drift-zoo floor --gin_file gin/experiments/shapes.gin            # n = train.eval_samples
    drift-zoo floor --gin_file gin/experiments/digits.gin --num 4096 --seeds 0,1,2 --json f.json

Each of the seeds draws n training rows with the evaluation's balanced labels and measures them
as a run's samples are measured (``zoo.metrics.floor``): the FD a perfect generator would get
at this n. Report it beside every FD (README "Images").
"""
from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from zoo.cli import parser
from zoo.run.report import print_error


def floor_table(floor: dict, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("metric", "mean", "std"):
        table.add_column(name, justify="right" if name != "metric" else "left")
    for key, (mean, std) in floor.items():
        table.add_row(key, f"{mean:.4g}", f"{std:.2g}")
    return table


def main(argv=None) -> int:
    ap = parser("floor", __doc__)
    ap.add_argument("--gin_file", action="append", default=[], help="the run's gin file(s)")
    ap.add_argument("--gin_param", action="append", default=[], help="gin binding (repeatable)")
    ap.add_argument("--num", type=int, default=None, help="rows per draw (default: "
                    "train.eval_samples of the config)")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated draw seeds")
    ap.add_argument("--json", default=None, help="also write {metric: [mean, std]} here")
    args = ap.parse_args(argv)
    import gin

    from zoo.cli.make_bank import run_parts
    from zoo.metrics.floor import data_floor

    try:
        dataset, _ = run_parts(args.gin_file, args.gin_param)
        n = args.num or gin.get_bindings("train").get("eval_samples")
        if not n:
            raise ValueError("floor: the config binds no train.eval_samples; pass --num")
        seeds = [int(s) for s in args.seeds.split(",") if s]
        floor = data_floor(dataset, int(n), seeds)
    except (FileNotFoundError, ValueError) as err:
        return print_error(err)
    Console().print(floor_table(floor, f"data-vs-data floor: {dataset.name}, n = {n}, "
                                       f"{len(seeds)} draws"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"dataset": dataset.name, "n": int(n), "seeds": seeds,
                       "floor": {k: list(v) for k, v in floor.items()}}, f, indent=1)
    return 0
