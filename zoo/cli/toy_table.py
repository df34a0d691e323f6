r"""Compare gin configs on 2-D toys and write a markdown table (results/toy.md).

    drift-zoo toy-table --config official_toy=gin/experiments/official_toy.gin \
        --config toy=gin/experiments/toy.gin \
        --datasets checkerboard,swiss_roll,pinwheel,grid_gaussians --seeds 0 --workers 2 \
        --out results/toy.md

Each (config, dataset, seed) trains in its own subprocess (one thread each) under
results/runs/toy_table/; finished runs are reused, interrupted ones resume.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

from zoo.cli import parser
from zoo.config import ROOT
from zoo.run.folder import Run

COLUMNS = [("energy_distance", "energy dist. (lower)", "{:.5f}"), ("precision", "precision", "{:.3f}"),
           ("recall", "recall", "{:.3f}"), ("high_quality", "within 3 sigma", "{:.3f}"),
           ("modes_covered", "modes covered", "{:.1f}")]


def run_one(name, gin_file, dataset, seed, root, extra, eval_num=None):
    wd = root / f"{name}-{dataset}-s{seed}"
    cmd = [sys.executable, "-m", "zoo.cli", "train", "--gin_file", gin_file, "--no_progress",
           "--workdir", str(wd), "--gin_param", f"train.dataset = @{dataset}()",
           "--gin_param", f"train.seed = {seed}", *sum((["--gin_param", p] for p in extra), [])]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        Console(stderr=True).print(f"[red]{wd.name} failed[/]\n{proc.stderr[-1500:]}")
    summary = Run(wd).summary() or {}
    if eval_num and summary.get("status") == "finished" and summary.get("eval_samples") != eval_num:
        subprocess.run([sys.executable, "-m", "zoo.cli", "eval", "--workdir", str(wd),
                        "--num", str(eval_num)], cwd=ROOT, env=env, capture_output=True, text=True)
        summary = Run(wd).summary() or {}
    return name, dataset, seed, summary


def cell(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} +- {fmt.format(statistics.stdev(values))}"


def table(results, configs, datasets, command) -> str:
    lines = [f"# 2-D toys: {' vs '.join(configs)}", "", "Regenerate with:", "", "```bash",
             command, "```", "", "Metrics of EMA samples against held-out data (README, Metrics); "
             "mean +- std over seeds where n > 1.", "",
             "| dataset | config | " + " | ".join(c[1] for c in COLUMNS) + " | steps/s | n |",
             "|---|---|" + "---|" * (len(COLUMNS) + 2)]
    for ds in datasets:
        for name in configs:
            sums = [s for (n, d, _), s in results.items() if n == name and d == ds]
            metrics = [s.get("final_metrics") or {} for s in sums]
            row = [cell([m.get(k) for m in metrics], f) for k, _, f in COLUMNS]
            speed = cell([s.get("steps_per_s") for s in sums], "{:.2f}")
            n = sum(1 for s in sums if s.get("status") == "finished")
            lines.append(f"| {ds} | {name} | " + " | ".join(row) + f" | {speed} | {n} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = parser("toy-table", __doc__)
    ap.add_argument("--config", action="append", required=True, help="name=gin_file (repeatable)")
    ap.add_argument("--datasets", default="checkerboard,swiss_roll,pinwheel,grid_gaussians")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gin_param", action="append", default=[], help="extra binding for every run")
    ap.add_argument("--eval_num", type=int, default=None,
                    help="re-evaluate every finished run on this many samples (drift-zoo eval)")
    ap.add_argument("--root", default=str(ROOT / "results" / "runs" / "toy_table"))
    ap.add_argument("--out", default=str(ROOT / "results" / "toy.md"))
    args = ap.parse_args(argv)
    configs = dict(c.split("=", 1) for c in args.config)
    datasets, seeds = args.datasets.split(","), [int(s) for s in args.seeds.split(",")]
    jobs = [(n, f, d, s) for d in datasets for n, f in configs.items() for s in seeds]
    console = Console(stderr=True)
    results = {}
    with ThreadPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_one, *job, Path(args.root), args.gin_param, args.eval_num) for job in jobs]
        with console.status(f"training {len(jobs)} runs with {args.workers} workers"):
            for fut in futures:
                name, ds, seed, summary = fut.result()
                results[(name, ds, seed)] = summary
                m = summary.get("final_metrics") or {}
                console.print(f"{name:>14} {ds:>15} s{seed}: ED {m.get('energy_distance', float('nan')):.4f} "
                              f"P {m.get('precision', float('nan')):.3f} R {m.get('recall', float('nan')):.3f}")
    command = "drift-zoo toy-table " + " ".join(
        [f"--config {c}" for c in args.config] + [f"--datasets {args.datasets}", f"--seeds {args.seeds}",
         f"--workers {args.workers}"] + ([f"--eval_num {args.eval_num}"] if args.eval_num else []) + [f"--gin_param '{p}'" for p in args.gin_param]
        + [f"--out {os.path.relpath(args.out, ROOT)}"])
    Path(args.out).write_text(table(results, list(configs), datasets, command))
    console.print(f"wrote {args.out}")
    return 0
