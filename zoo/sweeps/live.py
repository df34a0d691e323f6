"""The sweep's live view: counts of pending / running / done / failed runs and, for each
running run, its step, loss and current metric (the tail of its metrics.jsonl).

On a terminal a rich ``Live`` table redraws in place; otherwise (CI, a log file, slurm
output) one plain line is printed per state change. When the sweep ends (not on an error or
Ctrl-C) the view prints the sweep folder's leaderboard (``zoo.sweeps.print_board``): the
folder holding the jobs' run folders, or ``folder`` when given.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

COLORS = {"pending": "dim", "running": "cyan", "done": "green", "skipped": "green",
          "failed": "red", "interrupted": "yellow", "conflict": "red", "busy": "yellow"}
GROUPS = {"pending": ("pending",), "running": ("running",), "done": ("done", "skipped"),
          "failed": ("failed", "conflict"), "other": ("interrupted", "busy")}
MAX_ROWS = 24


def tail(workdir, metric: str, nbytes: int = 32768) -> dict:
    """{step, loss, metric} from the last records of metrics.jsonl (garbage lines skipped)."""
    out: dict = {}
    try:
        with open(Path(workdir) / "metrics.jsonl", "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - nbytes))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return out
    for line in reversed(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        out.setdefault("step", rec.get("step"))
        if rec.get("kind") == "train":
            out.setdefault("loss", rec.get("loss"))
        if metric in rec:
            out.setdefault("metric", rec[metric])
        if {"loss", "metric"} <= set(out):
            break
    return out


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "-"


class SweepView:
    """``with SweepView(jobs, metric) as view: view.update(states, details)``."""

    def __init__(self, jobs, metric: str = "energy_distance", console: Console | None = None,
                 title: str = "sweep", folder=None):
        self.jobs = {j.name: j for j in jobs}
        parents = [os.path.dirname(os.path.abspath(j.workdir)) for j in jobs]
        self.folder = folder or (os.path.commonpath(parents) if parents else None)
        self.metric, self.title = metric, title
        self.console = console or Console(stderr=True)
        self.states: dict[str, str] = {}
        self.details: dict[str, str] = {}
        self._live = Live(console=self.console, refresh_per_second=2, transient=False) \
            if self.console.is_terminal else None

    def __enter__(self):
        if self._live:
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live:
            self._live.update(self._table())
            self._live.__exit__(*exc)
        if exc[0] is None and self.folder:
            from zoo.sweeps.print_board import print_board  # the board reads live.tail

            print_board(self.folder, console=self.console)

    def counts(self) -> dict[str, int]:
        return {g: sum(s in members for s in self.states.values()) for g, members in GROUPS.items()}

    def update(self, states: dict[str, str], details: dict[str, str] | None = None) -> None:
        changed = {n: s for n, s in states.items() if self.states.get(n) != s}
        self.states.update(states)
        self.details.update(details or {})
        if self._live:
            self._live.update(self._table())
            return
        for name, state in changed.items():
            if state != "pending":  # the start of a sweep is not news; what happens to it is
                self._log(name, state)

    def _log(self, name: str, state: str) -> None:
        extra = ""
        if state in ("done", "interrupted"):
            t = tail(self.jobs[name].workdir, self.metric)
            extra = f" step {t.get('step')} {self.metric} {_fmt(t.get('metric'))}"
        elif self.details.get(name):
            extra = f" ({self.details[name]})"
        c = self.counts()
        self.console.print(f"{time.strftime('%H:%M:%S')} [{c['done']}/{len(self.jobs)} done, "
                           f"{c['failed']} failed] {state:>11} {escape(name)}{escape(extra)}",
                           highlight=False, soft_wrap=True)

    def _table(self) -> Table:
        c = self.counts()
        table = Table(title=f"{self.title}: {c['pending']} pending, {c['running']} running, "
                            f"{c['done']} done, {c['failed']} failed"
                            + (f", {c['other']} interrupted/busy" if c["other"] else ""),
                      title_justify="left")
        for col, just in (("run", "left"), ("state", "left"), ("step", "right"),
                          ("loss", "right"), (self.metric, "right")):
            table.add_column(col, justify=just)
        shown = [n for n, s in self.states.items() if s == "running"]
        shown += [n for n, s in self.states.items() if s in ("failed", "conflict", "busy")]
        for name in shown[:MAX_ROWS]:
            state = self.states[name]
            t = tail(self.jobs[name].workdir, self.metric) if state == "running" else {}
            label = state if state == "running" else f"{state}: {self.details.get(name, '')[:60]}"
            table.add_row(escape(name), f"[{COLORS.get(state, '')}]{escape(label)}[/]",
                          str(t.get("step", "-")), _fmt(t.get("loss")), _fmt(t.get("metric")))
        if len(shown) > MAX_ROWS:
            table.add_row(f"... {len(shown) - MAX_ROWS} more", "", "", "", "")
        return table
