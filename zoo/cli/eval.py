"""Re-evaluate a trained run (EMA weights) against held-out data; updates summary.json.

    drift-zoo eval --workdir results/runs/<run> [--num 10000]
    drift-zoo eval --workdir results/runs/<cfg run> --alpha 1,1.5,2,3 [--json out.json]

Metrics and ``samples.png`` as in training (``zoo.run.evaluation``: point-cloud metrics, or the
evaluator's FD / KID / precision / recall / class accuracy / coverage for image datasets).
``--alpha`` evaluates a class-conditional generator at each guidance scale (one table row per
alpha; ``summary.json`` gets ``alpha_metrics`` {alpha: metrics} and ``final_metrics`` stays
the training-time evaluation at the default alpha); ``--json`` also writes those rows.
"""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from zoo import plugins
from zoo.cli import parser
from zoo.run.report import print_error


def alpha_table(rows: dict) -> Table:
    """One row per guidance scale, one column per metric."""
    keys = list(next(iter(rows.values())))
    table = Table(title="metrics per guidance scale alpha", title_justify="left")
    for key in ["alpha", *keys]:
        table.add_column(key, justify="right")
    for alpha, metrics in rows.items():
        table.add_row(alpha, *(f"{metrics[k]:.4g}" for k in keys))
    return table


def main(argv=None) -> int:
    ap = parser("eval", __doc__)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--num", type=int, default=None, help="samples (default: train.eval_samples)")
    ap.add_argument("--seed", type=int, default=None, help="noise seed (default: the run's eval seed)")
    ap.add_argument("--alpha", default=None,
                    help="comma-separated guidance scales for a class-conditional run")
    ap.add_argument("--json", default=None, help="with --alpha: write {alpha: metrics} here")
    args = ap.parse_args(argv)
    from zoo.run.sampling import restore
    from zoo.sweeps.lock import FolderBusy

    try:
        alphas = [float(a) for a in args.alpha.split(",") if a] if args.alpha else []
        if any(a <= 0 for a in alphas):
            raise ValueError(f"--alpha values must be > 0, got {args.alpha}")
        plugins.load_run(args.workdir)  # the run's own plug-ins, kept in its folder
        model, dataset, run = restore(args.workdir)
        if alphas and getattr(model, "num_classes", None) is None:
            raise ValueError("--alpha needs a class-conditional run; this generator is unconditional")
    except (FileNotFoundError, ValueError) as err:
        return print_error(err)
    try:
        with run.lock("eval"):  # one writer: a training run on this folder makes this fail at once
            return _evaluate(args, model, dataset, run, alphas)
    except FolderBusy as err:
        return print_error(err)


def _evaluate(args, model, dataset, run, alphas: list[float]) -> int:
    """Metrics (per --alpha, or the run's final metrics and samples.png) into the run folder."""
    from zoo.run.evaluation import assess, samples_picture
    from zoo.run.report import metrics_table
    from zoo.run.sampling import eval_settings

    n, seed = eval_settings()
    n = args.num or n
    seed = args.seed if args.seed is not None else seed
    if alphas:
        rows = {f"{a:g}": assess(model, dataset, n, seed, alpha=a)[0] for a in alphas}
        run.update_summary(alpha_metrics=rows, eval_samples=n)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        Console().print(alpha_table(rows))
        return 0
    metrics, samples, data, labels = assess(model, dataset, n, seed)
    samples_picture(run.file("samples.png"), dataset, data, samples, labels, run.path.name)
    summary = run.update_summary(final_metrics=metrics, eval_samples=n)
    Console().print(metrics_table(summary))
    return 0
