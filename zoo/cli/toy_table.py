r"""Compare gin configs on 2-D toys and write a markdown table (results/toy.md).

    drift-zoo toy-table --config official_toy=gin/experiments/official_toy.gin \
        --config toy=gin/experiments/toy.gin \
        --datasets checkerboard,swiss_roll,pinwheel,grid_gaussians --seeds 0 --workers 2 \
        --steps 2000,8000 --out results/toy.md

Each (config, dataset, seed) trains in its own subprocess (one thread each) under
results/runs/toy_table/; finished runs are reused, interrupted ones resume. ``--steps`` trains
every run once per step count (``train.steps``; folder ``<config>-<dataset>-<steps>steps-s<seed>``)
and the table gets one row per step count, so "does not get worse with training" is one
command (issue 16); a figure of the same rows lies beside the table (``<out>.png``,
``zoo.run.steps_png``: per cloud, one line per config through the step counts). Without
``--steps`` every run keeps its config's ``train.steps`` (folder ``<config>-<dataset>-s<seed>``).
``--only_finished`` writes the table from the runs already finished under --root without
training anything (missing rows show n = 0).

Every finished run is also a row of the ledger (``--ledger``, default results/toy_rows.jsonl,
committed; ``zoo.run.ledger``): its final metrics, steps/s, CPU and commit, keyed by the run's
resolved config and ``--eval_num``. A run that is in the ledger is not trained again, so the
table grows across sessions and machines although run folders do not survive them; the table's
last line says which CPUs its rows ran on. ``--ledger ''`` trains from run folders alone.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from rich.console import Console

from zoo.cli import parser
from zoo.config import ROOT, config_text
from zoo.run import ledger as ledger_lib
from zoo.run.folder import Run
from zoo.run.steps_png import steps_png

COLUMNS = [("energy_distance", "energy dist. (lower)", "{:.5f}"), ("precision", "precision", "{:.3f}"),
           ("recall", "recall", "{:.3f}"), ("high_quality", "within 3 sigma", "{:.3f}"),
           ("modes_covered", "modes covered", "{:.1f}")]


def folder(root: Path, name: str, dataset: str, seed: int, steps: int | None) -> Path:
    """The run folder of one table entry (see the module docstring)."""
    return root / (f"{name}-{dataset}-s{seed}" if steps is None
                   else f"{name}-{dataset}-{steps}steps-s{seed}")


def params(dataset: str, seed: int, extra, steps: int | None) -> list[str]:
    """The --gin_param bindings of one table entry, in the order its train command gives them."""
    return [f"train.dataset = @{dataset}()", f"train.seed = {seed}", *extra,
            *([] if steps is None else [f"train.steps = {steps}"])]


def run_one(name, gin_file, dataset, seed, root, extra, eval_num=None, steps=None,
            train=True, ledger=None):
    """(name, dataset, seed, steps, summary, key) of one run: its run folder's summary if it
    finished there, else the ledger's row if it has one, else (unless ``train`` is False) the
    summary of a fresh training run."""
    wd = folder(root, name, dataset, seed, steps)
    bindings = params(dataset, seed, extra, steps)
    row_key = ledger_lib.key(config_text([gin_file], bindings), eval_num)
    summary = Run(wd).summary() or {}
    done = summary.get("status") == "finished" and (not eval_num
                                                   or summary.get("eval_samples") == eval_num)
    if not done and ledger is not None and (row := ledger.find(row_key)):
        return name, dataset, seed, steps, row, row_key
    if not train or done:
        return name, dataset, seed, steps, summary, row_key
    cmd = [sys.executable, "-m", "zoo.cli", "train", "--gin_file", gin_file, "--no_progress",
           "--workdir", str(wd), *sum((["--gin_param", p] for p in bindings), [])]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        Console(stderr=True).print(f"[red]{wd.name} failed[/]\n{proc.stderr[-1500:]}")
    summary = Run(wd).summary() or {}
    if eval_num and summary.get("status") == "finished" and summary.get("eval_samples") != eval_num:
        subprocess.run([sys.executable, "-m", "zoo.cli", "eval", "--workdir", str(wd),
                        "--num", str(eval_num)], cwd=ROOT, env=env, capture_output=True, text=True)
        summary = Run(wd).summary() or {}
    return name, dataset, seed, steps, summary, row_key


def parse_steps(text: str | None) -> tuple:
    """'2000,8000' -> (2000, 8000); None -> (None,) (each config's own train.steps)."""
    if text is None:
        return (None,)
    try:
        counts = tuple(int(k) for k in text.split(","))
    except ValueError:
        counts = ()
    if not counts or any(k < 1 for k in counts):
        raise SystemExit(f"--steps must be comma-separated positive integers such as 2000,8000, "
                         f"got '{text}'")
    return counts


def cell(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.mean(values))} +- {fmt.format(statistics.stdev(values))}"


def table(results, configs, datasets, command, steps=(None,), seeds=None) -> str:
    """The markdown table: one row per dataset x config (x step count when ``steps`` lists
    them); results {(config, dataset, seed, steps): summary}. Only finished runs count; with
    ``seeds`` (the number asked for) a closing line lists every row with fewer finished runs."""
    by_steps = steps != (None,)
    head = "| dataset | config | " + ("steps | " if by_steps else "")
    lines = [f"# 2-D toys: {' vs '.join(configs)}", "", "Regenerate with:", "", "```bash",
             command, "```", "", "Metrics of EMA samples against held-out data (README, Metrics); "
             "mean +- std over seeds where n > 1.", "",
             head + " | ".join(c[1] for c in COLUMNS) + " | steps/s | n |",
             "|---|---|" + "---|" * (len(COLUMNS) + 2 + by_steps)]
    short = []
    for ds in datasets:
        for name in configs:
            for count in steps:
                sums = [s for (n, d, _, k), s in results.items()
                        if n == name and d == ds and k == count and s.get("status") == "finished"]
                metrics = [s.get("final_metrics") or {} for s in sums]
                row = [cell([m.get(k) for m in metrics], f) for k, _, f in COLUMNS]
                speed = cell([s.get("steps_per_s") for s in sums], "{:.2f}")
                lead = f"| {ds} | {name} | " + (f"{count} | " if by_steps else "")
                lines.append(lead + " | ".join(row) + f" | {speed} | {len(sums)} |")
                if seeds and len(sums) < seeds:
                    short.append(f"{ds} / {name}" + (f" / {count} steps" if by_steps else "")
                                 + f" ({len(sums)} of {seeds})")
    cpus = Counter(f"{s.get('cpu') or 'unknown CPU'} ({s.get('cpu_capability') or '?'})"
                   for (n, d, _, k), s in results.items()
                   if n in configs and d in datasets and k in steps
                   and s.get("status") == "finished")
    if cpus:
        lines += ["", "Runs per CPU (seeds from different machines are samples, not replicas): "
                  + "; ".join(f"{c}: {m}" for c, m in sorted(cpus.items())) + "."]
    if short:
        lines += ["", f"Rows with fewer than {seeds} finished seeds: {'; '.join(short)}. The "
                  "command above trains exactly the missing runs (finished ones are reused)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = parser("toy-table", __doc__)
    ap.add_argument("--config", action="append", required=True, help="name=gin_file (repeatable)")
    ap.add_argument("--datasets", default="checkerboard,swiss_roll,pinwheel,grid_gaussians")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--steps", default=None,
                    help="comma-separated step counts, e.g. 2000,8000: every run once per count, "
                         "one table row per count (default: the config's train.steps)")
    ap.add_argument("--only_finished", action="store_true",
                    help="train nothing: tabulate the finished runs under --root")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--gin_param", action="append", default=[], help="extra binding for every run")
    ap.add_argument("--eval_num", type=int, default=None,
                    help="re-evaluate every finished run on this many samples (drift-zoo eval)")
    ap.add_argument("--root", default=str(ROOT / "results" / "runs" / "toy_table"))
    ap.add_argument("--ledger", default=str(ROOT / "results" / "toy_rows.jsonl"),
                    help="JSON-lines file of finished runs, read and appended ('' for none)")
    ap.add_argument("--out", default=str(ROOT / "results" / "toy.md"))
    args = ap.parse_args(argv)
    configs = dict(c.split("=", 1) for c in args.config)
    datasets, seeds = args.datasets.split(","), [int(s) for s in args.seeds.split(",")]
    steps = parse_steps(args.steps)
    jobs = [(n, f, d, s, k) for d in datasets for n, f in configs.items() for k in steps
            for s in seeds]
    console = Console(stderr=True)
    results = {}
    ledger = ledger_lib.Ledger(args.ledger) if args.ledger else None
    with ThreadPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_one, n, f, d, s, Path(args.root), args.gin_param, args.eval_num,
                               k, not args.only_finished, ledger) for n, f, d, s, k in jobs]
        with console.status(f"training {len(jobs)} runs with {args.workers} workers"):
            for fut in as_completed(futures):  # each run reaches the ledger as soon as it ends
                name, ds, seed, count, summary, row_key = fut.result()
                results[(name, ds, seed, count)] = summary
                evaluated = not args.eval_num or summary.get("eval_samples") == args.eval_num
                if (ledger is not None and summary.get("status") == "finished" and evaluated
                        and "key" not in summary and not ledger.find(row_key)):
                    ledger.add(row_key, summary, config=name, dataset=ds, seed=seed, steps=count)
                m = summary.get("final_metrics") or {}
                console.print(f"{name:>14} {ds:>15} {count or '':>6} s{seed}: "
                              f"ED {m.get('energy_distance', float('nan')):.4f} "
                              f"P {m.get('precision', float('nan')):.3f} R {m.get('recall', float('nan')):.3f}")
    command = "drift-zoo toy-table " + " ".join(
        [f"--config {c}" for c in args.config] + [f"--datasets {args.datasets}", f"--seeds {args.seeds}"]
        + ([f"--steps {args.steps}"] if args.steps else []) + [f"--workers {args.workers}"]
        + ([f"--eval_num {args.eval_num}"] if args.eval_num else []) + [f"--gin_param '{p}'" for p in args.gin_param]
        + [f"--out {os.path.relpath(args.out, ROOT)}"])
    text = table(results, list(configs), datasets, command, steps, len(seeds))
    if len(steps) > 1:  # the picture of "does it get worse with training?" beside the table
        png = steps_png(Path(args.out).with_suffix(".png"), results, list(configs), datasets,
                        steps)
        text += f"\n![energy distance and precision against steps]({png.name})\n"
    Path(args.out).write_text(text)
    console.print(f"wrote {args.out}")
    return 0
