r"""Run a sweep: every point of a grid of gin bindings is one drift-zoo train run.

    drift-zoo sweep gin/sweeps/toy_kernels.py --dry_run         # points and run folders
    drift-zoo sweep gin/sweeps/toy_kernels.py --workers 2        # run (resumable)
    drift-zoo sweep --gin_file gin/experiments/toy.gin \
        --axis 'train.kernel=@laplace,@gaussian' --axis 'train.temperatures=(1.0, 4.0),(0.5, 2.0)' \
        --seeds 0,1 --gin_param 'train.steps = 300'
    drift-zoo sweep gin/sweeps/toy_kernels.py --launcher slurm --partition gpu --gpus 1 \
        --time 60 --array_parallelism 16
    drift-zoo sweep --import my_fields.py --gin_file gin/experiments/toy.gin \
        --axis 'train.field=@my_field,@meanshift'       # every job loads the plug-in too

Runs live in <root>/<sweep name>/<run name>/; finished runs are skipped, interrupted ones
resume from their checkpoint, failed ones rerun only with --retry. See README, "Sweeps".
The sweep ends with its leaderboard and <sweep folder>/curves.png (every run's --metric and
loss curves overlaid, zoo/sweeps/curves.py); --tensorboard makes every run write event files.
"""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from zoo import plugins
from zoo.cli import parser
from zoo.config import ROOT
from zoo.run.report import print_error
from zoo.run.tensorboard import ENV as TENSORBOARD_ENV
from zoo.sweeps import build_sweep
from zoo.sweeps.curves import sweep_curves
from zoo.sweeps.job import folder_state
from zoo.sweeps.launch import LAUNCHERS, make_jobs, run_jobs, threads_per_worker
from zoo.sweeps.live import SweepView


def _args(argv):
    ap = parser("sweep", __doc__)
    ap.add_argument("sweep_file", nargs="?", help="a sweep file, e.g. gin/sweeps/toy_kernels.py")
    ap.add_argument("--gin_file", action="append", default=[], help="base gin file (replaces the file's)")
    ap.add_argument("--gin_param", action="append", default=[], help="binding for every point")
    ap.add_argument("--axis", action="append", default=[], help="'binding=v1,v2' (crossed with the rest)")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (replaces the file's)")
    ap.add_argument("--name", default=None, help="sweep folder name (default: the sweep file's stem)")
    ap.add_argument("--root", default=str(ROOT / "results" / "runs" / "sweeps"),
                    help="folder of sweep folders (relative to the current folder)")
    ap.add_argument("--dry_run", action="store_true", help="list points and run folders, run nothing")
    ap.add_argument("--retry", action="store_true", help="rerun failed runs")
    ap.add_argument("--launcher", choices=LAUNCHERS, default="local")
    ap.add_argument("--workers", type=int, default=1, help="parallel runs (local)")
    ap.add_argument("--metric", default="energy_distance", help="metric shown in the live view")
    ap.add_argument("--trainer", default=None, help="command replacing 'drift-zoo train'")
    ap.add_argument("--tensorboard", action="store_true",
                    help="runs also write TensorBoard event files (sets ZOO_TENSORBOARD=1 for them)")
    slurm = ap.add_argument_group("slurm (submitit)")
    slurm.add_argument("--partition", default=None)
    slurm.add_argument("--gpus", type=int, default=0, help="GPUs per job")
    slurm.add_argument("--time", type=int, default=60, help="minutes per job (then requeued)")
    slurm.add_argument("--array_parallelism", type=int, default=None, help="jobs at once (default: all)")
    slurm.add_argument("--cpus_per_task", type=int, default=4)
    slurm.add_argument("--mem_gb", type=float, default=None)
    return ap.parse_args(argv)


def _rel(path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    rel = os.path.relpath(Path(path).resolve(), Path.cwd())
    return str(Path(path).resolve()) if rel.startswith("..") else rel


def dry_run(sweep, jobs, out: Console) -> int:
    out.print(f"sweep {sweep.name}: {len(jobs)} points on {' + '.join(sweep.gin_files)}"
              + (f" with {'; '.join(sweep.params)}" if sweep.params else ""), highlight=False, soft_wrap=True)
    for j in jobs:
        own = j.params[len(sweep.params):]
        out.print(f"{folder_state(j):>11}  {escape(_rel(j.workdir))}  {escape('; '.join(own))}",
                  highlight=False, soft_wrap=True)
    return 0


def main(argv=None) -> int:
    args = _args(argv)
    if args.tensorboard:
        os.environ[TENSORBOARD_ENV] = "1"  # the trainers inherit it
    args.root = str(Path(args.root).resolve())  # jobs run in the repository root: no relative root
    if not args.sweep_file and not args.gin_file:
        return print_error("give a sweep file (gin/sweeps/*.py) or --gin_file with --axis bindings")
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
        sweep = build_sweep(args.sweep_file, gin_files=args.gin_file, params=args.gin_param,
                            axes=args.axis, seeds=seeds, name=args.name)
        slurmish = args.launcher != "local"
        threads = args.cpus_per_task if slurmish else threads_per_worker(args.workers)
        trainer = shlex.split(args.trainer) if args.trainer else None
        jobs = make_jobs(sweep, args.root, threads=threads, retry=args.retry, trainer=trainer)
        for job in jobs:  # every point loads the plug-ins this sweep was given
            job.imports = plugins.sources()
    except (ValueError, FileNotFoundError) as err:
        return print_error(err)
    out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 250)
    if args.dry_run:
        return dry_run(sweep, jobs, out)
    slurm = dict(name=f"sweep-{sweep.name}", partition=args.partition, gpus=args.gpus, time=args.time,
                 mem_gb=args.mem_gb)
    parallel = args.array_parallelism or (len(jobs) if slurmish else args.workers)
    try:
        with SweepView(jobs, args.metric, title=f"sweep {sweep.name}") as view:
            results = run_jobs(jobs, view, launcher=args.launcher, workers=parallel,
                               folder=Path(args.root) / sweep.name, slurm=slurm)
    except RuntimeError as err:  # e.g. submitit: no srun on this machine
        return print_error(err)
    except KeyboardInterrupt:  # slurm / submitit: the jobs keep running
        out.print("stopped watching; the jobs keep running -- rerun this command later to collect and resume")
        return 130
    curves = sweep_curves(Path(args.root) / sweep.name, metric=args.metric)
    if curves:
        out.print(f"curves: {_rel(curves)}", highlight=False)
    counts = {s: sum(r["status"] == s for r in results) for s in dict.fromkeys(r["status"] for r in results)}
    out.print(f"sweep {sweep.name}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
              + f"  ({_rel(Path(args.root) / sweep.name)})", highlight=False)
    for r in results:
        if r["status"] in ("failed", "conflict", "busy", "interrupted"):
            out.print(f"  {r['status']:>11} {escape(r['name'])}: {escape(str(r.get('detail', '')))}", highlight=False)
    return 0 if all(r["status"] in ("done", "skipped") for r in results) else 1
