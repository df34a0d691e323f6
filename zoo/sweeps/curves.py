"""One ``curves.png`` per sweep folder: every run's curves overlaid, one colour per row.

    drift-zoo sweep gin/sweeps/paper_antisymmetry.py      # ends by writing <sweep>/curves.png

Left: the sweep's metric (``--metric``, default energy distance) at each evaluation; right: the
training loss (log scale where it is positive). Runs that differ only in the seed (names that
end in ``_s<seed>``, ``zoo.sweeps.spec.run_names``) share a colour and one legend entry. Read
from each run's metrics.jsonl (``Run.records``: a torn last line is skipped), so a sweep cut
short still plots what its runs logged.

``loss_tracks`` is Fig. 4's check (Deng et al. 2026): Spearman's rank correlation between the
training loss and the metric over a run's evaluations (+1: the loss falls exactly when the
distance does); ``drift-zoo leaderboard --track energy_distance`` shows it per row as the
metric ``loss_vs_energy_distance``.
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


def row_colours(plt, names) -> dict:
    """{row: colour}: runs that differ only in ``_s<seed>`` (one row) share a colour."""
    rows = list(dict.fromkeys(SEED.sub("", name) for name in names))
    cmap = plt.get_cmap("tab10" if len(rows) <= 10 else "tab20")
    return {row: cmap(i % 20) for i, row in enumerate(rows)}


def sweep_curves(folder, path=None, metric: str = "energy_distance") -> Path | None:
    """Write ``folder``/curves.png (or ``path``); None when no run logged anything."""
    from zoo.run.plots import pyplot

    runs = [(p.name, Run(p).records()) for p in find_runs([folder])]
    runs = [(name, recs) for name, recs in sorted(runs) if recs]
    if not runs:
        return None
    plt = pyplot()
    colours = row_colours(plt, [name for name, _ in runs])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    seen = set()
    for name, recs in runs:
        row = SEED.sub("", name)
        label = None if row in seen else row
        seen.add(row)
        for ax, (kind, key) in zip(axes, (("eval", metric), ("train", "loss"))):
            steps, values = series(recs, kind, key)
            ax.plot(steps, values, color=colours[row], lw=1.2, alpha=0.8,
                    marker="o" if kind == "eval" else None, ms=3,
                    label=label if ax is axes[0] else None)
    for ax, title in zip(axes, (f"{metric} (eval)", "training loss")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if all(v > 0 for line in axes[1].get_lines() for v in line.get_ydata()):
        axes[1].set_yscale("log")
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{Path(folder).name}: {len(runs)} runs, {len(colours)} rows", fontsize=10)
    fig.tight_layout()
    out = Path(path) if path else Path(folder) / "curves.png"
    atomic_write(out, lambda f: fig.savefig(f, format="png", dpi=100))  # two sweeps may race
    plt.close(fig)
    return out


def _ranks(values: list[float]) -> list[float]:
    """Ranks 0..n-1, ties sharing their mean rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation of two equal-length lists (None below 3 points or when
    either is constant)."""
    if len(a) != len(b) or len(a) < 3:
        return None
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va, vb = sum((x - ma) ** 2 for x in ra), sum((y - mb) ** 2 for y in rb)
    return None if va == 0 or vb == 0 else cov / (va * vb) ** 0.5


def loss_tracks(records: list[dict], metric: str) -> float | None:
    """Spearman correlation between the training loss and ``metric`` at the evaluation steps
    (Deng et al. 2026, Fig. 4: the loss should fall as q -> p); None below 3 evaluations."""
    loss = dict(zip(*series(records, "train", "loss")))
    steps, values = series(records, "eval", metric)
    pairs = [(loss[s], v) for s, v in zip(steps, values) if s in loss]
    return spearman([p for p, _ in pairs], [v for _, v in pairs])


def add_loss_tracking(runs, metric: str) -> str:
    """Give every run (RunInfo) the metric ``loss_vs_<metric>`` = ``loss_tracks`` of its
    metrics.jsonl, where defined; returns that metric's name (for --metric)."""
    name = f"loss_vs_{metric}"
    for r in runs:
        rho = loss_tracks(Run(r.path).records(), metric)
        if rho is not None:
            r.metrics[name] = rho
    return name
