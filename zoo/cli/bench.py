"""Benchmarks of the heavy steps, one subcommand each; a rich table, optionally markdown.

    drift-zoo bench <benchmark> [options] [--markdown results/bench_<benchmark>.md]
    drift-zoo bench <benchmark> --help        (what it measures and its options)

Every module of zoo/bench/ is a subcommand (``landmark``, ...); a new benchmark is a new
module there (see zoo/bench/__init__.py). Shared options: ``--threads`` (default 1),
``--device``, ``--repeats``, ``--seed``, ``--markdown FILE`` (the table with the command that
regenerates it and the machine it ran on).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import shlex
import sys
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

import zoo.bench
from zoo.bench.common import Report, machine
from zoo.cli import parser as command_parser


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


def benchmark_modules() -> list:
    """Every benchmark module of zoo/bench/ (see its __init__), sorted by name."""
    names = sorted(m.name for m in pkgutil.iter_modules(zoo.bench.__path__) if m.name != "common")
    return [importlib.import_module(f"zoo.bench.{name}") for name in names]


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    common.add_argument("--device", default="cpu", help="cpu or cuda")
    common.add_argument("--repeats", type=int, default=5, help="timed calls per cell (median)")
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--markdown", default=None, metavar="FILE", help="also write the table here")
    ap = command_parser("bench", __doc__)
    sub = ap.add_subparsers(dest="bench", required=True)
    for module in benchmark_modules():
        p = sub.add_parser(module.NAME, parents=[common], help=module.HELP,
                           description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return ap


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    header = machine(args.device)
    report = args.run(args)
    show(report, header)
    if args.markdown:
        command = "drift-zoo bench " + shlex.join(argv)
        Path(args.markdown).write_text(markdown(report, header, command))
        Console(stderr=True).print(f"wrote {args.markdown}")
    return 0
