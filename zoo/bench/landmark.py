r"""``landmark``: the Nystrom ``landmark`` field against the exact ``split`` field (whose attraction
it approximates) and the release's ``meanshift``.

    drift-zoo bench landmark --sizes 1024,4096 --dims 2,64 --landmarks 64,256 \
        --threads 1 --markdown results/bench_landmark.md

On an isotropic Gaussian mixture (8 modes) with N = P = Q, the generated batch among the
negatives (as in training), coordinates scaled like ``drift(scaling="official")`` (mean
pairwise distance ~ sqrt(D)) and the temperature in units of that mean distance.
Error = ||V - V_split|| / ||V_split||; time = median over ``--repeats`` calls after one warm-up
(landmark time includes choosing the landmarks).
"""
from __future__ import annotations

import torch
from rich.console import Console

import zoo
from zoo.kernels import cdist

from zoo.bench.common import Report, ints, median_time, mixture

NAME, HELP = "landmark", "Nystrom landmark field vs split / meanshift"


def add_arguments(p) -> None:
    p.add_argument("--sizes", type=ints, default=[1024, 4096], help="N = P = Q, comma-separated")
    p.add_argument("--dims", type=ints, default=[2, 64])
    p.add_argument("--landmarks", type=ints, default=[64, 256])
    p.add_argument("--kernel", default="laplace")
    p.add_argument("--tau", type=float, default=0.2, help="temperature in mean distances")


def landmark_inputs(n: int, d: int, seed: int, device: str):
    """x, pos, neg [1, n, d] scaled so the mean distance x -> pos is sqrt(d)."""
    g = torch.Generator().manual_seed(seed)
    pos, x, neg = mixture(n, d, g), mixture(n, d, g), mixture(n, d, g)
    c = cdist(x[:, :512], pos[:, :512]).mean() / d**0.5
    return tuple((t / c).to(device) for t in (x, pos, neg))


def landmark_rows(n: int, d: int, args) -> list[list[str]]:
    """Rows for one (N, D): split, meanshift, then landmark at every m.

    Each row: field, N, D, m, error vs split, ms/call, speed-up, attraction-only ms (the
    positive term alone, neg=None and no self-negatives: where the O(N P) -> O(N m) saving is).
    """
    x, pos, neg = landmark_inputs(n, d, args.seed, args.device)
    kernel = zoo.build("kernel", args.kernel, tau=args.tau * d**0.5)
    time_it = lambda fn: median_time(fn, args.repeats, args.device)

    def field(name, attraction_only=False, **kw):
        extra = {"neg": None, "self_negatives": False} if attraction_only else {"neg": neg}
        return lambda: zoo.build("field", name, x=x, pos=pos, kernel=kernel, **extra, **kw)

    exact = field("split")()
    rows = [["split", n, d, "-", "0 (reference)", time_it(field("split")),
             time_it(field("split", attraction_only=True))],
            ["meanshift", n, d, "-", "- (other field)", time_it(field("meanshift")), None]]
    for m in args.landmarks:
        fn = field("landmark", landmarks=m)
        err = ((fn() - exact).norm() / exact.norm()).item()
        rows.append(["landmark", n, d, m, f"{err:.4f}", time_it(fn),
                     time_it(field("landmark", attraction_only=True, landmarks=m))])
    t_split = rows[0][5]
    return [[str(v) for v in r[:5]] + [f"{1e3 * r[5]:.1f}", f"{t_split / r[5]:.2f}x",
                                       "-" if r[6] is None else f"{1e3 * r[6]:.1f}"] for r in rows]


def run(args) -> Report:
    report = Report(f"landmark (Nystrom) vs split vs meanshift: {args.kernel} kernel, tau = {args.tau:g} "
                    "mean distances", ["field", "N=P=Q", "D", "m", "rel. error vs split",
                                       "ms / call (median)", "speed-up vs split",
                                       "attraction only, ms"])
    console = Console(stderr=True)
    for n in args.sizes:
        for d in args.dims:
            with console.status(f"N = {n}, D = {d}"):
                report.rows += landmark_rows(n, d, args)
    report.notes = [f"Input: 8-mode Gaussian mixture, generated batch among the negatives (Q' = 2N); "
                    f"{args.repeats} timed repeats after a warm-up, seed {args.seed}.",
                    "The repulsion (over the N generated + Q extra negatives) is exact in every field, so it "
                    "bounds the whole-field speed-up; the last column times the attraction alone.",
                    "Timings on a shared machine are noisy; compare within a table, not across machines."]
    return report


