r"""A drift field's terms along and across a thin cloud's support at q = p (issue 16).

    drift-zoo field-noise --dataset thin_pinwheel --field split --temperatures 0.03,0.12 \
        [--n 1024] [--positives 1023] [--reps 20] [--particle_steps 200 --lr 1.0]

x and the positives are fresh data draws, so every term's mean is its bias and its RMS its noise
(zoo/field_noise.py): V+, V- and V = V+ - V- per temperature (mean-distance units) and per band
of the arm (|z| < 1: dense middle, 2 <= |z|: thin ends), inward = along the arm toward its middle.
``--particle_steps`` also moves data draws by the drift alone (raw forces summed over the
temperatures) and prints the share beyond |z| > 2 as they move. Field knobs: --gin_param.
"""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from zoo.cli import parser
from zoo.run.report import print_error


def _table(terms: dict) -> Table:
    table = Table(title="terms at q = p: mean inward (+- se), rms inward / rms across",
                  title_justify="left")
    for col in ("tau", "term", "|z| band", "mean inward", "rms inward", "rms across"):
        table.add_column(col, justify="right")
    for (tau, term), rows in terms.items():
        for (lo, hi), mean, se, rms_in, rms_across in rows:
            table.add_row(f"{tau:g}", term, f"{lo:g}-{hi:g}", f"{mean:+.4f} +- {se:.4f}",
                          f"{rms_in:.4f}", f"{rms_across:.4f}")
    return table


def main(argv=None) -> int:
    ap = parser("field-noise", __doc__)
    ap.add_argument("--dataset", default="thin_pinwheel")
    ap.add_argument("--field", default="split")
    ap.add_argument("--kernel", default="laplace")
    ap.add_argument("--temperatures", default="0.03,0.12", help="in mean-distance units")
    ap.add_argument("--n", type=int, default=1024, help="generated samples (x ~ p)")
    ap.add_argument("--positives", type=int, default=None, help="default n - 1 (as x's negatives)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--particle_steps", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gin_param", action="append", default=[], help="e.g. 'adaptive_split.k = 8'")
    args = ap.parse_args(argv)
    import gin

    from zoo.field_noise import field_terms, particles_from_data
    from zoo.registry import RegistryError, build, lookup

    try:
        gin.parse_config(args.gin_param)
        dataset = build("dataset", args.dataset)
        field, kernel = lookup("field", args.field), lookup("kernel", args.kernel)
        temps = tuple(float(t) for t in args.temperatures.split(","))
        terms = field_terms(dataset, field, kernel, temps, n=args.n, positives=args.positives,
                            reps=args.reps, seed=args.seed)
    except (ValueError, KeyError, RegistryError) as err:
        return print_error(err)
    console = Console(soft_wrap=True)
    console.print(f"{args.dataset}, field {args.field}, n {args.n}, positives "
                  f"{args.positives or args.n - 1}, {args.reps} batches")
    console.print(_table(terms))
    if args.particle_steps:
        shares = particles_from_data(dataset, steps=args.particle_steps, n=args.n, lr=args.lr,
                                     seed=args.seed, field=field, kernel=kernel,
                                     temperatures=temps, combine="per_temperature")
        console.print("particles from data, share beyond |z| > 2 by step: "
                      + ", ".join(f"{s}: {v:.3f}" for s, v in shares))
    return 0
