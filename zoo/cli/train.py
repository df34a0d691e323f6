"""Train a drifting model from gin files and bindings; resumes when the run folder exists.

    drift-zoo train --gin_file gin/experiments/toy.gin --gin_param 'train.seed = 1'
    drift-zoo train --gin_file gin/debug.gin --workdir /tmp/run --dry_run
    torchrun --standalone --nproc_per_node 8 drift-zoo train \
        --gin_file gin/experiments/imagenet_latent_b.gin

Under torchrun (``zoo.dist``) the process group is set up before gin builds the dataset (so a
sharded dataset splits its shards by rank); only rank 0 prints and writes the run folder.
"""
from __future__ import annotations


from rich.console import Console

from zoo.cli import parser
from zoo.config import ConfigError, parse
from zoo.run.report import metrics_table, print_error


def main(argv=None) -> int:
    ap = parser("train", __doc__)
    ap.add_argument("--gin_file", action="append", default=[], help="gin file (repeatable)")
    ap.add_argument("--gin_param", action="append", default=[], help="gin binding (repeatable)")
    ap.add_argument("--workdir", default=None, help="run folder (default: results/runs/<id>-...)")
    ap.add_argument("--dry_run", action="store_true", help="print the parsed config and exit")
    ap.add_argument("--no_progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if not args.gin_file:
        return print_error("give at least one --gin_file, e.g. gin/experiments/toy.gin")
    try:
        text = parse(args.gin_file, args.gin_param)
    except ConfigError as err:
        return print_error(err)
    import gin

    from zoo import dist
    from zoo.run.train import train

    if args.dry_run:
        print(gin.config_str())
        return 0
    dist.setup()
    try:
        summary = train(workdir=args.workdir, config_text=text, progress=not args.no_progress)
    except (ValueError, FileNotFoundError, KeyError, TypeError) as err:
        return print_error(err if dist.is_main() else f"rank {dist.rank()}: {err}")
    dist.cleanup()  # only after a clean return: a final barrier would wait for a dead rank
    if not dist.is_main():
        return 0 if summary["status"] in ("finished", "interrupted") else 1
    out = Console()
    out.print(f"run folder: [bold]{summary['workdir']}[/]  status: {summary['status']}")
    if summary.get("final_metrics"):
        out.print(metrics_table(summary))
    return 0 if summary["status"] in ("finished", "interrupted") else 1
