"""Quality against compute: every run's evaluated metrics against its CPU seconds, one picture.

    python -m zoo.sweeps.time_curves results/runs/sweeps/shapes_positives \
        results/runs/sweeps/shapes_features --metric fd,class_accuracy --out curves_time.png

x = step * cpu_time / steps: the run's user + sys seconds (``summary.json`` ``cpu_time``,
start-up and evaluations included) spread pro rata over its steps, so runs of different step
costs (a larger batch, an encoder) share one axis and a fixed budget is a vertical line. A
run without ``cpu_time`` falls back to ``wall_time`` (the training loop's seconds). One panel
per metric; rows = run names without ``_s<seed>`` share a colour (``zoo.sweeps.curves``); the
first folder's name is the title. ``--floor fd=3.3`` draws a metric's data-vs-data floor
(``drift-zoo floor``) as a dashed line.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from zoo.run.folder import Run, atomic_write
from zoo.sweeps.curves import SEED, row_colours, series
from zoo.sweeps.read_run import find_runs


def seconds_per_step(summary: dict) -> float | None:
    """cpu_time (else wall_time) / steps of a finished run, or None."""
    cost = summary.get("cpu_time") or summary.get("wall_time")
    steps = summary.get("step") or summary.get("steps")
    return cost / steps if cost and steps else None


def time_curves(folders, out, metrics=("fd",), floors=None, log=("fd",)) -> Path | None:
    """Write ``out``: one panel per metric, every finished run's evaluations against seconds."""
    from zoo.run.plots import pyplot

    runs = []
    for p in find_runs([Path(f) for f in folders]):
        run = Run(p)
        rate = seconds_per_step(run.summary() or {})
        if rate:
            runs.append((p.name, run.records(), rate))
    if not runs:
        return None
    plt = pyplot()
    colours = row_colours(plt, [name for name, _, _ in sorted(runs)])
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.2), squeeze=False)
    seen = set()
    for name, recs, rate in sorted(runs):
        row = SEED.sub("", name)
        for ax, metric in zip(axes[0], metrics):
            steps, values = series(recs, "eval", metric)
            ax.plot([s * rate / 60 for s in steps], values, color=colours[row], marker="o",
                    ms=3, lw=1.2, alpha=0.8, label=None if row in seen else row)
        seen.add(row)
    for ax, metric in zip(axes[0], metrics):
        if metric in (floors or {}):
            ax.axhline(floors[metric], ls="--", color="k", lw=1, label="data-vs-data floor")
        if metric in log:
            ax.set_yscale("log")
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel("CPU minutes (user + sys, pro rata)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(Path(folders[0]).name, fontsize=10)
    fig.tight_layout()
    atomic_write(Path(out), lambda f: fig.savefig(f, format="png", dpi=80))
    plt.close(fig)
    return Path(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zoo.sweeps.time_curves", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", help="sweep / run folders")
    ap.add_argument("--metric", default="fd,class_accuracy")
    ap.add_argument("--floor", action="append", default=[], help="metric=value (repeatable)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    floors = {k: float(v) for k, v in (f.split("=", 1) for f in args.floor)}
    out = time_curves(args.folders, args.out, tuple(args.metric.split(",")), floors)
    print(out or "no finished run with cpu_time / wall_time found")
    return 0 if out else 1


if __name__ == "__main__":
    raise SystemExit(main())
