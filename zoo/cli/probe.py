"""Is it the field or the generator? Probe a trained 2-D run's drift field at its samples.

    drift-zoo probe --workdir results/runs/<run> [--t 1.0] [--steps 200]

Samples the EMA generator, evaluates the run's field (its field, kernel, temperatures at
training fraction --t, scaling and combine) there, and moves the samples as free particles
along the field alone. Prints the metrics of samples and particles side by side, the field's
agreement across data batches and, on Gaussian mixtures, how well it points to the nearest
mode; writes probe.png into the run folder. Definitions: zoo/probe.py.
"""
from __future__ import annotations


from rich.console import Console
from rich.table import Table

from zoo import plugins
from zoo.cli import parser
from zoo.run.report import print_error


def _table(result: dict) -> Table:
    table = Table(title="samples vs particles moved by the field alone", title_justify="left")
    for col in ("metric", "samples", "particles"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for key, value in result["samples"].items():
        moved = result["particles"].get(key)
        table.add_row(key, f"{value:.4g}", "" if moved is None else f"{moved:.4g}")
    return table


def main(argv=None) -> int:
    ap = parser("probe", __doc__)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--num", type=int, default=4096, help="samples (and particles)")
    ap.add_argument("--t", type=float, default=1.0, help="training fraction for the temperature schedule")
    ap.add_argument("--steps", type=int, default=200, help="particle steps")
    ap.add_argument("--lr", type=float, default=1.0, help="particle step size on the displacement")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import gin

    from zoo.drift import check_temperatures
    from zoo.run.plots import probe_png
    from zoo.probe import probe
    from zoo.run.sampling import restore, sample

    try:
        if not 0 <= args.t <= 1 or args.num < 8:
            raise ValueError(f"--t must be in [0, 1] and --num >= 8, got {args.t}, {args.num}")
        plugins.load_run(args.workdir)  # the run's own plug-ins, kept in its folder
        model, dataset, run = restore(args.workdir)
        bound = gin.get_bindings("train")
        schedule = bound.get("temperature_schedule")
        temps = check_temperatures(bound.get("temperatures", (0.02, 0.05, 0.2)))
        temps = tuple(t * (schedule(args.t) if schedule else 1.0) for t in temps)
        kw = dict(field=bound["field"], kernel=bound["kernel"], temperatures=temps)
        x = sample(model, args.num, args.seed)
        result = probe(x, dataset, steps=args.steps, lr=args.lr, seed=args.seed, **kw)
    except (FileNotFoundError, ValueError, KeyError) as err:
        return print_error(err)
    console = Console(soft_wrap=True)
    console.print(f"field {bound['field'].__name__}, temperatures {tuple(round(t, 4) for t in temps)}")
    console.print(_table(result))
    out = run.path / "probe.png"
    probe_png(out, dataset.held_out(args.num), x, result["displacement"], result["moved"],
              title=f"{run.path.name}: field at t = {args.t}")
    console.print(f"wrote {out}")
    return 0
