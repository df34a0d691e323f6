"""The leaderboard: every run folder under some roots, grouped, aggregated over seeds.

A run folder is any folder holding ``config.gin`` and/or ``summary.json`` (found
recursively). Nothing a run folder holds can crash the reader: a truncated summary, garbage
in metrics.jsonl or undecodable bytes make the run ``corrupt``, shown as such.

Columns: the component kinds that vary (generator, field, kernel, negatives, encoder,
dataset; from summary.json, else from ``train.<kind>`` bindings), the gin bindings that vary
(from config.gin, includes followed), then final metrics as mean +- std over the runs of a
group (seeds), with n = finished runs. The best group per metric (``METRIC_GOAL``) is marked.
"""
from __future__ import annotations

import csv
import fnmatch
import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from zoo.metrics.evaluate import METRIC_GOAL as _METRIC_GOAL

RUN_STATS = {"steps_per_s": "max", "wall_time": "min"}  # summary.json fields shown as metrics
METRIC_GOAL = {**_METRIC_GOAL, **RUN_STATS}
from zoo.sweeps.live import tail
from zoo.sweeps.spec import SEED_KEY, short_labels

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("generator", "field", "kernel", "negatives", "encoder", "dataset")
RUN_FILES = ("config.gin", "summary.json")


@dataclass
class RunInfo:
    """What the leaderboard knows about one run folder."""

    path: Path
    status: str = "corrupt"
    components: dict = field(default_factory=dict)
    bindings: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    seed: object = None
    note: str = ""


def _text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


def _statements(text: str):
    """Logical gin statements: comments stripped, bracketed continuation lines joined."""
    cur, depth = "", 0
    for line in text.splitlines():
        line = re.sub(r"""#(?=(?:[^'"]|'[^']*'|"[^"]*")*$).*""", "", line).strip()
        if not line:
            continue
        cur = f"{cur} {line}".strip()
        depth = sum(cur.count(c) for c in "([{") - sum(cur.count(c) for c in ")]}")
        if depth <= 0 and not cur.endswith("\\"):
            yield cur
            cur = ""
    if cur:
        yield cur


def parse_bindings(text: str, depth: int = 0) -> dict[str, str]:
    """{key: value text} of gin text, later bindings winning; ``include`` files followed."""
    out: dict[str, str] = {}
    for st in _statements(text):
        inc = re.match(r"""include\s+['"](.+)['"]$""", st)
        if inc and depth < 8:
            sub = _text(ROOT / inc.group(1)) or _text(Path(inc.group(1)))
            out.update(parse_bindings(sub or "", depth + 1))
            continue
        m = re.match(r"([\w./]+)\s*=\s*(.+)$", st)
        if m:
            out[m.group(1)] = re.sub(r"\s+", " ", m.group(2).strip())
    return out


def component_name(value) -> str:
    """'@kernel.laplace()' -> 'laplace'."""
    return str(value).strip().lstrip("@").removesuffix("()").split(".")[-1]


def find_runs(roots) -> list[Path]:
    """Run folders below each root (a root may itself be a run folder), sorted."""
    found = []
    for root in map(Path, roots):
        for here, dirs, files in os.walk(root):
            if any(f in files for f in RUN_FILES):
                found.append(Path(here))
                dirs[:] = []
            else:
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return sorted(set(found))


def _summary(path: Path) -> tuple[dict | None, str]:
    """(summary dict or None when absent, problem); {} with a note when unreadable."""
    raw = _text(path / "summary.json")
    if raw is None:
        return None, ""
    try:
        data = json.loads(raw)
    except ValueError as err:
        return {}, f"summary.json: {str(err)[:50]}"
    return (data, "") if isinstance(data, dict) else ({}, "summary.json is not an object")


def read_run(path: Path) -> RunInfo:
    """A RunInfo for ``path``; never raises (an unreadable run is 'corrupt' with a note)."""
    info = RunInfo(Path(path))
    config = _text(info.path / "config.gin")
    info.bindings = parse_bindings(config) if config else {}
    summary, problem = _summary(info.path)
    for kind in KINDS:
        value = (summary or {}).get(kind) or info.bindings.get(f"train.{kind}")
        if value:
            info.components[kind] = component_name(value)
    info.seed = (summary or {}).get("seed", info.bindings.get(SEED_KEY, 0))
    try:
        info.seed = int(info.seed)
    except (TypeError, ValueError):
        pass
    if problem:
        info.note = problem
        return info
    summary = summary or {}
    info.status = str(summary.get("status") or ("started" if not summary else "corrupt"))
    metrics = summary.get("final_metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    metrics = {**metrics, **{k: summary.get(k) for k in RUN_STATS}}  # speed from the summary
    info.metrics = {k: float(v) for k, v in metrics.items()
                    if isinstance(v, (int, float)) and math.isfinite(v)}
    if info.status == "finished" and not set(info.metrics) - set(RUN_STATS):
        info.status, info.note = "corrupt", "finished without final metrics"
    elif info.status in ("running", "interrupted", "started"):
        info.note = f"step {tail(info.path, 'loss').get('step') or 0}/{summary.get('steps', '?')}"
    elif info.status == "failed":
        info.note = str(summary.get("error") or "")[:80]
    return info


def _norm(value) -> str:
    return re.sub(r"\s+", "", component_name(value) if str(value).startswith("@") else str(value)).strip("'\"")


class Board:
    """Runs -> columns -> groups; the renderers (rich, markdown, csv, plots) read from here."""

    def __init__(self, runs: list[RunInfo], filters=(), group_by=None, metrics=None, sort=None):
        self.all = runs
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
        if sort:
            self._sort(sort)

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

    def rows(self, mark=lambda s: s) -> tuple[list[str], list[list[str]]]:
        """(header, rows) of text cells; ``mark`` wraps the best cell of each metric."""
        best = {m: self.best(m) for m in self.metrics}
        header = self.columns + ["status", "n"] + [f"{m} ({'lower' if METRIC_GOAL.get(m) == 'min' else 'higher'})"
                                                   if m in METRIC_GOAL else m for m in self.metrics]
        rows = []
        for i, g in enumerate(self.groups):
            cells = [str(g["key"][c]) if g["key"][c] is not None else "-" for c in self.columns]
            cells += [g["status"], str(g["n"])]
            for m in self.metrics:
                cell = _cell(g["stats"].get(m))
                cells.append(mark(cell) if best[m] == i else cell)
            rows.append(cells)
        return header, rows

    def write_csv(self, path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.columns + ["status", "n"] + [f"{m}_{s}" for m in self.metrics for s in ("mean", "std")])
            for g in self.groups:
                stats = [x for m in self.metrics for x in (g["stats"].get(m, (None, None))[:2])]
                w.writerow([g["key"][c] for c in self.columns] + [g["status"], g["n"]]
                           + ["" if x is None else f"{x:.6g}" for x in stats])

    def markdown(self, command: str, title: str = "Leaderboard") -> str:
        header, rows = self.rows(mark=lambda s: f"**{s}**")
        const = ", ".join(f"{k} = {v}" for k, v in self.constants.items())
        lines = [f"# {title}", "", "Regenerate with:", "", "```bash", command, "```", "",
                 f"{len(self.runs)} runs; metrics are mean +- std over the n finished runs of a row "
                 "(seeds); best per metric in bold." + (f" All runs: {const}." if const else ""), "",
                 "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(lines) + "\n"


def _status(runs: list[RunInfo]) -> str:
    if len(runs) == 1:
        r = runs[0]
        return r.status + (f" ({r.note})" if r.note and r.status != "finished" else "")
    order = ("finished", "running", "interrupted", "started", "failed", "corrupt")
    seen = sorted({r.status for r in runs}, key=lambda s: (order.index(s) if s in order else len(order), s))
    counts = {s: sum(r.status == s for r in runs) for s in seen}
    return "finished" if list(counts) == ["finished"] else ", ".join(f"{n} {s}" for s, n in counts.items())


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
    """A Board of every run folder under ``roots`` (kw: filters, group_by, metrics, sort)."""
    return Board([read_run(p) for p in find_runs(roots)], **kw)


def plot_metric(board: Board, metric: str, x: str, path) -> None:
    """``metric`` against the swept value ``x``: one line per group of the other columns,
    mean with error bars (std over the seeds' finished runs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    """The runs' samples.png side by side in one PNG (in table order); returns how many."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        ax.set_title(r.path.name, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return len(runs)
