#!/usr/bin/env python
"""Benchmarks of the heavy steps, one subcommand each; a rich table, optionally markdown.

    python tools/bench.py landmark --sizes 1024,4096 --dims 2,64 --landmarks 64,256 \
        --threads 1 --markdown results/bench_landmark.md

``landmark``: the Nystrom ``landmark`` field against the exact ``split`` field (whose attraction
it approximates) and the release's ``meanshift``, on an isotropic Gaussian mixture (8 modes)
with N = P = Q, the generated batch among the negatives (as in training), coordinates scaled
like ``drift(scaling="official")`` (mean pairwise distance ~ sqrt(D)) and the temperature in
units of that mean distance. Error = ||V - V_split|| / ||V_split||; time = median over
``--repeats`` calls after one warm-up (landmark time includes choosing the landmarks).
A later benchmark is a new ``add_parser`` + a small ``run_<name>`` returning a ``Report``.
"""
from __future__ import annotations

import argparse
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import zoo  # noqa: E402
from zoo.kernels import cdist  # noqa: E402


@dataclass
class Report:
    """One benchmark's result: a title, column names, rows of strings and notes."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str) -> str:
    """One line: CPU, cores, torch threads, torch/python versions, and the GPU if used."""
    gpu = f", GPU {torch.cuda.get_device_name()}" if device.startswith("cuda") else ""
    return (f"{cpu_model()} ({torch.get_num_threads()} torch threads of {__import__('os').cpu_count()} "
            f"cores), torch {torch.__version__}, python {platform.python_version()}{gpu}")


def median_time(fn, repeats: int, device: str) -> float:
    """Median wall seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def mixture(n: int, d: int, g: torch.Generator, modes: int = 8) -> torch.Tensor:
    """[1, n, d] samples of an isotropic Gaussian mixture (modes ~ N(0, I), std 0.25)."""
    means = torch.randn(modes, d, generator=g)
    return (means[torch.randint(modes, (n,), generator=g)] + 0.25 * torch.randn(n, d, generator=g))[None]


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


def run_landmark(args) -> Report:
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


def show(report: Report, header: str) -> None:
    table = Table(title=report.title, caption=header)
    for col in report.columns:
        table.add_column(col, justify="right")
    for row in report.rows:
        table.add_row(*row)
    Console().print(table)


def markdown(report: Report, header: str, command: str) -> str:
    lines = [f"# {report.title}", "", "Regenerate with:", "", "```bash", command, "```", "",
             f"Machine: {header}", "", "| " + " | ".join(report.columns) + " |",
             "|" + "---|" * len(report.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in report.rows]
    return "\n".join(lines + [""] + [f"{n}" for n in report.notes]) + "\n"


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    common.add_argument("--device", default="cpu", help="cpu or cuda")
    common.add_argument("--repeats", type=int, default=5, help="timed calls per cell (median)")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--markdown", default=None, metavar="FILE", help="also write the table here")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="bench", required=True)
    lm = sub.add_parser("landmark", parents=[common], help="Nystrom landmark field vs split / meanshift")
    lm.add_argument("--sizes", type=ints, default=[1024, 4096], help="N = P = Q, comma-separated")
    lm.add_argument("--dims", type=ints, default=[2, 64])
    lm.add_argument("--landmarks", type=ints, default=[64, 256])
    lm.add_argument("--kernel", default="laplace")
    lm.add_argument("--tau", type=float, default=0.2, help="temperature in mean distances")
    lm.set_defaults(run=run_landmark)
    return ap


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    header = machine(args.device)
    report = args.run(args)
    show(report, header)
    if args.markdown:
        command = "python tools/bench.py " + shlex.join(argv)
        Path(args.markdown).write_text(markdown(report, header, command))
        Console(stderr=True).print(f"wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
