"""The toy table as a picture: every cloud's energy distance and precision against training
steps, one line per config, so "does the recipe get worse with training?" (issue 16) is read
at a glance.

    steps_png("results/toy_table.png", results, ["official_toy", "toy"], datasets, (2000, 8000))

``results`` is {(config, dataset, seed, steps): summary}, as ``zoo.cli.toy_table.table`` takes
it; only finished runs count. Each dataset is a block of two panels: above, the energy distance
(lower is better; the estimator is unbiased, so values near 0 may be negative), below, the
precision (higher is better). Each config has one colour: its seeds are dots, their mean a line
through the step counts (x: steps, log scale). A line that climbs in an upper panel, or falls
in a lower one, is a recipe that got worse with training; a step count with no finished run is
a gap in the line.
"""
from __future__ import annotations

import math
import statistics
from pathlib import Path

from zoo.run.plots import pyplot

METRICS = (("energy_distance", "energy distance (lower)"), ("precision", "precision (higher)"))
COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple")


def seed_values(results, config: str, dataset: str, count, metric: str) -> list[float]:
    """The metric of every finished seed of one (config, dataset, step count)."""
    return [s["final_metrics"][metric] for (n, d, _, k), s in results.items()
            if (n, d, k) == (config, dataset, count) and s.get("status") == "finished"
            and (s.get("final_metrics") or {}).get(metric) is not None]


def steps_figure(results, configs: list[str], datasets: list[str], steps, per_row: int = 5):
    """The figure: a block of two panels (METRICS, one above the other) per dataset, ``per_row``
    blocks to a row; one line per config in every panel."""
    plt = pyplot()
    cols = min(per_row, len(datasets))
    blocks = -(-len(datasets) // cols)
    fig, axes = plt.subplots(2 * blocks, cols, figsize=(2.6 * cols + 0.6, 4.4 * blocks),
                             squeeze=False)
    lo, hi = min(steps) / 1.5, max(steps) * 1.5
    for j, dataset in enumerate(datasets):
        for i, (metric, label) in enumerate(METRICS):
            ax = axes[2 * (j // cols) + i][j % cols]
            for c, config in enumerate(configs):
                colour = COLOURS[c % len(COLOURS)]
                values = [seed_values(results, config, dataset, k, metric) for k in steps]
                for k, v in zip(steps, values):
                    ax.scatter([k] * len(v), v, s=10, color=colour, alpha=0.5)
                means = [statistics.mean(v) if v else math.nan for v in values]  # NaN: a gap
                ax.plot(steps, means, "-o", color=colour, ms=4, label=config)
            ax.set_xscale("log")
            ax.set_xlim(lo, hi)
            ax.set_xticks(list(steps), [str(k) for k in steps], fontsize=7)
            ax.minorticks_off()
            ax.tick_params(axis="y", labelsize=7)
            if metric == "energy_distance":
                ax.axhline(0, color="0.7", lw=0.6)
                ax.set_title(dataset, fontsize=9)
            if j % cols == 0:
                ax.set_ylabel(label, fontsize=8)
    for j in range(len(datasets), blocks * cols):  # empty cells of the last row
        axes[-2][j % cols].remove()
        axes[-1][j % cols].remove()
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def steps_png(path, results, configs: list[str], datasets: list[str], steps) -> Path:
    """Write ``steps_figure`` to ``path`` (PNG); returns the path."""
    fig = steps_figure(results, configs, datasets, steps)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return Path(path)
