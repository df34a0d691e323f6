"""The leaderboard: every run folder under some roots, grouped, aggregated over seeds.

Run folders are read by ``zoo.sweeps.read_run`` (never a crash: an unreadable run is
``corrupt``, shown as such); ``zoo.sweeps.print_board`` prints the board in the terminal.

Columns: the component kinds that vary (generator, field, kernel, negatives, encoder,
dataset; from summary.json, else from ``train.<kind>`` bindings), the gin bindings that vary
(from config.gin, includes followed) after the row's run folders, then final metrics as
mean +- std over the runs of a group (seeds), with n = finished runs. The best group per
metric (``METRIC_GOAL``) is marked; rows come best-first by the main metric
(``zoo.metrics.headline``) unless ``sort`` says otherwise. Only numbers are metrics: a JSON
``true`` or a string in ``final_metrics`` is shown as missing. With ``paper`` (a sweep file's
``PAPER`` reference, ``zoo.sweeps.paper``) the paper's number per row and whether the
direction holds come between n and the metrics.

A component may declare options it does not read, ``fn.ignores = ("kernel",)`` (a kind, or a
gin binding key such as ``"train.temperatures"``): where such an option varies, its cell in that
component's rows is marked ``IGNORED_MARK`` (dimmed in the terminal) and a footer says why, so
a column that cannot matter is not read as a result. Energy distance, MMD and KID are marked
as unbiased estimates that can be < 0 (``zoo.metrics.headline.signed_note``).
"""
from __future__ import annotations

import csv
import fnmatch
import math
import os
import re
import statistics

from zoo.metrics.evaluate import METRIC_GOAL as _METRIC_GOAL
from zoo.metrics.headline import SIGNED, SIGNED_MARK, main_metric, signed_note
from zoo.registry import RegistryError, lookup
from zoo.sweeps.read_run import (KINDS, RUN_STATS, RunInfo, component_name, find_runs,  # noqa: F401
                                 parse_bindings, read_run)
from zoo.sweeps.paper import paper_cells, paper_header, paper_notes
from zoo.sweeps.spec import SEED_KEY, short_labels

METRIC_GOAL = {**_METRIC_GOAL, **RUN_STATS}
IGNORED_MARK = "†"  # a cell whose option the row's component ignores


def ignored_options(components: dict) -> dict[str, str]:
    """{option: component name} for the options that ``components`` ({kind: name}) declare
    with ``fn.ignores``; unknown components (another checkout's) declare nothing."""
    out: dict[str, str] = {}
    for kind, name in components.items():
        try:
            declared = getattr(lookup(kind, name), "ignores", ())
        except RegistryError:
            continue
        for option in declared:
            out.setdefault(option, name)
    return out


def _norm(value) -> str:
    return re.sub(r"\s+", "", component_name(value) if str(value).startswith("@") else str(value)).strip("'\"")


class Board:
    """Runs -> columns -> groups; the renderers (rich, markdown, csv, plots) read from here."""

    def __init__(self, runs: list[RunInfo], filters=(), group_by=None, metrics=None, sort=None,
                 paper=None):
        self.all = runs
        self.filters = list(filters)
        self.paper = paper  # a zoo.sweeps.paper.PaperRef: the paper's number per row
        self.runs = [r for r in runs if all(self._match(r, f) for f in filters)]
        # a kind varies when runs name different components (unknown, e.g. corrupt, is no vote)
        self.kinds = [k for k in KINDS if len({r.components.get(k) for r in self.runs} - {None}) > 1]
        shadow = {f"train.{k}" for k in KINDS} | {SEED_KEY}
        keys = list(dict.fromkeys(k for r in self.runs for k in r.bindings if k not in shadow))
        keys = [k for k in keys if len({r.bindings.get(k) for r in self.runs}) > 1]
        self.labels = short_labels(keys)
        self.columns = self.kinds + [self.labels[k] for k in keys]
        if group_by:
            unknown = [c for c in group_by if c not in self.columns + ["seed"]]
            if unknown:
                raise ValueError(f"--group_by {unknown}: columns are {self.columns + ['seed']}")
            self.columns = list(group_by)
        present = {m for r in self.runs for m in r.metrics}
        self.metrics = metrics or [m for m in METRIC_GOAL if m in present] + sorted(present - set(METRIC_GOAL))
        self.constants = {}
        for kind in KINDS:
            values = {r.components.get(kind) for r in self.runs} - {None}
            if len(values) == 1:
                self.constants[kind] = values.pop()
        self.groups = self._group()
        self.sort = sort or main_metric(self.metrics) or next(
            (m for m in self.metrics if m in _METRIC_GOAL), None)  # best-first by default
        if self.sort:
            self._sort(self.sort)

    def value(self, run: RunInfo, column: str):
        if column == "seed":
            return run.seed
        if column == "status":
            return run.status
        if column == "run":
            return run.path.name
        if column in KINDS:
            return run.components.get(column)
        key = next((k for k, lab in getattr(self, "labels", {}).items() if lab == column), column)
        if key not in run.bindings:  # a label from the full set of runs (filters come first)
            key = next((k for k in run.bindings if k.split(".")[-1] == column), key)
        return run.bindings.get(key)

    def _match(self, run: RunInfo, spec: str) -> bool:
        m = re.match(r"\s*([\w./]+)\s*(!=|=)\s*(.*)$", spec)
        if not m:
            raise ValueError(f"--filter '{spec}': expected 'column=value' or 'column!=value'")
        col, op, want = m.groups()
        got = self.value(run, col)
        hit = got is not None and fnmatch.fnmatchcase(_norm(got), _norm(want))
        return hit if op == "=" else not hit

    def _group(self) -> list[dict]:
        groups: dict[tuple, list[RunInfo]] = {}
        for r in self.runs:
            groups.setdefault(tuple(self.value(r, c) for c in self.columns), []).append(r)
        out = []
        for key in sorted(groups, key=lambda k: [str(v) for v in k]):
            runs = groups[key]
            done = [r for r in runs if r.status == "finished"]
            stats = {}
            for m in self.metrics:
                vals = [r.metrics[m] for r in done if m in r.metrics]
                if vals:
                    stats[m] = (statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0, len(vals))
            out.append({"key": dict(zip(self.columns, key)), "runs": runs, "n": len(done),
                        "status": _status(runs), "stats": stats})
        return out

    def _sort(self, sort: str) -> None:
        if sort in self.metrics:
            sign = -1 if METRIC_GOAL.get(sort) == "max" else 1
            self.groups.sort(key=lambda g: (sort not in g["stats"], sign * g["stats"].get(sort, (0,))[0]))
        elif sort in self.columns:
            self.groups.sort(key=lambda g: _sortable(g["key"][sort]))
        else:
            raise ValueError(f"--sort {sort}: not a metric {self.metrics} or column {self.columns}")

    def best(self, metric: str):
        """Index of the best group for ``metric`` (by METRIC_GOAL), or None."""
        goal = METRIC_GOAL.get(metric)
        have = [(g["stats"][metric][0], i) for i, g in enumerate(self.groups) if metric in g["stats"]]
        if not goal or not have:
            return None
        return (min(have) if goal == "min" else max(have))[1]

    def header(self) -> list[str]:
        """Column titles: run, the varying columns, status, n, then each metric with its
        direction (and ``SIGNED_MARK`` for an estimate that can be < 0)."""
        extra = paper_header(self) if self.paper else []
        return ["run"] + self.columns + ["status", "n"] + extra + [_metric_title(m) for m in self.metrics]

    def ignored(self, group: dict, column: str) -> str | None:
        """The row's component that ignores ``column`` (its kind or binding key), or None."""
        components = {**self.constants, **{k: v for k, v in group["key"].items() if k in KINDS and v}}
        keys = {column} | {k for k, lab in self.labels.items() if lab == column}
        return next((name for option, name in ignored_options(components).items()
                     if option in keys), None)

    def rows(self, mark=lambda s: s, dim=lambda s: f"{s} {IGNORED_MARK}") -> tuple[list[str], list[list[str]]]:
        """(header, rows) of text cells; ``mark`` wraps the best cell of each metric, ``dim``
        a cell whose option the row's component ignores."""
        best = {m: self.best(m) for m in self.metrics}
        extra = paper_cells(self) if self.paper else [[] for _ in self.groups]
        rows = []
        for i, g in enumerate(self.groups):
            cells = [folders(g["runs"])]
            cells += [_key_cell(g["key"][c], dim if self.ignored(g, c) else None) for c in self.columns]
            cells += [g["status"], str(g["n"])] + extra[i]
            for m in self.metrics:
                cell = _cell(g["stats"].get(m))
                cells.append(mark(cell) if best[m] == i else cell)
            rows.append(cells)
        return self.header(), rows

    def notes(self) -> list[str]:
        """Footer lines: which cells are ignored and why, which metrics can be < 0."""
        seen = sorted({(c, name) for g in self.groups for c in self.columns
                       if (name := self.ignored(g, c))})
        out = [f"{IGNORED_MARK} {name} ignores {column}: rows that differ only there repeat one "
               f"setting" for column, name in seen]
        note = signed_note(self.metrics)
        return out + ([note] if note else []) + (paper_notes(self) if self.paper else [])

    def write_csv(self, path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            extra = paper_cells(self) if self.paper else [[] for _ in self.groups]
            w.writerow(["run"] + self.columns + ["status", "n"] + (paper_header(self) if self.paper else [])
                       + [f"{m}_{s}" for m in self.metrics for s in ("mean", "std")])
            for g, more in zip(self.groups, extra):
                stats = [x for m in self.metrics for x in (g["stats"].get(m, (None, None))[:2])]
                w.writerow([folders(g["runs"])] + [g["key"][c] for c in self.columns] + [g["status"], g["n"]]
                           + more + ["" if x is None else f"{x:.6g}" for x in stats])

    def markdown(self, command: str, title: str = "Leaderboard") -> str:
        header, rows = self.rows(mark=lambda s: f"**{s}**")
        const = ", ".join(f"{k} = {v}" for k, v in self.constants.items())
        lines = [f"# {title}", "", "Regenerate with:", "", "```bash", command, "```", "",
                 f"{len(self.runs)} runs; metrics are mean +- std over the n finished runs of a row "
                 "(seeds); best per metric in bold." + (f" All runs: {const}." if const else ""), "",
                 "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        notes = self.notes()
        notes = [re.sub(r"^\*", r"\\*", n) + "  " for n in notes]  # a leading * is no bullet
        return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def _status(runs: list[RunInfo]) -> str:
    if len(runs) == 1:
        r = runs[0]
        return r.status + (f" ({r.note})" if r.note and r.status != "finished" else "")
    order = ("finished", "running", "interrupted", "started", "failed", "corrupt")
    seen = sorted({r.status for r in runs}, key=lambda s: (order.index(s) if s in order else len(order), s))
    counts = {s: sum(r.status == s for r in runs) for s in seen}
    return "finished" if list(counts) == ["finished"] else ", ".join(f"{n} {s}" for s, n in counts.items())


def _metric_title(m: str) -> str:
    """'energy_distance (lower) *': the direction from METRIC_GOAL, the signed mark."""
    title = f"{m} ({'lower' if METRIC_GOAL[m] == 'min' else 'higher'})" if m in METRIC_GOAL else m
    return f"{title} {SIGNED_MARK}" if m in SIGNED else title


def _key_cell(value, dim) -> str:
    text = "-" if value is None else str(value)
    return dim(text) if dim else text


def folders(runs: list[RunInfo]) -> str:
    """The row's run folders in one cell: those of its finished runs by their shared stem
    ('laplace-a-s{0,1}'), '(+k)' for the others."""
    done = sorted(r.path.name for r in runs if r.status == "finished")
    names = done or sorted(r.path.name for r in runs)
    more = len(runs) - len(names)
    head = os.path.commonprefix(names)
    tail = os.path.commonprefix([n[len(head):][::-1] for n in names])[::-1]
    if len(names) == 1:
        cell = names[0]
    elif not head:
        cell, more = names[0], more + len(names) - 1
    else:
        cell = f"{head}{{{','.join(n[len(head):len(n) - len(tail)] for n in names)}}}{tail}"
    return cell + (f" (+{more})" if more else "")


def _cell(stat) -> str:
    if stat is None:
        return "-"
    mean, std, n = stat
    return f"{mean:.4g}" if n == 1 else f"{mean:.4g} +- {std:.2g}"


def _sortable(value):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def load(roots, **kw) -> Board:
    """A Board of every run folder under ``roots`` (kw: filters, group_by, metrics, sort, paper)."""
    return Board([read_run(p) for p in find_runs(roots)], **kw)


def plot_metric(board: Board, metric: str, x: str, path) -> None:
    """``metric`` against the swept value ``x``: one line per group of the other columns,
    mean with error bars (std over the seeds' finished runs)."""
    from zoo.run.plots import pyplot

    plt = pyplot()

    others = [c for c in board.columns if c not in (x, "seed")]
    points: dict[tuple, dict] = {}
    for r in board.runs:
        xv = board.value(r, x)
        if r.status == "finished" and metric in r.metrics and xv is not None:
            line = tuple(board.value(r, c) for c in others)
            points.setdefault(line, {}).setdefault(str(xv), []).append(r.metrics[metric])
    if not points:
        raise ValueError(f"no finished run has both '{metric}' and a value for '{x}'")
    xs = sorted({v for line in points.values() for v in line}, key=_sortable)
    numeric = all(_sortable(v)[0] == 0 for v in xs)
    pos = {v: (float(v) if numeric else i) for i, v in enumerate(xs)}
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for line, by_x in sorted(points.items(), key=lambda kv: str(kv[0])):
        keys = sorted(by_x, key=_sortable)
        means = [statistics.mean(by_x[k]) for k in keys]
        stds = [statistics.stdev(by_x[k]) if len(by_x[k]) > 1 else 0.0 for k in keys]
        label = ", ".join(f"{c}={v}" for c, v in zip(others, line)) or metric
        ax.errorbar([pos[k] for k in keys], means, yerr=stds, marker="o", capsize=3, label=label)
    if not numeric:
        ax.set_xticks(range(len(xs)), xs)
    goal = METRIC_GOAL.get(metric)
    ax.set_xlabel(x)
    ax.set_ylabel(metric + (f" ({'lower' if goal == 'min' else 'higher'} is better)" if goal else ""))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def samples_grid(board: Board, path, max_runs: int = 24, cols: int = 3) -> int:
    """The runs' samples.png side by side in one PNG (in table order); returns how many.
    Each samples.png carries its run's name as its title, so the panels get none."""
    from zoo.run.plots import pyplot

    plt = pyplot()

    runs = [r for g in board.groups for r in g["runs"] if (r.path / "samples.png").is_file()][:max_runs]
    if not runs:
        raise ValueError("no selected run has a samples.png")
    cols = min(cols, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 2.8 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, r in zip(axes.flat, runs):
        try:
            ax.imshow(plt.imread(r.path / "samples.png"))
        except (OSError, ValueError, SyntaxError):
            ax.text(0.5, 0.5, "unreadable samples.png", ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return len(runs)
