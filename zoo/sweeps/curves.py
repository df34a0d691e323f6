"""One ``curves.png`` per sweep folder: every run's curves overlaid, one colour per row.

    drift-zoo sweep gin/sweeps/paper_antisymmetry.py      # ends by writing <sweep>/curves.png

Left: the sweep's metric (``--metric``, default energy distance) at each evaluation; right: the
training loss (log scale where it is positive). Runs that differ only in the seed (names that
end in ``_s<seed>``, ``zoo.sweeps.spec.run_names``) share a colour and one legend entry. Read
from each run's metrics.jsonl (``Run.records``: a torn last line is skipped), so a sweep cut
short still plots what its runs logged.
"""
from __future__ import annotations

import re
from pathlib import Path

from zoo.run.folder import Run, atomic_write
from zoo.sweeps.read_run import find_runs

SEED = re.compile(r"_s\d+$")


def series(records: list[dict], kind: str, key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of ``key`` in the records of ``kind`` ('train' / 'eval') that hold it."""
    pts = [(r["step"], r[key]) for r in records if r.get("kind") == kind and isinstance(
        r.get(key), (int, float)) and isinstance(r.get("step"), int)]
    return [s for s, _ in pts], [float(v) for _, v in pts]


def sweep_curves(folder, path=None, metric: str = "energy_distance") -> Path | None:
    """Write ``folder``/curves.png (or ``path``); None when no run logged anything."""
    from zoo.run.plots import pyplot

    runs = [(p.name, Run(p).records()) for p in find_runs([folder])]
    runs = [(name, recs) for name, recs in sorted(runs) if recs]
    if not runs:
        return None
    plt = pyplot()
    rows = list(dict.fromkeys(SEED.sub("", name) for name, _ in runs))
    colours = {row: plt.get_cmap("tab10" if len(rows) <= 10 else "tab20")(i % 20)
               for i, row in enumerate(rows)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    seen = set()
    for name, recs in runs:
        row = SEED.sub("", name)
        label = None if row in seen else row
        seen.add(row)
        for ax, (kind, key) in zip(axes, (("eval", metric), ("train", "loss"))):
            steps, values = series(recs, kind, key)
            ax.plot(steps, values, color=colours[row], lw=1.2, alpha=0.8,
                    marker="o" if kind == "eval" else None, ms=3, label=label if ax is axes[0] else None)
    for ax, title in zip(axes, (f"{metric} (eval)", "training loss")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if all(v > 0 for line in axes[1].get_lines() for v in line.get_ydata()):
        axes[1].set_yscale("log")
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{Path(folder).name}: {len(runs)} runs, {len(rows)} rows", fontsize=10)
    fig.tight_layout()
    out = Path(path) if path else Path(folder) / "curves.png"
    atomic_write(out, lambda f: fig.savefig(f, format="png", dpi=100))  # two sweeps may race
    plt.close(fig)
    return out
